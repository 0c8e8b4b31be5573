"""Executors run a study's cells. ``local`` (in this process, one after another) is built in;
others, such as ``ray``, come from plugins and register under ``register_executors``."""

from __future__ import annotations

import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..plugging.hookspecs import hookimpl
from .cell import Cell
from .results import CellResult, NotApplicable


@dataclass
class Outcome:
    """A finished cell: its result, or the traceback of the exception it raised."""

    cell: Cell
    result: CellResult | NotApplicable | None
    error: str | None = None
    models: list[dict[str, Any]] = field(default_factory=list)
    started_ms: int = 0
    finished_ms: int = 0
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # trained model -> files


def now_ms() -> int:
    return int(time.time() * 1000)


def failed_outcome(cell: Cell, started_ms: int) -> Outcome:
    """The outcome of a cell whose run raised (call inside the ``except`` block)."""
    return Outcome(cell, None, traceback.format_exc(), [], started_ms, now_ms())


class Executor(ABC):
    """Runs ``task(cell) -> Outcome`` for every cell and yields outcomes as they finish.

    An executor that runs tasks in parallel sets ``parallel``: the runner then first trains the
    models the study declares (``Study.trained_models``), each once, as tasks of their own."""

    parallel: bool = False

    @abstractmethod
    def run(self, task: Callable[[Cell], Outcome], cells: list[Cell]) -> Iterator[Outcome]: ...

    def start(self) -> None:
        """Start the workers without waiting for them; the runner calls it before it opens the
        store, so that they start up meanwhile. The default has none to start."""
        return None

    def close(self) -> None:
        """Release workers; the default has none."""
        return None


class LocalExecutor(Executor):
    """Runs the cells one after another in this process."""

    def run(self, task: Callable[[Cell], Outcome], cells: list[Cell]) -> Iterator[Outcome]:
        for cell in cells:
            yield task(cell)


@hookimpl
def register_executors(register: Any) -> None:
    register("local", LocalExecutor)
