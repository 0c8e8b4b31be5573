"""Headlines: a paper's headline number, measured here the paper's way and shown next to the
paper's own value, so a reader compares like with like.

A study declares ``headlines``: each has an id, the quantity as the paper defines it, the paper,
the paper's value with its setup (empty when it is not quoted), and ``measure(config, results)
-> Measured``. Each is logged as the metric ``headline.<id>`` with a ``headlines`` table, and
listed in the terminal summary and in ``transfer report``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .cell import Cell
from .claims import guarded
from .summary import Summary, Table


@dataclass(frozen=True)
class Measured:
    """Our value (NaN when this run cannot measure it) and what it is, in one line."""

    value: float
    text: str


@dataclass(frozen=True)
class Headline:
    """A paper's headline number and how this study measures it the paper's way."""

    id: str
    quantity: str
    paper: str
    paper_value: str
    measure: Callable[[Any, Mapping[Cell, Any]], Measured]


def measure(headlines: tuple[Headline, ...], config: Any, results: Mapping[Cell, Any]
            ) -> list[tuple[Headline, Measured]]:
    """Every headline measured; one whose measurement raises is NaN and says why."""
    return guarded(headlines, lambda headline: headline.measure(config, results),
                   lambda why: Measured(math.nan, f"the measurement failed: {why}"))


def add_to_summary(summary: Summary, measured: list[tuple[Headline, Measured]]) -> None:
    """Metrics ``headline.<id>``, the ``headlines`` table and a terminal table."""
    if not measured:
        return
    for headline, found in measured:
        summary.metrics[f"headline.{headline.id}"] = found.value
    summary.tables["headlines"] = Table({
        "id": [h.id for h, _ in measured], "quantity": [h.quantity for h, _ in measured],
        "paper": [h.paper for h, _ in measured],
        "paper_value": [h.paper_value for h, _ in measured],
        "value": [m.value for _, m in measured], "ours": [m.text for _, m in measured],
    }, "the papers' headline numbers, measured their way")
    summary.terminal.append(Table({
        "headline": [f"{h.quantity} [{h.id}]" for h, _ in measured],
        "paper": [f"{h.paper}: {h.paper_value or 'no number quoted'}" for h, _ in measured],
        "here": [m.text for _, m in measured],
    }, "the papers' headline numbers, measured their way", keys=1))
