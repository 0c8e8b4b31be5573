"""Typed cell results: what a study's ``run`` returns, and how it is stored and read back.

Each study declares its own :class:`CellResult` subclass (a pydantic model) with typed fields, and
says which metrics MLflow shows (``metrics()``, ``series()``). A pairing that cannot run returns
:class:`NotApplicable` with the reason. Stored results carry the study's ``result_format``; a
stored result of another format is converted by the study or reported as unreadable (the cell is
then computed again), never half-read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..mathematics.intervals import t_interval, wilson_interval

if TYPE_CHECKING:  # torch is imported where a result is measured, not where one is read back
    import torch


class CellResult(BaseModel):
    """Base of every study's cell result: typed fields, and the metrics to log in MLflow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def metrics(self) -> dict[str, float]:
        """Flat metrics for the cell's MLflow run (NaN means undefined)."""
        return {}

    def series(self) -> dict[str, list[tuple[float, float]]]:
        """Metrics along a step (e.g. k, the eps index): ``{name: [(step, value), ...]}``."""
        return {}


class NotApplicable(BaseModel):
    """A cell that cannot run (e.g. a gradient attack on a decision tree), and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str


class ResultFormatError(ValueError):
    """A stored cell result this version cannot read."""


class Rate(BaseModel):
    """A share of trials with its count, number of trials and 95% Wilson interval (NaN rate
    when there are no trials)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float
    count: int
    n: int
    ci_low: float
    ci_high: float

    @classmethod
    def of(cls, successes: torch.Tensor, among: torch.Tensor) -> Rate:
        """The share of ``among`` (a boolean mask) where ``successes`` holds."""
        k, n = int(successes[among].sum()), int(among.sum())
        low, high = wilson_interval(k, n)
        return cls(rate=k / n if n else math.nan, count=k, n=n, ci_low=low, ci_high=high)

    @classmethod
    def pooled(cls, rates: list[Rate]) -> Rate:
        """All trials of ``rates`` together: summed counts and trials, a new Wilson interval."""
        k, n = sum(r.count for r in rates), sum(r.n for r in rates)
        low, high = wilson_interval(k, n)
        return cls(rate=k / n if n else math.nan, count=k, n=n, ci_low=low, ci_high=high)

    def percent(self) -> str:
        """``53.3% [41.2, 64.9]``: the rate and its 95% interval, in percent."""
        return f"{100 * self.rate:.1f}% [{100 * self.ci_low:.1f}, {100 * self.ci_high:.1f}]"

    def above(self, other: Rate) -> bool:
        """This rate's 95% interval lies entirely above ``other``'s (disjoint)."""
        return self.ci_low > other.ci_high

    def metrics(self, stem: str, suffix: str = "", rate_name: str | None = None,
                counts: bool = True) -> dict[str, float]:
        """``{rate_name or stem}{suffix}`` and ``{stem}_ci_low{suffix}`` and ci_high (and, with
        ``counts``, ``_count`` and ``_n``: a study with many rates per cell leaves those to its
        result file, where its tables read them)."""
        metrics = {f"{rate_name or stem}{suffix}": self.rate,
                   f"{stem}_ci_low{suffix}": self.ci_low, f"{stem}_ci_high{suffix}": self.ci_high}
        if counts:
            metrics.update({f"{stem}_count{suffix}": self.count, f"{stem}_n{suffix}": self.n})
        return metrics


class Mean(BaseModel):
    """The mean of per-point values with their count, standard deviation and 95% Student-t
    interval (NaN mean when there are no values; no interval from a single value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: float
    n: int
    sd: float
    ci_low: float
    ci_high: float

    @classmethod
    def of(cls, values: torch.Tensor | Sequence[float]) -> Mean:
        """The mean of ``values`` (every value counts: filter non-finite ones beforehand)."""
        import torch

        data = torch.as_tensor(values, dtype=torch.float64).flatten()
        n = len(data)
        if n == 0:
            return cls(mean=math.nan, n=0, sd=math.nan, ci_low=math.nan, ci_high=math.nan)
        mean = data.mean().item()
        if n == 1:
            return cls(mean=mean, n=1, sd=math.nan, ci_low=math.nan, ci_high=math.nan)
        sd = data.std(correction=1).item()
        low, high = t_interval(mean, sd, n)
        return cls(mean=mean, n=n, sd=sd, ci_low=low, ci_high=high)

    def text(self, digits: int = 3) -> str:
        """``0.412 [0.371, 0.453]``: the mean and its 95% interval."""
        return f"{self.mean:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"

    def above(self, other: Mean | float) -> bool:
        """This mean's 95% interval lies entirely above ``other``'s (or above a number)."""
        return self.ci_low > (other.ci_high if isinstance(other, Mean) else other)

    def p_above(self, value: float) -> float:
        """The one-sided p-value of a one-sample Student-t test that the population mean
        exceeds ``value`` (NaN with fewer than two values; 0 or 1 when every value is equal)."""
        if self.n < 2 or math.isnan(self.sd):
            return math.nan
        if self.sd == 0:
            return 0.0 if self.mean > value else 1.0
        from scipy.stats import t

        return float(t.sf((self.mean - value) / (self.sd / math.sqrt(self.n)), self.n - 1))

    def metrics(self, stem: str) -> dict[str, float]:
        """``stem`` (the mean), ``stem_ci_low``, ``stem_ci_high`` and ``stem_n``."""
        return {stem: self.mean, f"{stem}_ci_low": self.ci_low, f"{stem}_ci_high": self.ci_high,
                f"{stem}_n": self.n}


def point_outcomes(successes: torch.Tensor, among: torch.Tensor) -> str:
    """A rate's trials point by point, in the order of the points: ``1`` a counted point where
    ``successes`` holds, ``0`` a counted point where it does not, ``-`` a point not counted (not
    in ``among``). Stored next to a ``Rate``, it lets rates measured on the same points be
    pooled with the point as the unit (``pooled_by_point``) or compared point by point."""
    import torch

    codes = torch.where(among, torch.where(successes, 1, 0), 2).tolist()
    return "".join("01-"[code] for code in codes)


def pooled_by_point(outcomes: Sequence[str]) -> tuple[list[int], list[int]]:
    """Per point, the successes and trials of several ``point_outcomes`` strings of the same
    points: the input of ``clustered_rate``."""
    import numpy as np

    if not outcomes:
        return [], []
    if len({len(o) for o in outcomes}) != 1:
        raise ValueError("outcomes pooled by point must cover the same points")
    codes = np.frombuffer("".join(outcomes).encode("ascii"), dtype=np.uint8).reshape(
        len(outcomes), -1)
    return (codes == ord("1")).sum(axis=0).tolist(), (codes != ord("-")).sum(axis=0).tolist()


NOT_APPLICABLE = "n/a"


def status_of(result: CellResult | NotApplicable | None) -> str:
    """``ok``, ``n/a`` or ``missing`` (a cell that did not finish), as the summary tables say."""
    if result is None:
        return "missing"
    return NOT_APPLICABLE if isinstance(result, NotApplicable) else "ok"


def encode(result: CellResult | NotApplicable, result_format: int) -> dict[str, Any]:
    """The stored form of a result: its format, its status and its fields."""
    status = NOT_APPLICABLE if isinstance(result, NotApplicable) else "ok"
    return {"format": result_format, "status": status, "result": result.model_dump()}
