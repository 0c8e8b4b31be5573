"""MNIST and Fashion-MNIST from the IDX files the user already has (gzipped or not); nothing is
downloaded. Pixels/255 in [0, 1], shape (1, 28, 28) or resampled to ``size``.

Looked for under the data root (``root``, ``--data-root`` or ``TRANSFER_DATA_ROOT``) in
``mnist/`` or ``MNIST/raw/`` (torchvision's layout), and ``fashion-mnist/`` or
``FashionMNIST/raw/``: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transfer import Dataset, data_root, find_files, hookimpl, subsample

STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
FOLDERS = {"mnist": ["mnist", "MNIST/raw"], "fashion-mnist": ["fashion-mnist", "FashionMNIST/raw"]}
CLASSES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
}
DTYPES: dict[int, str] = {
    0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (LeCun's format): zero, zero, type code, rank, big-endian sizes, data."""
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
        raise ValueError(f"{path} is not an IDX file")
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    data: np.ndarray = np.frombuffer(raw, dtype=DTYPES[raw[2]], offset=4 + 4 * rank)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, file holds {data.size} values")
    return data.reshape(shape)


def load_idx_set(
    name: str, root: str | None, size: int, limit_train: int | None, limit_test: int | None,
    seed: int,
) -> Dataset:
    base = data_root(root)
    files = find_files(name, [base / f for f in FOLDERS[name]], STEMS, ("", ".gz"))
    x_train, y_train, x_test, y_test = (read_idx(f) for f in files)

    def images(array: np.ndarray) -> torch.Tensor:
        tensor = torch.as_tensor(array / 255.0, dtype=torch.float32).unsqueeze(1)
        if size != tensor.shape[-1]:
            tensor = torch.nn.functional.interpolate(
                tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            ).clamp(0.0, 1.0)
        return tensor.contiguous()

    labels = lambda a: torch.as_tensor(a.astype(np.int64))  # noqa: E731
    xs, ys = subsample(images(x_train), labels(y_train), limit_train, seed)
    xt, yt = subsample(images(x_test), labels(y_test), limit_test, seed)
    return Dataset(
        name=name, x_train=xs, y_train=ys, x_test=xt, y_test=yt, class_names=CLASSES[name],
        bounds=(0.0, 1.0),
        spec={"name": name, "root": str(base.resolve()), "size": size,
              "limit_train": limit_train, "limit_test": limit_test, "seed": seed},
    )


def mnist(root: str | None = None, size: int = 28, limit_train: int | None = None,
          limit_test: int | None = None, seed: int = 0) -> Dataset:
    """MNIST digits from local IDX files (pixels/255 in [0, 1])."""
    return load_idx_set("mnist", root, size, limit_train, limit_test, seed)


def fashion_mnist(root: str | None = None, size: int = 28, limit_train: int | None = None,
                  limit_test: int | None = None, seed: int = 0) -> Dataset:
    """Fashion-MNIST from local IDX files (pixels/255 in [0, 1])."""
    return load_idx_set("fashion-mnist", root, size, limit_train, limit_test, seed)


@hookimpl
def register_datasets(register: Any) -> None:
    register("mnist", mnist)
    register("fashion-mnist", fashion_mnist)
