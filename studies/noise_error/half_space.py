"""The mathematics of the noise-error study (Ford, Gilmer, Carlini & Cubuk 2019, §3).

A half-space error set {v : wᵀ(v − x) ≥ d‖w‖} at distance d from x catches a share Φ(−d/σ) of the
Gaussian noise x + σz, z ~ N(0, I), whatever the dimension. Read backwards, a point whose noise
copies are misclassified at the rate μ would, were its error set locally a half-space, have its
nearest error at d_pred = −σ·Φ⁻¹(μ). Here: the noise error μ_x(σ) per point, the σ at which the
prediction is read, d_pred, DeepFool's measured distance, and the percentile bootstrap of a median.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from transfer import deepfool, points_per_chunk


def noise_errors(model: Any, x: torch.Tensor, y: torch.Tensor, sigmas: Sequence[float],
                 n_noise: int, generator: torch.Generator) -> torch.Tensor:
    """Per point and σ, the share of ``n_noise`` copies x + σz (unclipped) the model does not put
    in class ``y``: a float64 tensor (n, len(sigmas)). Every σ reuses the same z of a point (the
    curves μ(σ) differ by σ alone), and the z are drawn point by point in order, so the draws do
    not depend on how the points are chunked; a chunk holds as many copies as fit in memory."""
    errors = torch.zeros((len(x), len(sigmas)), dtype=torch.float64)
    if len(x) == 0:
        return errors
    per_chunk = max(1, points_per_chunk(model, x, points=len(x) * n_noise) // n_noise)
    shape = tuple(x.shape[1:])
    for start in range(0, len(x), per_chunk):
        part = x[start:start + per_chunk]
        z = torch.stack([torch.randn((n_noise, *shape), generator=generator)
                         for _ in range(len(part))]).to(x)
        labels = y[start:start + per_chunk].repeat_interleave(n_noise)
        for j, sigma in enumerate(sigmas):
            noisy = (part.unsqueeze(1) + sigma * z).reshape(-1, *shape)
            with torch.no_grad():
                wrong = model.predict(noisy) != labels
            errors[start:start + len(part), j] = wrong.view(len(part), n_noise).double().mean(
                dim=1).cpu()
    return errors


def predicted_distance(mu: float, sigma: float) -> float:
    """d_pred = −σ·Φ⁻¹(μ): the distance of the half-space that catches a share μ of N(x, σ²I)
    (positive for μ < 1/2; +inf for μ = 0)."""
    from scipy.stats import norm  # scipy.stats when used, not when the studies are listed

    return float(-sigma * norm.ppf(mu))


def predictions(errors: torch.Tensor, sigmas: Sequence[float], min_error: float
                ) -> tuple[list[float], list[float]]:
    """Per point, the smallest σ of the grid whose noise error μ lies in [min_error, 1/2) and
    d_pred there; NaN for both where no σ of the grid qualifies."""
    chosen, distances = [], []
    for row in errors.tolist():
        j = next((j for j, mu in enumerate(row) if min_error <= mu < 0.5), None)
        chosen.append(math.nan if j is None else float(sigmas[j]))
        distances.append(math.nan if j is None else predicted_distance(row[j], sigmas[j]))
    return chosen, distances


def deepfool_distances(model: Any, x: torch.Tensor, overshoot: float, max_iter: int
                       ) -> list[float]:
    """Per point, the L2 norm of DeepFool's applied perturbation (1 + overshoot)·Σ rᵢ (L2,
    unbounded, as the robustness study measures it); NaN where it never changes the label."""
    if len(x) == 0:
        return []
    steps = deepfool(model, x, overshoot=overshoot, max_iter=max_iter)
    applied = ((1 + overshoot) * steps.total).flatten(1).norm(dim=1).double().cpu()
    applied[steps.unfooled.cpu()] = math.nan
    return applied.tolist()


def bootstrap_median(values: Sequence[float] | np.ndarray, resamples: int, seed: int
                     ) -> tuple[float, float, float]:
    """The median of ``values`` and its 95% percentile bootstrap interval over ``resamples``
    resamples of the values (seeded); NaN for all three with no values."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    medians = np.median(data[rng.integers(0, len(data), size=(resamples, len(data)))], axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(np.median(data)), float(low), float(high)
