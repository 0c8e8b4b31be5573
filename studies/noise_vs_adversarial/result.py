"""The noise-vs-adversarial study's typed cell result: what its claims, report and headlines
read."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from transfer import CellResult


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Curves(_Part):
    """Logits and error along the adversarial and random sign directions (a few points kept for
    the figure), with the straight-line fits' R² and mean |slope|."""

    eps: list[float]
    clean_error: float
    error_adversarial: list[float]
    error_random: list[float]
    logits_adversarial: list[list[list[float]]]
    logits_random: list[list[list[float]]]
    labels: list[int]
    points: int  # test points behind the R² and the error curves
    r2_adversarial: float
    r2_adversarial_points: list[float] = []  # per point, its classes' mean R² (the mean's units)
    r2_random: float
    slope_adversarial: float
    slope_random: float

    def metrics(self) -> dict[str, float]:
        return {"r2_adversarial": self.r2_adversarial, "r2_random": self.r2_random,
                "slope_adversarial": self.slope_adversarial, "slope_random": self.slope_random,
                "slope_ratio": (self.slope_adversarial / self.slope_random if self.slope_random
                                else math.nan),
                "clean_error": self.clean_error,
                "error_adversarial_at_eps_max": self.error_adversarial[-1],
                "error_random_at_eps_max": self.error_random[-1]}


class RatioRow(_Part):
    """‖r_S‖/‖r*‖ in random subspaces of dimension m (m = 1: a random direction)."""

    m: int
    median: float
    mean: float
    predicted: float
    linear_median: float
    no_flip_share: float
    ratios: list[float]


class MinimalNorm(_Part):
    d: int
    points: int
    deepfool_l2_mean: float
    rows: list[RatioRow]

    def metrics(self) -> dict[str, float]:
        metrics = {"points": float(self.points), "dimension": float(self.d),
                   "deepfool_l2_mean": self.deepfool_l2_mean}
        for row in self.rows:
            metrics.update({f"ratio_median.m{row.m}": row.median,
                            f"ratio_mean.m{row.m}": row.mean,
                            f"ratio_predicted.m{row.m}": row.predicted,
                            f"ratio_linear_median.m{row.m}": row.linear_median,
                            f"no_flip_share.m{row.m}": row.no_flip_share})
        return metrics


class Sweep(_Part):
    dimension: float
    clean_error: float
    attack_error: float
    first_layer_l1: float
    eps_times_l1: float
    ratio_median: float
    deepfool_l2_mean: float

    def metrics(self) -> dict[str, float]:
        return self.model_dump()


class NoiseVsAdversarialResult(CellResult):
    """One part of the study for one model: exactly one of the three fields is set."""

    curves: Curves | None = None
    minimal_norm: MinimalNorm | None = None
    sweep: Sweep | None = None

    def metrics(self) -> dict[str, float]:
        part = self.curves or self.minimal_norm or self.sweep
        return part.metrics() if part is not None else {}

    def series(self) -> dict[str, list[tuple[float, float]]]:
        if self.curves is None:
            return {}
        steps = range(len(self.curves.eps))
        return {"error_adversarial": [(i, self.curves.error_adversarial[i]) for i in steps],
                "error_random": [(i, self.curves.error_random[i]) for i in steps]}
