"""The oscillation study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

import torch

from transfer import CellResult, Mean, Rate

from .config import ALL


class OscillationResult(CellResult):
    """One model trained on one training-set size."""

    family: str  # the model's registered name: counterparts share it
    size: int  # training points used
    label_noise: float  # share of those points whose label is wrong (the control: 0)
    train_error: Rate  # on the (noisy) training labels: 0 = interpolation
    test_error: Rate  # on the whole test set (clean labels)
    scale: float  # median L2 distance between evaluation points of different classes
    x_norm: float  # mean ‖x‖₂ of the evaluation points
    error_distance: list[float]  # per evaluation point: nan if misclassified, inf if none found
    by_deepfool: float  # share of the found distances that DeepFool's direction gave
    reach: list[list[float]]  # noise image x class: distance to a confident prediction
    budget: float  # budget · scale: "reached" means within this distance
    gradients: int
    gradients_minimum: int
    queries: int
    queries_minimum: int

    @property
    def interpolates(self) -> bool:
        return self.train_error.count == 0

    def distances(self) -> torch.Tensor:
        return torch.tensor(self.error_distance, dtype=torch.float64)

    def error_mean(self) -> Mean:
        """Mean distance to the nearest error over the correct points where one was found."""
        d = self.distances()
        return Mean.of(d[torch.isfinite(d)])

    def reached(self) -> list[Rate]:
        """Per class: the share of noise images reaching it within the budget."""
        r = torch.tensor(self.reach, dtype=torch.float64)
        every = torch.ones(len(r), dtype=torch.bool)
        return [Rate.of(r[:, c] <= self.budget, every) for c in range(r.shape[1])]

    def pooled_reached(self) -> Rate:
        return Rate.pooled(self.reached())

    def reach_medians(self) -> list[float]:
        """Per class: the median distance from a noise image to a confident prediction."""
        return torch.tensor(self.reach, dtype=torch.float64).median(dim=0).values.tolist()

    def reach_median(self) -> float:
        """The median over every (noise image, class) pair."""
        return torch.tensor(self.reach, dtype=torch.float64).median().item()

    def metrics(self) -> dict[str, float]:
        d = self.distances()
        correct = ~torch.isnan(d)
        metrics = {"interpolates": float(self.interpolates), "size": float(self.size),
                   "label_noise": self.label_noise, "scale": self.scale, "x_norm": self.x_norm,
                   "error_distance_relative": self.error_mean().mean / self.scale,
                   "error_not_found": float((correct & torch.isinf(d)).sum()),
                   "by_deepfool": self.by_deepfool,
                   "reach_median_relative": self.reach_median() / self.scale,
                   "gradients": float(self.gradients),
                   "gradients_minimum": float(self.gradients_minimum),
                   "queries": float(self.queries), "queries_minimum": float(self.queries_minimum)}
        metrics.update(self.train_error.metrics("train_error"))
        metrics.update(self.test_error.metrics("test_error"))
        metrics.update(self.error_mean().metrics("error_distance"))
        metrics.update(self.pooled_reached().metrics("reached_within_budget"))
        for c, median in enumerate(self.reach_medians()):
            metrics[f"reach_median.class{c}"] = median
        return metrics


def size_value(size: int | str) -> int | None:
    return None if size == ALL else int(size)
