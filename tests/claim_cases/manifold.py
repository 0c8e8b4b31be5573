"""Constructed manifold results (Gilmer et al. 2018; Khoury & Hadfield-Menell 2018; Stutz et al.
2019) on which each claim returns each verdict.

The config: the default four models on the 8x8 digits (d = 64), tangent planes of dimension
m = 8 from 20 neighbours, so a random direction puts m/d = 0.125 of its energy in the plane and
Fawzi et al. predict ‖r_S‖/‖r*‖ ≈ √8 = 2.83; its cells are the study's own ``plan``. Each model's
cell has ``N`` points with r* (of 200 evaluated, 190 correct). Per point, every value cycles
through (1 + SPREAD·w)× its model's number, w = -1, -½, 0, ½, 1, the same w for every quantity of
a point. A model's numbers (``DEFAULT``):

- ``share``: the mean share of r*'s energy in the tangent plane (0.05, far below 0.125);
- ``tangent`` and ``random``: the middle ‖r_T‖/‖r*‖ and ‖r_S‖/‖r*‖ (4.0 and 2.8: the tangent
  plane needs ×1.43 the random plane's norm at every point; 4/5 of the points flip within the
  5× budget, at 2, 3, 4 and 5);
- ``tangent_no_flip`` and ``random_no_flip``: the first so many points never flipped (∞).

Each case changes one number for one model (the mlp).
"""

from __future__ import annotations

import math
from typing import Any

from transfer import Cell
from transfer.studies.manifold import Manifold
from transfer.studies.manifold.config import NAME, ManifoldConfig
from transfer.studies.manifold.result import ManifoldResult

from . import Case

STUDY = "manifold"
N, POINTS, CORRECT = 150, 200, 190  # points with r*, evaluated, correctly classified
D, M = 64, 8
SPREAD = 0.5
DEFAULT: dict[str, Any] = {"share": 0.05, "tangent": 4.0, "random": 2.8, "tangent_no_flip": 0,
                           "random_no_flip": 0, "n": N}


def _cycle(mean: float, n: int, missing: int = 0) -> list[float]:
    """``mean``·(1 + SPREAD·w), w cycling -1, -½, 0, ½, 1; the first ``missing`` are ∞."""
    values = [mean * (1 + SPREAD * ((i % 5) - 2) / 2) for i in range(n)]
    return [math.inf] * missing + values[missing:]


def _result(share: float, tangent: float, random: float, tangent_no_flip: int,
            random_no_flip: int, n: int) -> ManifoldResult:
    norms = _cycle(0.8, n)
    clean = _cycle(1.2, n)
    shares = _cycle(share, n)
    return ManifoldResult(
        d=D, dimension=M, neighbours=20, points=POINTS, correct=CORRECT,
        index=list(range(n)), deepfool_norm=norms, tangent_share=shares,
        tangent_ratio=_cycle(tangent, n, tangent_no_flip),
        random_ratio=_cycle(random, n, random_no_flip), explained=[0.85] * n,
        clean_distance=clean,
        adversarial_distance=[c + math.sqrt(1 - s) * r for c, s, r in zip(clean, shares, norms,
                                                                           strict=True)])


def _config() -> ManifoldConfig:
    return ManifoldConfig.model_validate({
        "study": NAME, "n_points": POINTS,
        "models": ["softmax", "mlp", "cnn", "rbf-net"]})


def _case(model: str = "mlp", **change: Any) -> Case:
    """Every planned cell; ``model``'s numbers with ``change`` applied."""
    def build() -> tuple[ManifoldConfig, dict[Cell, ManifoldResult]]:
        config = _config()
        return config, {cell: _result(**{**DEFAULT, **(change if cell["model"] == model
                                                       else {})})
                        for cell in Manifold().plan(config)}

    return build


CASES: dict[str, dict[str, Case]] = {
    "off-manifold-direction": {
        # every model's mean share 0.050 [0.047, 0.053] over 150 points, below m/d = 0.125
        "PASS": _case(),
        # the mlp's 0.200 [0.189, 0.211]: more of r* in the tangent plane than a random direction
        "FAIL": _case(share=0.2),
        # the mlp's 0.124 [0.117, 0.131]: below 0.125, but not significantly (p ≈ 0.39)
        "INCONCLUSIVE": _case(share=0.124),
    },
    "on-manifold-needs-more": {
        # log(4.0/2.8) = +0.357 at every point: the tangent plane needs ×1.43, Wilcoxon p = 3e-27
        "PASS": _case(),
        # the mlp's tangent plane needs ×0.71 the random plane's norm: a mean below 0
        "FAIL": _case(tangent=2.0),
        # the random plane of the mlp never flipped 125 of its 150 points: 25 pairs, under 30
        "INCONCLUSIVE": _case(random_no_flip=125),
    },
    "on-manifold-exists": {
        # 80.0% [72.9, 85.6] of every model's points flip within 5×‖r*‖
        "PASS": _case(),
        # the mlp's tangent ratios at 4, 6, 8, 10, 12: 20.0% [14.4, 27.1] within the budget
        "FAIL": _case(tangent=8.0),
        # the mlp's first 48 points never flip in the plane: 54.0% [46.0, 61.8] (81/150), not
        # surely above 50%
        "INCONCLUSIVE": _case(tangent_no_flip=48),
    },
}
