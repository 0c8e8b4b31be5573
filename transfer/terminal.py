"""A study in the terminal: its progress bar and summary tables (rich)."""

from __future__ import annotations

from typing import Any


def rich_table(table: Any) -> Any:
    """A summary ``Table`` as a rich table."""
    from rich.table import Table

    shown = Table(*table.columns, title=table.title)
    for row in zip(*table.columns.values(), strict=True):
        shown.add_row(*(str(v) for v in row))
    return shown


class ProgressBar:
    """The runner's ``Progress`` as a rich progress bar (cells done, time left, the last cell)."""

    def __init__(self, console: Any) -> None:
        from rich import progress as rich

        self.progress = rich.Progress(
            rich.TextColumn("{task.description}"), rich.BarColumn(), rich.MofNCompleteColumn(),
            rich.TimeElapsedColumn(), rich.TimeRemainingColumn(),
            rich.TextColumn("[dim]{task.fields[cell]}"), console=console,
        )
        self.task: Any = None

    def start(self, total: int, resumed: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("cells", total=total, completed=resumed, cell="")

    def advance(self, outcome: Any) -> None:
        from .results import NotApplicable

        status = ("failed" if outcome.result is None
                  else "n/a" if isinstance(outcome.result, NotApplicable) else "ok")
        self.progress.update(self.task, advance=1, cell=f"{outcome.cell.label} ({status})")

    def stop(self) -> None:
        self.progress.stop()
