"""Constructed boundary-tilting results (Tanay & Griffin 2016) on which each claim returns each
verdict.

The config is the default one: logreg on digits 3 vs 7 along C = 1e-4 ... 100 (seven values,
smaller C = stronger L2); its cells are the study's own ``plan``. Every cell is tested on the
same ``N`` points, each of norm ‖x‖ = 1, so a relative distance is the distance itself. By
default, from the strongest regularisation (C = 1e-4) to the weakest (C = 100):

- θ = 1, 3, 8, 15, 22, 26, 28 degrees (w at angle θ to w_nc in the first two coordinates);
- test accuracy 197/200 at C = 1e-4 and 198/200 elsewhere (the first k points right);
- per point, the distance to the boundary of the weakest model is 0.24·(1 + 0.2·u_i), u_i
  cycling -1, -½, 0, ½, 1, and every other model's is that plus ``GAP`` = 0.04.

Each claim's three cases change one of these for one cell.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from transfer import Cell, Mean, Rate
from transfer.studies.boundary_tilting import BoundaryTilting
from transfer.studies.boundary_tilting.config import BoundaryTiltingConfig
from transfer.studies.boundary_tilting.result import TiltResult

from . import Case

STUDY = "boundary-tilting"
N = 200  # test points
D = 64  # digits: 8 x 8 pixels
THETAS = [1.0, 3.0, 8.0, 15.0, 22.0, 26.0, 28.0]  # degrees, strongest regularisation first
RIGHT = [197, 198, 198, 198, 198, 198, 198]  # correct test points of N
BASE = [0.24 * (1 + 0.2 * ((i % 5) - 2) / 2) for i in range(N)]  # the weakest model's
GAP = 0.04  # every other model's distance: the weakest's plus this, at every point
# a positive mean that is not significant: most points 0.001 closer, every tenth 0.02 farther
SKEWED = [0.02 if i % 10 == 0 else -0.001 for i in range(N)]


def _result(value: float, theta: float, right: int, gaps: list[float]) -> TiltResult:
    """One value of the sweep: w at ``theta`` degrees to w_nc, the first ``right`` points
    correct, each point's distance the weakest model's plus ``gaps``."""
    angle = math.radians(theta)
    w = [math.cos(angle), math.sin(angle)] + [0.0] * (D - 2)
    correct = [i < right for i in range(N)]
    distance = [base + gap for base, gap in zip(BASE, gaps, strict=True)]
    every = torch.ones(N, dtype=torch.bool)
    nc = [0.28] * N
    return TiltResult(
        param="C", value=value, input_shape=[1, 8, 8], w=w, b=0.0, w_nc=[1.0] + [0.0] * (D - 1),
        b_nc=0.0, theta=theta, train_accuracy=1.0,
        accuracy=Rate.of(torch.tensor(correct), every), accuracy_nc=Rate.of(every, every),
        points=list(range(N)), correct=correct, correct_nc=[True] * N, x_norm=[1.0] * N,
        distance=distance, distance_nc=nc,
        relative_distance=Mean.of([d for d, ok in zip(distance, correct, strict=True) if ok]),
        relative_distance_nc=Mean.of(nc))


def _case(thetas: list[float] = THETAS, right: list[int] = RIGHT,
          most_gaps: list[float] | None = None) -> Case:
    """A case: every planned cell, strongest regularisation first, with these numbers; the
    most regularised model's per-point distance gaps replaced by ``most_gaps``."""
    def build() -> tuple[BoundaryTiltingConfig, dict[Cell, TiltResult]]:
        config = BoundaryTiltingConfig()
        cells = {c["value"]: c for c in BoundaryTilting().plan(config)}
        order = config.by_strength(list(config.values))
        results = {}
        for i, value in enumerate(order):
            gaps = [0.0] * N if i == len(order) - 1 else [GAP] * N
            if i == 0 and most_gaps is not None:
                gaps = most_gaps
            results[cells[value]] = _result(value, thetas[i], right[i], gaps)
        return config, results

    return build


def _changed(values: list[Any], first: Any) -> list[Any]:
    return [first, *values[1:]]


CASES: dict[str, dict[str, Case]] = {
    "regularisation-untilts": {
        # θ rises with C but at the last step (as in the default run): Spearman ρ = +0.96,
        # p < 0.001 over 7 values, and a Fisher-z interval (none at ρ = 1)
        "PASS": _case(thetas=[1.0, 3.0, 8.0, 15.0, 22.0, 28.0, 26.0]),
        # the same angles in the opposite order: θ falls as C grows, ρ = −1.00
        "FAIL": _case(thetas=THETAS[::-1]),
        # the angles shuffled: ρ = +0.54, one-sided p = 0.11 (positive, not significant)
        "INCONCLUSIVE": _case(thetas=[8.0, 3.0, 1.0, 28.0, 26.0, 15.0, 22.0]),
    },
    "tilting-shrinks-distance": {
        # every one of the 197 points both classify right is 0.04 farther under C = 1e-4
        "PASS": _case(),
        # every point 0.02 closer under C = 1e-4 than under C = 100
        "FAIL": _case(most_gaps=[-0.02] * N),
        # a mean +0.0011 farther, from one point in ten 0.02 farther and the rest 0.001
        # closer: the signed-rank test sees mostly closer points (p ≈ 1), undecided
        "INCONCLUSIVE": _case(most_gaps=SKEWED),
    },
    "accuracy-kept": {
        # 197/200 vs the best 198/200: −0.5 points [−2.8, +1.4], above −3
        "PASS": _case(),
        # 190/200 vs 198/200: −4.0 points [−7.7, −1.4], the difference itself below −3
        "FAIL": _case(right=_changed(RIGHT, 190)),
        # 195/200 vs 198/200: −1.5 points [−4.3, +0.5], the interval reaches below −3
        "INCONCLUSIVE": _case(right=_changed(RIGHT, 195)),
    },
}
