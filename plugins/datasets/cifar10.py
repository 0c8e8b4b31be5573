"""CIFAR-10 from the files the user already has; nothing is downloaded. Pixels/255 in [0, 1],
shape (3, 32, 32).

Looked for under the data root in ``cifar-10-batches-bin/`` (the binary version: fixed-length
records of one label byte and 3,072 pixel bytes) or else ``cifar-10-batches-py/`` (the python
version). The python batches are pickles: they are read by a restricted unpickler that admits only
what those files hold (a dict of numpy arrays, bytes and a list of labels) and refuses every other
global, so a crafted file cannot run code. A plain ``pickle.load`` is never used.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transfer import DataFilesMissing, Dataset, data_root, hookimpl, subsample

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
RECORD = 1 + 3 * 32 * 32
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Admits only numpy array reconstruction and byte strings."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only arrays and labels"
            )
        return super().find_class(module, name)


def read_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    blob = RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    if not isinstance(blob, dict):
        raise ValueError(f"{path}: a CIFAR-10 batch is a dict, not {type(blob).__name__}")
    data = np.asarray(blob.get(b"data", blob.get("data")), dtype=np.uint8)
    labels = np.asarray(blob.get(b"labels", blob.get("labels")), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != RECORD - 1 or len(labels) != len(data):
        raise ValueError(f"{path}: unexpected CIFAR-10 batch layout {data.shape}")
    return data, labels


def read_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % RECORD:
        raise ValueError(f"{path}: size is not a multiple of the {RECORD}-byte record")
    records = raw.reshape(-1, RECORD)
    return records[:, 1:], records[:, 0].astype(np.int64)


def cifar10(root: str | None = None, limit_train: int | None = None,
            limit_test: int | None = None, seed: int = 0) -> Dataset:
    """CIFAR-10 from the local binary or python batches (pixels/255 in [0, 1])."""
    base = data_root(root)
    layouts = ((base / "cifar-10-batches-bin", ".bin", read_binary_batch),
               (base / "cifar-10-batches-py", "", read_python_batch))
    complete = [layout for layout in layouts
                if all((layout[0] / f"{b}{layout[1]}").is_file() for b in BATCHES)]
    if not complete:
        raise DataFilesMissing(
            f"dataset 'cifar10' needs the binary batches {', '.join(b + '.bin' for b in BATCHES)} "
            f"in {layouts[0][0]}, or the python batches {', '.join(BATCHES)} in {layouts[1][0]}.\n"
            "Set the folder with --data-root, TRANSFER_DATA_ROOT or the dataset's 'root' "
            "parameter; nothing is downloaded."
        )
    folder, suffix, reader = complete[0]
    files = [folder / f"{b}{suffix}" for b in BATCHES]
    parts = [reader(f) for f in files]

    def stack(chunks: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = np.concatenate([c[0] for c in chunks]).reshape(-1, 3, 32, 32)
        return (torch.as_tensor(pixels / 255.0, dtype=torch.float32),
                torch.as_tensor(np.concatenate([c[1] for c in chunks])))

    x_train, y_train = subsample(*stack(parts[:5]), limit_train, seed)
    x_test, y_test = subsample(*stack(parts[5:]), limit_test, seed)
    return Dataset(
        name="cifar10", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        class_names=CLASSES, bounds=(0.0, 1.0),
        spec={"name": "cifar10", "root": str(base.resolve()), "limit_train": limit_train,
              "limit_test": limit_test, "seed": seed},
    )


@hookimpl
def register_datasets(register: Any) -> None:
    register("cifar10", cifar10)
