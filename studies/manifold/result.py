"""The manifold study's typed cell result: what its claims and report read."""

from __future__ import annotations

import math

from pydantic import model_validator

from transfer import CellResult, Mean

PER_POINT = ("index", "deepfool_norm", "tangent_share", "tangent_ratio", "random_ratio",
             "explained", "clean_distance", "adversarial_distance")


def median(values: list[float]) -> float:
    """The median (inf counts as a value: a perturbation never found is larger than any found;
    NaN with no values)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


class ManifoldResult(CellResult):
    """One model. The lists hold one value per point, in the same order: the correctly classified
    test points whose full-space DeepFool changed the label (r*)."""

    d: int  # input dimension
    dimension: int  # m, the dimension of the tangent plane (and of the random plane)
    neighbours: int  # training points behind each local PCA
    points: int  # test points evaluated
    correct: int  # of them, correctly classified: DeepFool starts from these
    index: list[int]  # the point's position in the test set
    deepfool_norm: list[float]  # ‖r*‖₂, DeepFool in the whole input space (with the overshoot)
    tangent_share: list[float]  # ‖P_T r*‖² / ‖r*‖²: the share of r*'s energy in the plane T
    tangent_ratio: list[float]  # ‖r_T‖ / ‖r*‖, DeepFool restricted to T (inf: no flip)
    random_ratio: list[float]  # ‖r_S‖ / ‖r*‖, restricted to a random m-plane S (inf: no flip)
    explained: list[float]  # share of the neighbours' variance in T's m directions
    clean_distance: list[float]  # distance of x to the local affine PCA plane
    adversarial_distance: list[float]  # distance of x + r* to the same plane

    @model_validator(mode="after")
    def _same_points(self) -> ManifoldResult:
        lengths = {name: len(getattr(self, name)) for name in PER_POINT}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"per-point lists of different lengths: {lengths}")
        return self

    @property
    def fooled(self) -> int:
        """Points with a full-space DeepFool perturbation r*: the lists' length."""
        return len(self.index)

    @property
    def expected_share(self) -> float:
        """m/d: the expected share of a uniformly random direction's energy in any m-plane."""
        return self.dimension / self.d

    @property
    def predicted_ratio(self) -> float:
        """√(d/m): Fawzi et al.'s ‖r_S‖/‖r*‖ for a random m-plane S."""
        return math.sqrt(self.d / self.dimension)

    def share(self) -> Mean:
        return Mean.of(self.tangent_share)

    def no_flip(self, kind: str) -> int:
        """Points where DeepFool restricted to the plane (``tangent`` or ``random``) never
        changed the label."""
        return sum(math.isinf(v) for v in getattr(self, f"{kind}_ratio"))

    def leaving(self) -> list[float]:
        """(distance of x + r* − distance of x) / ‖r*‖ to the plane: how far r* leaves it."""
        return [(a - c) / n for a, c, n in zip(self.adversarial_distance, self.clean_distance,
                                              self.deepfool_norm, strict=True)]

    def metrics(self) -> dict[str, float]:
        metrics: dict[str, float] = {
            "d": self.d, "dimension": self.dimension, "points": self.points,
            "correct": self.correct, "fooled": self.fooled,
            "expected_share": self.expected_share, "predicted_ratio": self.predicted_ratio,
            "tangent_share_median": median(self.tangent_share),
            "tangent_ratio_median": median(self.tangent_ratio),
            "random_ratio_median": median(self.random_ratio),
            "tangent_no_flip": self.no_flip("tangent"), "random_no_flip": self.no_flip("random"),
            "explained_mean": Mean.of(self.explained).mean,
            "clean_distance_ratio_median": median(
                [c / n for c, n in zip(self.clean_distance, self.deepfool_norm, strict=True)]),
            "leaving_median": median(self.leaving()),
        }
        metrics.update(self.share().metrics("tangent_share"))
        return metrics
