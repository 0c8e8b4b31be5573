"""Constructed cells of the concentration study, for its three claims.

One config: a spheres sweep (d = 8, 32), a Gaussian sweep (d = 4, 16, 64) and two digits models
at three budgets, with the cells its ``plan`` makes. ``synthetic`` builds one (dataset, d) cell
from the measured / bound ratio the model is given (the bound is the real isoperimetric bound of
``bounds`` for its error rate), ``real`` one (model, eps) cell from held-out counts; ``results``
puts them together from a few overrides, so the three cases of a claim differ in one cell.
"""

from __future__ import annotations

import math
from typing import Any

from transfer import Cell, Mean, Rate, wilson_interval
from transfer.studies.concentration.bounds import mean_distance_bound
from transfer.studies.concentration.config import NAME, ConcentrationConfig
from transfer.studies.concentration.real import RealPart
from transfer.studies.concentration.result import ConcentrationResult
from transfer.studies.concentration.synthetic import SyntheticPart

from . import Case

STUDY = "concentration"
N_FRESH, N_POINTS, N_TEST = 10_000, 300, 450  # fresh samples, measured points, digits test split
ERRORS = 500  # μ = 5% of the fresh samples, in every synthetic cell
SPREAD = 0.5  # per-point distances vary by ±50% around their mean

CONFIG: dict[str, Any] = {
    "study": NAME,
    "n_fresh": N_FRESH,
    "n_points": N_POINTS,
    "synthetic": [
        {"dataset": {"name": "spheres", "params": {"inner": 1.0, "outer": 1.3}}, "dims": [8, 32],
         "samples_per_dim": 20},
        {"dataset": {"name": "gaussian", "params": {"separation": 3.0}}, "dims": [4, 16, 64],
         "samples_per_dim": 4},
    ],
    "models": [{"name": "mlp"}, {"name": "mlp", "label": "mlp-at",
                                 "params": {"adversarial": {"method": "fgsm-rs", "eps": 0.5}}}],
    "eps": [0.25, 0.5, 1.0],
}

Ratios = dict[tuple[str, int], float]  # (synthetic dataset, d) -> measured / bound
Counts = dict[tuple[str, float], tuple[int, int, int]]  # (model, eps) -> held-out counts

# the model's measured / bound ratio per (synthetic dataset, d): near 1, as Gilmer et al. found
RATIOS: Ratios = {("spheres", 8): 1.1, ("spheres", 32): 1.2, ("gaussian", 4): 0.9,
                  ("gaussian", 16): 1.0, ("gaussian", 64): 1.1}

# (alpha, adversarial risk, concentration) counts among the N_TEST held-out digits per (model,
# eps): the risk well above the union-of-balls estimate, as Mahloujifar et al. found
COUNTS: Counts = {
    ("mlp", 0.25): (14, 60, 18), ("mlp", 0.5): (14, 130, 30), ("mlp", 1.0): (14, 290, 60),
    ("mlp-at", 0.25): (20, 45, 22), ("mlp-at", 0.5): (20, 80, 35), ("mlp-at", 1.0): (20, 170, 70),
}


def rate(count: int, n: int) -> Rate:
    low, high = wilson_interval(count, n)
    return Rate(rate=count / n, count=count, n=n, ci_low=low, ci_high=high)


