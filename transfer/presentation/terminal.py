"""A study in the terminal: its progress bar and its summary tables (rich).

Tables never truncate a number or a name: a table wider than the terminal is split into several
that repeat its key columns. On a terminal they have a light frame and colours; in a pipe or a CI
log they are plain text, 100 columns wide."""

from __future__ import annotations

from typing import Any

from ..contracts.summary import Table

PLAIN_WIDTH = 100
SHORT = 24  # cells up to this long (numbers, rates with intervals, labels) never wrap


def make_console(stderr: bool = False) -> Any:
    """A rich console: the terminal's width on a terminal, else 100 plain columns."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=PLAIN_WIDTH, no_color=True, highlight=False)


def _layout(table: Table, name: str) -> tuple[int, bool, bool]:
    """(narrowest width, numeric, never wrapped) of one column: a column of numbers or short
    cells is as wide as its longest cell; a column of long text wraps at its longest word."""
    texts = [str(v) for v in table.columns[name]]
    words = max((len(w) for v in [*texts, name] for w in v.split()), default=1)
    numeric = all(_is_number(v) for v in texts)
    short = max((len(v) for v in texts), default=0) <= SHORT
    whole = numeric or short  # the header is not wrapped either
    widest = max((len(v) for v in [*texts, name]), default=0)
    return (widest if whole else words), numeric, whole


def _wrap_widths(table: Table, names: list[str], room: int) -> dict[str, int]:
    """The widths of the wrapping columns when they share ``room`` characters: each gets its
    narrowest width, and what is left goes to them in proportion to what more they would take
    (rich, left alone, gives some columns more and then crops the last one at the edge)."""
    layouts = {name: _layout(table, name) for name in names}
    wrapping = [name for name in names if not layouts[name][2]]
    room -= sum(layouts[name][0] for name in names if layouts[name][2])
    widest = {name: max(len(str(v)) for v in [*table.columns[name], name]) for name in wrapping}
    if sum(widest.values()) <= room:
        return widest
    least = {name: layouts[name][0] for name in wrapping}
    more = {name: widest[name] - least[name] for name in wrapping}
    left = max(room - sum(least.values()), 0)
    return {name: least[name] + left * more[name] // max(sum(more.values()), 1)
            for name in wrapping}


def _rich(table: Table, names: list[str], framed: bool, width: int) -> Any:
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    shown = RichTable(box=box.SIMPLE_HEAD if framed else None, collapse_padding=True,
                      pad_edge=False, show_edge=False)
    gap = 2 if framed else 1
    wraps = _wrap_widths(table, names, width - gap * (len(names) - 1))
    for name in names:
        narrowest, numeric, whole = _layout(table, name)
        shown.add_column(Text(name), overflow="fold", min_width=narrowest, no_wrap=whole,
                         max_width=None if whole else wraps[name],
                         justify="right" if numeric else "left")
    for row in zip(*([Text(str(v)) for v in table.columns[n]] for n in names), strict=True):
        shown.add_row(*row)  # Text: "[...]" in a value is text, not rich markup
    return shown


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("%*†"))
    except ValueError:
        return text in ("–", "")
    return True


def rich_tables(table: Table, width: int, framed: bool = True) -> list[tuple[str, Any]]:
    """``table`` as one or more (title, rich table), each at most ``width`` columns wide."""
    names = list(table.columns)
    keys, rest = names[: table.keys], names[table.keys :]
    gap = 2 if framed else 1  # the space between two columns
    narrowest = {name: _layout(table, name)[0] for name in names}

    def fits(chosen: list[str]) -> bool:
        widths = [narrowest[name] for name in keys + chosen]
        return sum(widths) + gap * (len(widths) - 1) <= width

    chunks: list[list[str]] = []
    for name in rest:
        if chunks and fits(chunks[-1] + [name]):
            chunks[-1].append(name)
        else:
            chunks.append([name])
    if not chunks:
        chunks = [[]]
    parts = []
    for i, chunk in enumerate(chunks):
        title = table.title if len(chunks) == 1 else f"{table.title} ({i + 1}/{len(chunks)})"
        parts.append((title, _rich(table, keys + chunk, framed, width)))
    return parts


def print_summary(out: Any, tables: list[Table], notes: list[str]) -> None:
    """Every terminal table (split to fit ``out``'s width), then the notes."""
    from rich.text import Text

    for table in tables:
        for title, part in rich_tables(table, out.width, framed=out.is_terminal):
            if title:  # above the table, so that it wraps at the terminal's width, not the table's
                out.print(Text(title, style="bold"), highlight=False)
            out.print(part)
            out.print()
    for note in notes:
        out.print(Text(note), highlight=False)


class ProgressBar:
    """The runner's ``Progress`` as a rich progress bar (cells done, time left, the last cell),
    with a second line for the model being trained (epoch and loss)."""

    def __init__(self, console: Any) -> None:
        from rich import progress as rich

        self.progress = rich.Progress(
            rich.TextColumn("{task.description}"), rich.BarColumn(), rich.MofNCompleteColumn(),
            rich.TimeElapsedColumn(), rich.TimeRemainingColumn(),
            rich.TextColumn("[dim]{task.fields[cell]}"), console=console,
        )
        self.task: Any = None
        self.training: Any = None

    def start(self, total: int, resumed: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("cells", total=total, completed=resumed, cell="")

    def train(self, model: str, epoch: int, epochs: int, loss: float) -> None:
        """Called while a model trains (``epoch`` 0: training starts; ``epochs`` 0: not
        iterative, e.g. a scikit-learn estimator)."""
        description = f"training {model}"
        detail = f"loss {loss:.4f}" if loss == loss else ""
        if self.training is None:
            self.training = self.progress.add_task(description, total=epochs or None, cell="")
        self.progress.update(self.training, description=description, total=epochs or None,
                             completed=epoch, cell=detail)
        if epochs and epoch >= epochs or not epochs and epoch:
            self.progress.remove_task(self.training)
            self.training = None

    def advance(self, outcome: Any) -> None:
        from ..contracts.results import NotApplicable

        status = ("failed" if outcome.result is None
                  else "n/a" if isinstance(outcome.result, NotApplicable) else "ok")
        self.progress.update(self.task, advance=1, cell=f"{outcome.cell.label} ({status})")

    def stop(self) -> None:
        if self.training is not None:
            self.progress.remove_task(self.training)
            self.training = None
        self.progress.stop()
