"""The boundary-tilting study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, CellResult, Mean, Rate

from .config import BoundaryTiltingConfig


class TiltResult(CellResult):
    """One value of the sweep: the trained model's hyperplane, its tilt against the nearest-
    centroid classifier, and per test point (in the same order in every cell) its correctness
    and its exact L2 distance to each boundary."""

    param: str
    value: float
    input_shape: list[int]
    w: list[float]  # the model's weight vector (flattened input)
    b: float
    w_nc: list[float]  # μ₁ − μ₀ of the training set
    b_nc: float  # −w_ncᵀ(μ₀ + μ₁)/2
    theta: float  # the angle between w and w_nc, degrees
    train_accuracy: float
    accuracy: Rate  # test accuracy
    accuracy_nc: Rate  # the nearest-centroid classifier's
    points: list[int]  # indices into the two classes' test set
    correct: list[bool]
    correct_nc: list[bool]
    x_norm: list[float]  # ‖x‖ per point
    distance: list[float]  # |wᵀx + b|/‖w‖ per point: the minimal adversarial perturbation
    distance_nc: list[float]  # the same to the nearest-centroid boundary
    relative_distance: Mean  # distance/‖x‖ over the points the model classifies correctly
    relative_distance_nc: Mean  # distance_nc/‖x‖ over the points the centroids classify right
    # every test point on one side of the boundary: a constant classifier, with no boundary
    # among the data (None: a result written before this was measured)
    one_class: bool | None = None

    def relative(self, nearest_centroid: bool = False) -> list[float]:
        """distance/‖x‖ per point (NaN at x = 0)."""
        distances = self.distance_nc if nearest_centroid else self.distance
        return [d / n if n > 0 else math.nan for d, n in zip(distances, self.x_norm,
                                                              strict=True)]

    @property
    def w_norm(self) -> float:
        return math.sqrt(sum(v * v for v in self.w))

    def metrics(self) -> dict[str, float]:
        metrics = {"theta": self.theta, "w_norm": self.w_norm, "b": self.b,
                   "train_accuracy": self.train_accuracy}
        metrics.update(self.accuracy.metrics("accuracy"))
        metrics.update(self.accuracy_nc.metrics("accuracy_nc"))
        metrics.update(self.relative_distance.metrics("relative_distance"))
        metrics.update(self.relative_distance_nc.metrics("relative_distance_nc"))
        return metrics


def sweep(config: BoundaryTiltingConfig, results: Mapping[Cell, Any],
          constant: bool = False) -> list[TiltResult]:
    """The finished results from the strongest regularisation to the weakest; without the
    constant classifiers (``one_class``) unless ``constant``."""
    done = {r.value: r for r in results.values()
            if isinstance(r, TiltResult) and (constant or not r.one_class)}
    return [done[v] for v in config.by_strength(list(done))]


def constant_values(config: BoundaryTiltingConfig, results: Mapping[Cell, Any]) -> list[float]:
    """The sweep's values whose classifier put every test point in one class."""
    return [r.value for r in sweep(config, results, constant=True) if r.one_class]
