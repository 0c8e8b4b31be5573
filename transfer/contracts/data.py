"""The dataset contract: float32 tensors in the model's input space, with the valid input range."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test tensors of one data source.

    ``x_*`` are float32 of shape ``(n, *input_shape)``, ``y_*`` int64 class indices, and ``bounds``
    the valid input range ``(lo, hi)`` that every attack must respect. ``targets_test``, when the
    data name one, is the target class of each test point for targeted attacks
    (``target = "dataset"``; TransferAttack's ``targeted_label``). ``spec`` names the data
    exactly (source and parameters); it is part of every trained model's cache key.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    bounds: tuple[float, float]
    spec: dict[str, Any] = field(default_factory=dict)
    targets_test: torch.Tensor | None = None  # a target class per test point, or none

    def __post_init__(self) -> None:
        for part in ("x_train", "x_test"):
            tensor = getattr(self, part)
            if tensor.dtype != torch.float32:
                raise TypeError(
                    f"dataset {self.name!r}: {part} must be float32, not {tensor.dtype}"
                )
        lo, hi = self.bounds
        if not lo < hi:
            raise ValueError(
                f"dataset {self.name!r}: bounds must satisfy lo < hi, got {self.bounds}"
            )

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def targets_of(self, index: torch.Tensor) -> torch.Tensor | None:
        """The target classes of the test points ``index`` (``targets_test``), or ``None``."""
        return None if self.targets_test is None else self.targets_test[index]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def fingerprint(self) -> str:
        """A stable hash of the spec: equal specs mean equal data."""
        blob = json.dumps(self.spec, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def half(self, part: str, seed: int = 0) -> Dataset:
        """One of two disjoint, stratified halves of the training set (Papernot et al. 2016).

        ``part`` is ``"a"`` or ``"b"``; the test set is shared.
        """
        if part not in ("a", "b"):
            raise ValueError(f"part must be 'a' or 'b', not {part!r}")
        mask = stratified_halves(self.y_train.numpy(), seed)
        keep = torch.from_numpy(mask if part == "a" else ~mask)
        return Dataset(
            name=self.name,
            x_train=self.x_train[keep],
            y_train=self.y_train[keep],
            x_test=self.x_test,
            y_test=self.y_test,
            class_names=self.class_names,
            bounds=self.bounds,
            spec={**self.spec, "half": part, "half_seed": seed},
            targets_test=self.targets_test,
        )


def stratified_halves(labels: np.ndarray, seed: int) -> np.ndarray:
    """A boolean mask selecting half of each class (seeded); its complement is the other half."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        index = np.flatnonzero(labels == label)
        rng.shuffle(index)
        mask[index[: len(index) // 2]] = True
    return mask


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified train/test index split."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        index = np.flatnonzero(labels == label)
        rng.shuffle(index)
        n_test = max(1, round(len(index) * test_fraction))
        test.append(index[:n_test])
        train.append(index[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


class DataFilesMissing(FileNotFoundError):
    """A dataset's files are not where they are expected; the message names them."""


def data_root(root: str | None = None) -> Path:
    """Where datasets read their files: ``root``, else ``TRANSFER_DATA_ROOT``, else ``./data``."""
    return Path(root or os.environ.get("TRANSFER_DATA_ROOT") or "data").expanduser()


def user_path(path: str | Path) -> Path:
    """A path the user named: as given (``~`` expanded), or under the data root when it is
    relative, missing here and present there."""
    given = Path(path).expanduser()
    if not given.is_absolute() and not given.exists() and (data_root() / given).exists():
        return data_root() / given
    return given


def find_files(
    name: str, folders: list[Path], stems: list[str], suffixes: tuple[str, ...]
) -> list[Path]:
    """The first folder holding every stem (with any of the suffixes); else a clear error."""
    for folder in folders:
        found = []
        for stem in stems:
            match = next((folder / f"{stem}{s}" for s in suffixes
                          if (folder / f"{stem}{s}").is_file()), None)
            if match is None:
                break
            found.append(match)
        else:
            return found
    where = "\n  ".join(str(f) for f in folders)
    raise DataFilesMissing(
        f"dataset {name!r} needs the files {', '.join(stems)} (optionally ending in "
        f"{' or '.join(s for s in suffixes if s)}) in one of:\n  {where}\n"
        "Set the folder with --data-root, TRANSFER_DATA_ROOT or the dataset's 'root' parameter; "
        "nothing is downloaded."
    )


def subsample(
    x: torch.Tensor, y: torch.Tensor, limit: int | None, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded stratified subset of at most ``limit`` points (all of them when ``None``)."""
    if limit is None or limit >= len(y):
        return x, y
    keep, _ = stratified_split(y.numpy(), 1 - limit / len(y), seed)
    return x[keep], y[keep]


def evaluation_points(n_test: int, n_points: int, seed: int) -> torch.Tensor:
    """The fixed, seeded sample of test-point indices every cell of a study evaluates."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(n_test, size=min(n_points, n_test), replace=False)
    return torch.as_tensor(np.sort(chosen))
