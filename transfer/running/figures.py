"""A study's figures in MLflow. Those a study can draw from some of its cells
(``Study.early_figures``) are drawn as soon as those cells are in and logged by the writer
process while the next cells compute (``EarlyFigures``), so a study's end waits for fewer; the
rest come with the summary, half drawn by the writer while this process draws the others
(``log_summary``)."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Collection, Mapping
from functools import partial
from typing import Any

from ..contracts.cell import Cell
from ..contracts.results import CellResult, NotApplicable
from ..contracts.study import Study
from ..contracts.summary import Summary
from ..tracking.remote_tracker import RemoteTracker, log_png
from ..tracking.write_queue import WriteQueue
from ..tracking.writer import log_figure


def logging_of(tracker: RemoteTracker, parent: str, name: str, figure: Any, *, here: bool
               ) -> Callable[[], None]:
    """The write that logs ``figure`` as ``figures/NAME.png`` of ``parent``: drawn by the writer
    process from the pickled figure or, ``here`` (and for a figure that does not pickle, a
    lambda in a formatter, say), drawn now by this process to PNG bytes the writer logs."""
    path = f"figures/{name}.png"
    if not here:
        try:
            pickled = pickle.dumps(figure)
        except Exception:  # noqa: BLE001 - whatever pickle raises, this process draws it
            pass
        else:
            return partial(tracker.writer.call, log_figure, tracker.uri, parent, pickled, path)
    png = io.BytesIO()
    figure.savefig(png, format="png")  # as MLflow's ``log_figure`` does
    return partial(tracker.writer.call, log_png, tracker.uri, parent, png.getvalue(), path)


class EarlyFigures:
    """The study's early figures that wait for cells still to compute: each drawn once its last
    cell has a result and logged by the writer meanwhile. A figure one of whose cells failed,
    or whose drawing raises, is left to the summary (which reports what went wrong)."""

    def __init__(self, study: Study[Any, Any], config: Any, todo: list[Cell],
                 tracker: RemoteTracker, parent: str, queue: WriteQueue[str]) -> None:
        self.study, self.config, self.tracker, self.parent = study, config, tracker, parent
        computing = set(todo)
        self.cells = {name: cells for name, cells in study.early_figures(config).items()
                      if computing.intersection(cells)}
        self.waiting = {name: computing.intersection(cells) for name, cells in self.cells.items()}
        self.queue = queue

    def order(self, todo: list[Cell]) -> list[Cell]:
        """``todo`` with the cells of each early figure together, figure by figure (the rest
        last), so that each is drawn as early as it can be; otherwise in plan order."""
        rank = {cell: k for k, cells in enumerate(self.cells.values()) for cell in cells}
        return sorted(todo, key=lambda cell: rank.get(cell, len(self.cells)))

    def finished(self, cell: Cell, results: Mapping[Cell, CellResult | NotApplicable]) -> None:
        """``cell`` is done (``results`` has it unless it failed): draw what it completes."""
        for name, waiting in list(self.waiting.items()):
            waiting.discard(cell)
            if waiting:
                continue
            del self.waiting[name]
            if not all(c in results for c in self.cells[name]):
                continue
            try:
                figure = self.study.figure(self.config, name, results)
            except Exception:  # noqa: BLE001 - the summary draws it again and reports the error
                continue
            self.queue.put(logging_of(self.tracker, self.parent, name, figure, here=False), name)

    def logged(self) -> set[str]:
        """The names of the figures logged (after waiting for those queued)."""
        return set(self.queue.written(wait=True))


def log_summary(tracker: RemoteTracker, parent: str, summary: Summary,
                logged: Collection[str] = ()) -> None:
    """The summary in MLflow: its tables and the figures not ``logged`` already, half of them
    drawn by the writer process while this one draws the rest."""
    figures = [name for name in summary.figures if name not in logged]
    drawing: WriteQueue[str] = WriteQueue()
    try:  # the writer's half queued first, so that both processes draw at once
        for index, name in enumerate(figures):
            drawing.put(logging_of(tracker, parent, name, summary.figures[name],
                                   here=index >= len(figures) // 2), name)
        tables = Summary(tables=summary.tables, metrics=summary.metrics,
                         key_figure=summary.key_figure)
        drawing.put(partial(tracker.log_summary, parent, tables, list(summary.figures)), "tables")
        list(drawing.written(wait=True))
    finally:
        drawing.close()
