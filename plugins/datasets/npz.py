"""Arrays the user already has, in one NumPy ``.npz`` file: ``x_train``, ``y_train``, ``x_test``,
``y_test`` (and optionally ``class_names``), or the test arrays only (a test-only dataset, for
studies whose models all load their weights). Nothing is downloaded, and nothing is unpickled: the
file is read with ``allow_pickle=False``, so an object array is refused instead of run.

``x_*`` are numbers of shape (n, ...) (images as (n, channels, height, width) or (n, height,
width), flat features as (n, d)); ``y_*`` are class indices 0..C-1. ``bounds`` is the valid input
range attacks must respect: given, else [0, 1] when every value lies in it, else the data's own
minimum and maximum. The file's sha256 is part of the dataset's spec, so a changed file is new
data and trains new models.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transfer import DataFilesMissing, Dataset, hookimpl, user_path

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _labels(values: np.ndarray, name: str, path: Path) -> torch.Tensor:
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer) or \
            (len(values) and values.min() < 0):
        raise ValueError(f"{path}: {name} must be a 1-D array of class indices 0..C-1, not "
                         f"{values.dtype} of shape {values.shape}")
    return torch.as_tensor(values.astype(np.int64))


def npz(path: str, bounds: list[float] | None = None) -> Dataset:
    """The arrays of ``path`` (relative paths: under the data root, else the working folder)."""
    file = user_path(path)
    if not file.is_file():
        raise DataFilesMissing(f"dataset npz: no file {file} (give params.path = the .npz file "
                               f"with arrays {', '.join(ARRAYS)})")
    try:
        with np.load(file, allow_pickle=False) as arrays:
            found = {name: arrays[name] for name in arrays.files}
    except ValueError as error:  # an object array, which would need unpickling
        raise ValueError(f"{file}: {error}; store plain numeric arrays") from None
    if "x_train" not in found and "y_train" not in found and "x_test" in found:  # test only
        found["x_train"] = np.zeros((0, *np.shape(found["x_test"])[1:]), dtype=np.float32)
        found["y_train"] = np.zeros(0, dtype=np.int64)
    missing = [name for name in ARRAYS if name not in found]
    if missing:
        raise ValueError(f"{file} has no {', '.join(missing)} (it holds "
                         f"{', '.join(sorted(found)) or 'nothing'}; expected {', '.join(ARRAYS)})")
    x_train, x_test = (np.asarray(found[name], dtype=np.float32) for name in ("x_train", "x_test"))
    y_train, y_test = (_labels(found[name], name, file) for name in ("y_train", "y_test"))
    if x_train.shape[1:] != x_test.shape[1:] or len(x_train) != len(y_train) or \
            len(x_test) != len(y_test):
        raise ValueError(f"{file}: shapes do not match: x_train {x_train.shape}, y_train "
                         f"{tuple(y_train.shape)}, x_test {x_test.shape}, y_test "
                         f"{tuple(y_test.shape)}")
    n_classes = int(torch.cat([y_train, y_test]).max()) + 1
    names = (tuple(str(n) for n in found["class_names"]) if "class_names" in found
             else tuple(str(c) for c in range(n_classes)))
    if len(names) < n_classes:
        raise ValueError(f"{file}: {len(names)} class_names for {n_classes} classes")
    both = np.concatenate([x_train.reshape(-1), x_test.reshape(-1)])
    low, high = float(both.min()), float(both.max())
    if bounds is None:
        bounds = [0.0, 1.0] if 0.0 <= low and high <= 1.0 else [low, high]
    elif len(bounds) != 2 or not bounds[0] <= low or not high <= bounds[1]:
        raise ValueError(f"{file}: bounds {bounds} must be [lo, hi] around the data, which lie "
                         f"in [{low:g}, {high:g}]")
    return Dataset(
        name="npz", x_train=torch.as_tensor(x_train), y_train=y_train,
        x_test=torch.as_tensor(x_test), y_test=y_test, class_names=names,
        bounds=(float(bounds[0]), float(bounds[1])),
        spec={"name": "npz", "path": str(file.resolve()), "bounds": bounds,
              "sha256": hashlib.sha256(file.read_bytes()).hexdigest()},
    )


@hookimpl
def register_datasets(register: Any) -> None:
    register("npz", npz)
