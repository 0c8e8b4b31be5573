"""The typed result of one non-robust-features cell: the model's clean and robust test accuracy,
what building its training set measured, and a few example images for the grid."""

from __future__ import annotations

import math
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict

from transfer import CellResult, Rate

NORM_NAMES = {"linf": "L-inf", "l2": "L2"}


def threat_model(config: Any, results: list[NonRobustResult]) -> str:
    """The robust test as text: the evaluation attack's label, its norm (as the results
    recorded it, else as the config names it; left out when neither does) and eps."""
    label, eps = config.evaluation.label, config.eps
    norm = next((r.evaluation_norm for r in results if r.evaluation_norm),
                config.evaluation.params.get("norm"))
    if norm is None:
        return f"{label} at eps {eps:g}"
    return f"{label}, {NORM_NAMES.get(norm, norm)} eps {eps:g}"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Construction(_Part):
    """What building a training set measured. Relabelled sets (D_rand, D_det): the share of
    attacks where the standard model predicts the target after (``attack_success``), the share
    the robust model still reads as the original label (``robust_sees_label``) and the mean
    ‖δ‖₂. Matched sets (D_R, D_NR): the mean ‖g(x_r) − g(x)‖₂ / ‖g(x)‖₂ at the start and after
    the descent, and ‖x_r − x‖₂ / ‖x‖₂ (D_R is not D). Gradient evaluations counted by a hook,
    next to the minimum (points × steps)."""

    points: int  # training points in the constructed set
    gradients: int
    gradients_min: int
    sha256: str
    attack_success: Rate | None = None
    robust_sees_label: Rate | None = None
    perturbation_l2: float = math.nan
    match_before: float = math.nan
    match_after: float = math.nan
    distance_to_x: float = math.nan

    def metrics(self) -> dict[str, float]:
        metrics = {"construction_points": float(self.points),
                   "construction_gradients": float(self.gradients),
                   "construction_gradients_min": float(self.gradients_min),
                   "perturbation_l2_mean": self.perturbation_l2,
                   "match_distance_before": self.match_before,
                   "match_distance_after": self.match_after,
                   "distance_to_x": self.distance_to_x}
        if self.attack_success is not None:
            metrics.update(self.attack_success.metrics("attack_success"))
        if self.robust_sees_label is not None:
            metrics.update(self.robust_sees_label.metrics("robust_sees_label"))
        return {k: v for k, v in metrics.items() if not math.isnan(v)}


class Examples(_Part):
    """A few training points of a constructed set, as rows of images (``x``, ``x + δ``; or
    ``x``, ``start``, ``x_r``) of the input's shape, with their labels and targets."""

    shape: list[int]
    rows: dict[str, list[list[float]]]
    labels: list[int]
    targets: list[int] | None = None

    @classmethod
    def of(cls, rows: list[tuple[str, torch.Tensor]], labels: torch.Tensor,
           targets: torch.Tensor | None) -> Examples:
        return cls(shape=list(rows[0][1].shape[1:]),
                   rows={name: images.flatten(1).tolist() for name, images in rows},
                   labels=labels.tolist(),
                   targets=None if targets is None else targets.tolist())

    def images(self, row: str) -> torch.Tensor:
        return torch.tensor(self.rows[row]).reshape(-1, *self.shape)


class NonRobustResult(CellResult):
    """One training set: its model's clean and robust accuracy on the test set (``shifted``:
    D_det only, the share predicted as y + 1, what robust features alone would give), its
    accuracy on its own training labels, and the gradient evaluations of the robust test and
    its attack's norm (``evaluation_norm``; None in results stored before it was kept)."""

    set: str
    n_classes: int
    clean: Rate
    robust: Rate
    train_accuracy: Rate
    eval_gradients: int
    eval_gradients_min: int
    points: list[int]  # the test points' indices, in the order of the per-point flags
    robust_correct: list[bool]  # per point: the prediction after the evaluation attack is right
    shifted: Rate | None = None
    evaluation_norm: str | None = None
    construction: Construction | None = None
    examples: Examples | None = None

    def metrics(self) -> dict[str, float]:
        metrics = {**self.clean.metrics("clean_accuracy"),
                   **self.robust.metrics("robust_accuracy"),
                   "train_accuracy": self.train_accuracy.rate, "chance": 1 / self.n_classes,
                   "evaluation_gradients": float(self.eval_gradients),
                   "evaluation_gradients_min": float(self.eval_gradients_min)}
        if self.shifted is not None:
            metrics.update(self.shifted.metrics("shifted_accuracy"))
        if self.construction is not None:
            metrics.update(self.construction.metrics())
        return metrics
