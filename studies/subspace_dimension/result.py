"""The subspace-dimension study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

import math

import torch

from transfer import CellResult


class SubspaceResult(CellResult):
    """Per k: mean and median adversarial directions, per target the mean that transfer and the
    probability of transfer; per point the dimension (largest k with a fooling direction) and the
    directions found (Tramèr et al.: the most of the k directions that fool it, over all k)."""

    k: list[int]
    adversarial_mean: list[float]
    adversarial_median: list[float]
    transferred_mean: dict[str, list[float]]
    transfer_probability: dict[str, list[float]]
    dimension: list[int]
    found: list[int]
    # the control at the largest L2 eps: per point, the most of k uniformly random orthogonal
    # directions of the same norm that fool the source, over every k (empty elsewhere)
    random_found: list[int] = []

    def metrics(self) -> dict[str, float]:
        dimension = torch.tensor(self.dimension, dtype=torch.float64)
        some = len(self.dimension) > 0
        return {
            "points": float(len(self.dimension)),
            "dimension_mean": dimension.mean().item() if some else math.nan,
            "dimension_median": dimension.median().item() if some else math.nan,
            "adversarial_at_max_k_mean": self.adversarial_mean[-1] if some else math.nan,
            "directions_found_mean": (sum(self.found) / len(self.found)) if some else math.nan,
            **({"random_directions_found_mean": sum(self.random_found) / len(self.random_found)}
               if self.random_found else {}),
        }

    def series(self) -> dict[str, list[tuple[float, float]]]:
        def along_k(values: list[float]) -> list[tuple[float, float]]:
            return [(float(k), v) for k, v in zip(self.k, values, strict=True)]

        series = {"adversarial_directions_mean": along_k(self.adversarial_mean)}
        for t in self.transferred_mean:
            series[f"transferred_mean.{t}"] = along_k(self.transferred_mean[t])
            series[f"transfer_probability.{t}"] = along_k(self.transfer_probability[t])
        return series
