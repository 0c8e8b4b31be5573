"""Concentric spheres (Gilmer et al. 2018, "Adversarial spheres"): class 0 uniform on the sphere of
radius 1, class 1 on the sphere of radius 1.3, in any dimension. Unbounded inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from transfer import Dataset, hookimpl, stratified_split


def spheres(
    dim: int = 100, n_samples: int = 2000, inner: float = 1.0, outer: float = 1.3,
    test_fraction: float = 0.25, seed: int = 0,
) -> Dataset:
    """Two concentric spheres of radii ``inner`` and ``outer`` (Gilmer et al. 2018)."""
    if not 0 < inner < outer:
        raise ValueError(f"spheres needs 0 < inner < outer, got {inner} and {outer}")
    rng = np.random.default_rng(seed)
    labels = np.arange(n_samples) % 2
    directions = rng.standard_normal((n_samples, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    x = directions * np.where(labels == 0, inner, outer)[:, None]
    tensor = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.int64)
    train, test = stratified_split(labels, test_fraction, seed)
    return Dataset(
        name="spheres", x_train=tensor[train], y_train=y[train], x_test=tensor[test],
        y_test=y[test], class_names=("inner", "outer"), bounds=(-math.inf, math.inf),
        spec={"name": "spheres", "dim": dim, "n_samples": n_samples, "inner": inner,
              "outer": outer, "test_fraction": test_fraction, "seed": seed},
    )


@hookimpl
def register_datasets(register: Any) -> None:
    register("spheres", spheres)
