"""Images the user already has, in a folder: ``name = "image-folder"``,
``params = { root = "...", size = 224 }``. Two layouts:

- torchvision's ``ImageFolder``: one sub-folder per class (class names: the sub-folders, sorted);
- TransferAttack's: the images plus a ``labels.csv`` with ``filename,label[,targeted_label]`` (the
  images next to it or in ``images/``; labels are class indices, e.g. ImageNet's 0..999, and
  ``classes`` gives their number when the file does not hold the largest). The targeted labels
  become the dataset's ``targets_test``, the targets of an attack with ``target = "dataset"``.

Every image is read with Pillow as RGB (``channels = 1``: grey), its shorter side resized to
``resize`` (default ``size``), center-cropped to ``size`` x ``size``, and scaled to [0, 1]. By
default every image is a test point (a test-only dataset, for models that load their weights);
``train_fraction`` splits off a stratified training set. The sha256 of every file is part of the
dataset's spec, so changed images are new data. Nothing is downloaded.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transfer import DataFilesMissing, Dataset, hookimpl, stratified_split, subsample, user_path

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def _folder(root: str) -> Path:
    folder = user_path(root)
    if not folder.is_dir():
        raise DataFilesMissing(f"dataset image-folder: no folder {folder} (give params.root = a "
                               "folder with one sub-folder per class, or images and labels.csv)")
    return folder.resolve()


def _listing(folder: Path, classes: int | None
             ) -> tuple[list[Path], list[int], tuple[str, ...], list[int] | None]:
    """(image files, labels, class names, target labels or ``None``) of either layout."""
    table = folder / "labels.csv"
    if table.is_file():
        files, labels, targeted = [], [], []
        with table.open(newline="") as stream:
            for row in csv.DictReader(stream):
                if "filename" not in row or "label" not in row:
                    raise ValueError(f"{table}: needs the columns filename,label (got "
                                     f"{', '.join(row)})")
                name = row["filename"]
                found = next((p for p in (folder / name, folder / "images" / name)
                              if p.is_file()), None)
                if found is None:
                    raise DataFilesMissing(f"{table} names {name}, which is neither in {folder} "
                                           f"nor in {folder / 'images'}")
                files.append(found)
                labels.append(int(row["label"]))
                if row.get("targeted_label") not in (None, ""):
                    targeted.append(int(row["targeted_label"]))
        if not files:
            raise ValueError(f"{table} lists no image")
        if targeted and len(targeted) != len(files):
            raise ValueError(f"{table}: targeted_label is given for {len(targeted)} of "
                             f"{len(files)} images; give it for every image or none")
        count = classes or max(labels + targeted) + 1
        if min(labels + targeted) < 0 or max(labels + targeted) >= count:
            raise ValueError(f"{table}: labels and targeted labels must lie in 0..{count - 1} "
                             f"(classes = {count})")
        return files, labels, tuple(str(c) for c in range(count)), targeted or None
    names = tuple(sorted(p.name for p in folder.iterdir() if p.is_dir()))
    files, labels = [], []
    for index, name in enumerate(names):
        for path in sorted((folder / name).rglob("*")):
            if path.suffix.lower() in EXTENSIONS:
                files.append(path)
                labels.append(index)
    if not files:
        raise DataFilesMissing(f"dataset image-folder: {folder} has neither labels.csv nor "
                               f"class sub-folders holding images ({', '.join(EXTENSIONS)})")
    return files, labels, names, None


def _read(path: Path, size: int, resize: int, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB" if channels == 3 else "L")
            width, height = image.size
            scale = resize / min(width, height)
            shape = (max(size, round(width * scale)), max(size, round(height * scale)))
            image = image.resize(shape, Image.Resampling.BILINEAR)
            left, top = (image.size[0] - size) // 2, (image.size[1] - size) // 2
            image = image.crop((left, top, left + size, top + size))
            array = np.asarray(image, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"dataset image-folder: {path} is not a readable image ({error})") \
            from None
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def image_folder(root: str, size: int = 224, resize: int | None = None, channels: int = 3,
                 classes: int | None = None, train_fraction: float = 0.0,
                 limit: int | None = None, seed: int = 0) -> Dataset:
    """The images under ``root`` (relative: under the data root, else the working folder)."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if resize is not None and resize < size:
        raise ValueError(f"resize ({resize}) must be at least size ({size})")
    folder = _folder(root)
    files, labels, names, targeted = _listing(folder, classes)
    y = torch.as_tensor(labels, dtype=torch.int64)
    index = torch.arange(len(files))
    if limit is not None:
        index, y = subsample(index, y, limit, seed)
    digest = hashlib.sha256()
    arrays = []
    for i in index.tolist():
        digest.update(files[i].relative_to(folder).as_posix().encode())
        digest.update(files[i].read_bytes())
        arrays.append(_read(files[i], size, resize or size, channels))
    x = torch.as_tensor(np.stack(arrays))
    if train_fraction > 0:
        train, test = stratified_split(y.numpy(), 1 - train_fraction, seed)
    else:
        train, test = np.zeros(0, dtype=np.int64), np.arange(len(y))
    targets = (None if targeted is None
               else torch.as_tensor(targeted, dtype=torch.int64)[index][test])
    return Dataset(
        name="image-folder", x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
        class_names=names, bounds=(0.0, 1.0), targets_test=targets,
        spec={"name": "image-folder", "root": str(folder), "size": size, "resize": resize,
              "channels": channels, "classes": len(names), "train_fraction": train_fraction,
              "limit": limit, "seed": seed, "sha256": digest.hexdigest()},
    )


@hookimpl
def register_datasets(register: Any) -> None:
    register("image-folder", image_folder)
