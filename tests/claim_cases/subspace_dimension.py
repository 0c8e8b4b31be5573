"""Constructed subspace-dimension results (Tramèr et al. 2017) on which each claim returns each
verdict.

The config: two gradient sources (softmax, mlp) and a decision tree (no gradients: its cells are
not applicable, as the study's ``run`` makes them), three L2 budgets and one L-inf budget, on the
8x8 digits (d = 64); its cells are the study's own ``plan``. Each cell has ``POINTS`` correctly
classified points (the four per-point patterns below, repeated), and each point a number f of
gradient-aligned directions that fool the source (``DIRECTIONS``, L2; ``LINF_DIRECTIONS``): the
k directions the GAAS construction tries are equally aligned with the gradient, so all k fool
the source when k <= f and none when k > f. At the largest L2 budget the control counts the same
way for random orthogonal directions (``RANDOM``, f per point).
Of those, the first ``share`` (rounded) also fool every other target; on the source itself all
do. The study's own ``measures`` turns these per-point counts into the cell result, so f is
Tramèr et al.'s "directions found" of the point (every f below is on the grid of k).

At the largest L2 budget (3.0) softmax finds 10.0 directions per point and mlp 6.75; along the
budgets softmax finds 3.5, 6.75, 10.0 and mlp 2.0, 4.5, 6.75.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from transfer import Cell, NotApplicable
from transfer.studies.subspace_dimension import SubspaceDimension
from transfer.studies.subspace_dimension.config import SubspaceDimensionConfig, default_ks
from transfer.studies.subspace_dimension.result import SubspaceResult

from . import Case

STUDY = "subspace-dimension"

D = 64  # input dimension of the 8x8 digits
POINTS = 32  # correctly classified points per cell: 8 repeats of the 4 patterns
REPEATS = 8
L2_EPS = (1.0, 2.0, 3.0)
LINF_EPS = 0.2
DIRECTIONS: dict[tuple[str, float], list[int]] = {  # (source, L2 eps): f per point
    ("softmax", 1.0): [2, 3, 4, 5], ("softmax", 2.0): [5, 6, 7, 9],
    ("softmax", 3.0): [7, 9, 12, 12],
    ("mlp", 1.0): [1, 2, 2, 3], ("mlp", 2.0): [3, 4, 5, 6], ("mlp", 3.0): [5, 6, 7, 9],
}
LINF_DIRECTIONS = [1, 4, 4, 16]  # f per point at the L-inf budget (k = 1, 4, 16, 64 there)
RANDOM = {"softmax": [1, 1, 2, 2], "mlp": [0, 1, 1, 2]}  # f of random directions at L2 eps 3
NO_GRADIENTS = "decision-tree has no gradients, so there is no gradient to align with"


def _config(l2_eps: Sequence[float]) -> SubspaceDimensionConfig:
    return SubspaceDimensionConfig.model_validate({
        "study": STUDY, "n_points": POINTS, "l2_eps": list(l2_eps), "linf_eps": [LINF_EPS],
        "models": ["softmax", "mlp", "decision-tree"],
    })


def _counts(ks: list[int], found: list[int]) -> torch.Tensor:
    """(points, ks): all k directions fool when k <= f, none when k > f."""
    k = torch.tensor(ks)
    f = torch.tensor(found * REPEATS).unsqueeze(1)
    return torch.where(k <= f, k, torch.zeros_like(k))


def _result(config: SubspaceDimensionConfig, cell: Cell, found: list[int],
             share: float, random: list[int] | None) -> SubspaceResult:
    """The cell's result from per-point counts, as the study's ``run`` hands them over."""
    ks = default_ks(cell["norm"], D, config.max_k)
    counts = _counts(ks, found)
    transferred = {t: counts if t == cell["source"] else torch.round(share * counts).long()
                   for t in config.target_labels()}
    return SubspaceDimension.measures(ks, counts, transferred,
                                      None if random is None else _counts(ks, random))


def _case(share: float = 0.7, l2_eps: Sequence[float] = L2_EPS,
          directions: Mapping[tuple[str, float], list[int]] | None = None,
          random: Mapping[str, list[int]] | None = None) -> Case:
    """The study's cells for these L2 budgets, with ``DIRECTIONS`` (updated by ``directions``)
    per point, ``share`` of each point's directions transferring to each other model, and the
    random control ``RANDOM`` (updated by ``random``) at the largest L2 budget."""
    table = {**DIRECTIONS, **(directions or {})}
    control = {**RANDOM, **(random or {})}

    def case() -> tuple[Any, dict[Cell, Any]]:
        config = _config(l2_eps)
        results: dict[Cell, Any] = {}
        for cell in SubspaceDimension().plan(config):
            if cell["source"] == "decision-tree":
                results[cell] = NotApplicable(reason=NO_GRADIENTS)
            else:
                found = (table[cell["source"], cell["eps"]] if cell["norm"] == "l2"
                         else LINF_DIRECTIONS)
                largest = cell["norm"] == "l2" and cell["eps"] == max(l2_eps)
                results[cell] = _result(config, cell, found, share,
                                        control[cell["source"]] if largest else None)
        return config, results

    return case


CASES: dict[str, dict[str, Case]] = {
    "many-directions": {
        # at eps 3: softmax 10.0, mlp 6.75, both at least 5 and above random (1.5, 1.0)
        "PASS": _case(),
        # mlp finds 3.5 at eps 3: more than random, but between 2 and 5
        "INCONCLUSIVE": _case(directions={("mlp", 3.0): [2, 3, 4, 5]}),
        # random orthogonal directions fool mlp as often as the gradient-aligned ones (6.75)
        "FAIL": _case(random={"mlp": [5, 6, 7, 9]}),
    },
    "large-share-transfers": {
        "PASS": _case(share=0.7),  # at each peak: softmax 71%, mlp 80% (rounded per point)
        "INCONCLUSIVE": _case(share=0.35),  # softmax 29%, mlp 40%: 34%, between 20% and 50%
        "FAIL": _case(share=0.15),  # softmax 14%, mlp 20%: 17% on average, below 20%
    },
    "grows-with-eps": {
        "PASS": _case(),  # softmax 3.5, 6.75, 10.0; mlp 2.0, 4.5, 6.75
        # mlp finds 7.75 at eps 2, then 6.75 at eps 3
        "FAIL": _case(directions={("mlp", 2.0): [6, 7, 9, 9]}),
        # a single L2 budget (the L-inf one does not count): no curve to read
        "INCONCLUSIVE": _case(l2_eps=[3.0]),
    },
}
