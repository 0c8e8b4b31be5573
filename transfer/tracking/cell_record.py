"""A finished cell as the store keeps it, in plain values (``CellRecord``): what the driver sends
its writer process, which needs no study's classes (nor the driver MLflow) to write it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..contracts.executors import Outcome
from ..contracts.results import NotApplicable, encode


def metric_key(name: str) -> str:
    """``name`` with the characters MLflow refuses in a metric name (``+`` of ``1e+20``, say)
    replaced by ``_``."""
    return re.sub(r"[^/\w.\- :]", "_", name)



@dataclass(frozen=True)
class CellRecord:
    """What the store keeps of a finished cell, in plain values (so that a writer process needs
    no study's classes): its key, label and parameters, its times, the reason of an n/a cell,
    its metrics ``(name, value, step)``, its encoded result (None: it failed) and its error."""

    key: str
    label: str
    params: list[tuple[str, str]]
    started_ms: int
    finished_ms: int
    reason: str | None
    metrics: list[tuple[str, float, int]]
    result: dict[str, Any] | None
    error: str


def cell_record(outcome: Outcome, result_format: int) -> CellRecord:
    """The record of ``outcome``; its result encoded in ``result_format``."""
    result = outcome.result
    metrics: list[tuple[str, float, int]] = []
    if result is not None and not isinstance(result, NotApplicable):
        # NaN (an undefined rate, say) is logged as NaN: a missing metric would look lost.
        metrics = [(metric_key(k), float(v), 0) for k, v in result.metrics().items()]
        metrics += [(metric_key(name), float(value), int(step))
                    for name, points in result.series().items() for step, value in points]
    cell = outcome.cell
    return CellRecord(
        cell.key, cell.label, [(k, str(v)) for k, v in cell.params], outcome.started_ms,
        outcome.finished_ms, result.reason if isinstance(result, NotApplicable) else None,
        metrics, None if result is None else encode(result, result_format), outcome.error or "")
