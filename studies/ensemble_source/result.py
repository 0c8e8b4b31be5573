"""The ensemble-source study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

import math
from typing import Literal

from transfer import CellResult, Rate


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


class EnsembleResult(CellResult):
    """A leave-one-out cell (the ensemble and each member alone against one target) or a
    white-box cell (the ensemble of all sources evaluated on each member)."""

    kind: Literal["leave-one-out", "whitebox"]
    members: list[str]
    left_out: dict[str, str]
    whitebox: dict[str, Rate] = {}
    ensemble: Rate | None = None
    singles: dict[str, Rate] = {}
    ensemble_matching: Rate | None = None
    singles_matching: dict[str, Rate] = {}
    # per evaluation point (``point_outcomes``): whether the target took the attack's class
    ensemble_matching_points: str = ""
    singles_matching_points: dict[str, str] = {}

    def metrics(self) -> dict[str, float]:
        metrics: dict[str, float] = {"members": len(self.members)}
        metrics.update({f"whitebox_rate.{m}": r.rate for m, r in self.whitebox.items()})
        if self.ensemble is None:
            return metrics
        single_rates = [r.rate for r in self.singles.values() if r.n]
        best, mean = max(single_rates, default=math.nan), _mean(single_rates)
        metrics.update(self.ensemble.metrics("ensemble_transfer",
                                             rate_name="ensemble_transfer_rate"))
        metrics.update(best_single_rate=best, mean_single_rate=mean,
                       ensemble_minus_best=self.ensemble.rate - best,
                       ensemble_minus_mean=self.ensemble.rate - mean)
        metrics.update({f"single_rate.{m}": r.rate for m, r in self.singles.items()})
        if self.ensemble_matching is not None:
            match_rates = [r.rate for r in self.singles_matching.values() if r.n]
            metrics.update(ensemble_matching_rate=self.ensemble_matching.rate,
                           best_single_matching_rate=max(match_rates, default=math.nan),
                           mean_single_matching_rate=_mean(match_rates))
        return metrics