def synthetic(kind: str, d: int, ratio: float, points: int = N_POINTS) -> ConcentrationResult:
    """A (dataset, d) cell at μ = ``ERRORS`` / ``N_FRESH`` whose per-point distances to the
    nearest error average ``ratio`` × the bound for μ, over ``points`` measured points."""
    scale = 1.0 if kind == "spheres" else math.sqrt(d)  # class 0 of the spheres: radius 1
    error = rate(ERRORS, N_FRESH)
    bound = mean_distance_bound(kind, error.rate, d, scale)
    values = [ratio * bound * (1 + SPREAD * (-1) ** i * (i % 7) / 6) for i in range(points)]
    found = rate(points - points // 20, points)
    return ConcentrationResult(synthetic=SyntheticPart(
        kind=kind, d=d, scale=scale, error=error, distance=Mean.of(values), bound=bound,
        bound_low=mean_distance_bound(kind, error.ci_high, d, scale),
        bound_high=mean_distance_bound(kind, error.ci_low, d, scale),
        found=found, fallback=rate(points // 20, points),
        means="" if kind == "spheres" else "regenerated", test_error=error.rate,
        vjps=points * 2 * 12, vjps_minimum=points * 2, queries=N_FRESH + points * 62))


def real(alpha: int, risk: int, concentration: int, *, coverage: int | None = None
         ) -> ConcentrationResult:
    """A (model, eps) cell from its held-out counts; the union of balls covers α (or
    ``coverage``) of the held-out points."""
    return ConcentrationResult(real=RealPart(
        norm="l2", alpha=rate(alpha, N_TEST), risk=rate(risk, N_TEST),
        concentration=rate(concentration, N_TEST),
        coverage=rate(alpha if coverage is None else coverage, N_TEST), train_points=1010,
        overcover=0.5, calibration_coverage=alpha / N_TEST, train_coverage=1.5 * alpha / N_TEST,
        train_expansion=concentration / N_TEST, radii=[2.1, 1.8, 1.5], gradients=20 * N_TEST,
        gradients_minimum=N_TEST, distance_evaluations=1347 ** 2 + 3 * N_TEST))


def results(config: ConcentrationConfig, ratios: Ratios | None = None,
            counts: Counts | None = None, points: dict[tuple[str, int], int] | None = None
            ) -> dict[Cell, ConcentrationResult]:
    """Every cell of the plan: the default ratios and counts, with ``ratios``/``counts``
    replacing some, and fewer measured ``points`` at some (dataset, d)."""
    ratios, counts = {**RATIOS, **(ratios or {})}, {**COUNTS, **(counts or {})}
    found: dict[Cell, ConcentrationResult] = {}
    for s in config.synthetic:
        for d in s.dims:
            found[Cell.make(NAME, part="synthetic", data=s.label, dim=d)] = synthetic(
                s.dataset.name, d, ratios[(s.label, d)], (points or {}).get((s.label, d),
                                                                            N_POINTS))
    for m in config.models:
        for e in config.eps:
            found[Cell.make(NAME, part="real", model=m.label, eps=e)] = real(*counts[(m.label, e)])
    return found


def config() -> ConcentrationConfig:
    return ConcentrationConfig.model_validate(CONFIG)


def case(ratios: Ratios | None = None, counts: Counts | None = None,
         points: dict[tuple[str, int], int] | None = None) -> Case:
    """A case: the config and its results with these changes."""
    def build() -> tuple[ConcentrationConfig, dict[Cell, ConcentrationResult]]:
        made = config()
        return made, results(made, ratios, counts, points)

    return build


CASES: dict[str, dict[str, Case]] = {
    "near-bound": {
        # every ratio near 1, intervals well inside [1/2, 2]
        "PASS": case(),
        # the Gaussian model at d = 64 keeps its errors spread out: 0.3 × the bound, its whole
        # interval below 1/2 (far less robust than its error rate forces)
        "FAIL": case({("gaussian", 64): 0.3}),
        # 0.55 × the bound from only 12 measured points: the interval straddles 1/2
        "INCONCLUSIVE": case({("gaussian", 64): 0.55}, points={("gaussian", 64): 12}),
    },
    "shrinks-with-dimension": {
        # near the bound at every d, and the bound relative to √d (r) falls like 1/√d
        "PASS": case(),
        # at d = 64 the Gaussian model sits 6 × the bound away: relative 6·b/8 > 0.9·b/2 at d = 4
        "FAIL": case({("gaussian", 64): 6.0}),
        # 3.4 × the bound at d = 64: relative 3.4·b/8 ≈ 0.94 × 0.9·b/2, the intervals overlap
        "INCONCLUSIVE": case({("gaussian", 64): 3.4}),
    },
    "real-data-gap": {
        # the risk's interval above the estimate's for every (model, eps) with risk above α
        "PASS": case(),
        # mlp-at at eps 1: the estimate reaches the risk (170 vs 175 of 450)
        "FAIL": case(counts={("mlp-at", 1.0): (20, 170, 175)}),
        # mlp-at at eps 1: 170 vs 140 of 450, the 95% intervals overlap
        "INCONCLUSIVE": case(counts={("mlp-at", 1.0): (20, 170, 140)}),
    },
}
