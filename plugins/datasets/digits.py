"""scikit-learn's embedded digits: 1,797 real 8x8 handwritten digits, no download needed.

Pixels are divided by 16, so inputs lie in ``[0, 1]``; ``size`` resamples the images to any square
size (bilinear, anti-aliased), for dimension sweeps and for networks that want larger inputs.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transfer import Dataset, hookimpl, stratified_split


def digits_file() -> Path:
    """scikit-learn's own copy of the digits (``sklearn/datasets/data/digits.csv.gz``: 64 pixels
    and the label per row), found without importing ``sklearn.datasets`` (about 0.25 s more
    than scikit-learn itself, at every start of a study)."""
    spec = importlib.util.find_spec("sklearn")
    assert spec is not None and spec.submodule_search_locations, "scikit-learn is a dependency"
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 images (8x8, pixels 0-16) and labels, read as ``sklearn.datasets.load_digits``
    reads them."""
    with gzip.open(digits_file(), "rt") as rows:
        data = np.loadtxt(rows, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int, copy=False)


def digits(size: int = 8, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn digits (pixels/16 in [0, 1]), seeded stratified split, any square size."""
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, not {size}")
    pixels, target = load_digits()
    images = torch.as_tensor(pixels / 16.0, dtype=torch.float32).unsqueeze(1)
    if size != 8:
        images = torch.nn.functional.interpolate(
            images, size=(size, size), mode="bilinear", antialias=size < 8, align_corners=False
        ).clamp(0.0, 1.0)
    labels = torch.as_tensor(target, dtype=torch.int64)
    train, test = stratified_split(target, test_fraction, seed)
    return Dataset(
        name="digits",
        x_train=images[train].contiguous(),
        y_train=labels[train],
        x_test=images[test].contiguous(),
        y_test=labels[test],
        class_names=tuple(str(d) for d in range(10)),
        bounds=(0.0, 1.0),
        spec={"name": "digits", "size": size, "test_fraction": test_fraction, "seed": seed},
    )


@hookimpl
def register_datasets(register: Any) -> None:
    register("digits", digits)
