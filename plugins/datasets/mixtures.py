"""Synthetic class mixtures of any dimension: ``gaussian`` and ``laplace``.

Class means are drawn from N(0, I) and scaled to norm ``separation``; samples are mean + noise,
with standard normal noise (``gaussian``) or Laplace noise of the same variance (``laplace``,
heavier tails). The data are unbounded, so attacks are not clipped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from transfer import Dataset, hookimpl, stratified_split


def mixture(
    noise: str, dim: int, n_classes: int, n_samples: int, separation: float,
    test_fraction: float, seed: int,
) -> Dataset:
    if dim < 1 or n_classes < 2 or n_samples < 2 * n_classes:
        raise ValueError(f"{noise} needs dim >= 1, n_classes >= 2 and n_samples >= 2*n_classes")
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_classes, dim))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    labels = np.arange(n_samples) % n_classes
    if noise == "gaussian":
        draws = rng.standard_normal((n_samples, dim))
    else:
        draws = rng.laplace(scale=1 / math.sqrt(2), size=(n_samples, dim))  # unit variance
    x = torch.as_tensor(means[labels] + draws, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.int64)
    train, test = stratified_split(labels, test_fraction, seed)
    return Dataset(
        name=noise, x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
        class_names=tuple(str(c) for c in range(n_classes)),
        bounds=(-math.inf, math.inf),
        spec={"name": noise, "dim": dim, "n_classes": n_classes, "n_samples": n_samples,
              "separation": separation, "test_fraction": test_fraction, "seed": seed},
    )


def gaussian(
    dim: int = 20, n_classes: int = 2, n_samples: int = 2000, separation: float = 3.0,
    test_fraction: float = 0.25, seed: int = 0,
) -> Dataset:
    """Gaussian class mixture in ``dim`` dimensions (unbounded inputs)."""
    return mixture("gaussian", dim, n_classes, n_samples, separation, test_fraction, seed)


def laplace(
    dim: int = 20, n_classes: int = 2, n_samples: int = 2000, separation: float = 3.0,
    test_fraction: float = 0.25, seed: int = 0,
) -> Dataset:
    """Laplace class mixture in ``dim`` dimensions (unit-variance noise, unbounded inputs)."""
    return mixture("laplace", dim, n_classes, n_samples, separation, test_fraction, seed)


@hookimpl
def register_datasets(register: Any) -> None:
    register("gaussian", gaussian)
    register("laplace", laplace)
