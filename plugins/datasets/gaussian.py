"""Synthetic Gaussian class mixtures of any dimension.

Class means are drawn from N(0, I) and scaled to ``separation`` times the unit distance, samples are
mean + N(0, I); the data are unbounded, so attacks are not clipped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from transfer import Dataset, hookimpl, stratified_split


def gaussian(
    dim: int = 20,
    n_classes: int = 2,
    n_samples: int = 2000,
    separation: float = 3.0,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Dataset:
    """Gaussian class mixture in ``dim`` dimensions (unbounded inputs)."""
    if dim < 1 or n_classes < 2 or n_samples < 2 * n_classes:
        raise ValueError("gaussian needs dim >= 1, n_classes >= 2 and n_samples >= 2*n_classes")
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_classes, dim))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    labels = np.arange(n_samples) % n_classes
    x = means[labels] + rng.standard_normal((n_samples, dim))
    train, test = stratified_split(labels, test_fraction, seed)
    x_tensor = torch.as_tensor(x, dtype=torch.float32)
    y_tensor = torch.as_tensor(labels, dtype=torch.int64)
    return Dataset(
        name="gaussian",
        x_train=x_tensor[train],
        y_train=y_tensor[train],
        x_test=x_tensor[test],
        y_test=y_tensor[test],
        class_names=tuple(str(c) for c in range(n_classes)),
        bounds=(-math.inf, math.inf),
        spec={"name": "gaussian", "dim": dim, "n_classes": n_classes, "n_samples": n_samples,
              "separation": separation, "test_fraction": test_fraction, "seed": seed},
    )


@hookimpl
def register_datasets(register: Any) -> None:
    register("gaussian", gaussian)
