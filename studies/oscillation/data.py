"""The training sets of the oscillation study: the dataset's training labels with a seeded share
corrupted (Belkin et al. 2018 add label noise, so that an interpolating model must fit wrong
labels), then a seeded stratified subset of ``size`` points. The subsets are nested (the one of
200 points contains the one of 100) and a point keeps the same noisy label in every subset, so
the sizes differ only in how many points, and how many wrong labels, the model fits. The
label-noise-0 control (``clean``) takes the very same points with their clean labels."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from transfer import Dataset, subsample


def noisy_labels(y: torch.Tensor, share: float, n_classes: int, seed: int) -> torch.Tensor:
    """``y`` with exactly round(share·n) labels, chosen at random (seeded), replaced by a
    uniformly random *other* class."""
    rng = np.random.default_rng([seed, 2018])
    labels = y.clone()
    flipped = rng.choice(len(y), size=round(share * len(y)), replace=False)
    shift = torch.as_tensor(rng.integers(1, n_classes, size=len(flipped)), dtype=y.dtype)
    labels[flipped] = (labels[flipped] + shift) % n_classes
    return labels


def training_set(data: Dataset, size: int | None, label_noise: float, seed: int, *,
                 clean: bool = False) -> tuple[Dataset, float]:
    """``data`` with noisy training labels, subsampled to ``size`` points (``None``: all), and
    the share of its labels that are wrong; the test set is untouched (clean labels). The subset
    is always drawn on the labels with ``label_noise``, so ``clean`` (the control: label noise
    0) gives the same points, and only their labels differ. The spec names the recipe and the
    sha256 of the resulting training tensors, so the model cache can never confuse two
    training sets."""
    noisy = noisy_labels(data.y_train, label_noise, data.n_classes, seed) if label_noise else \
        data.y_train
    index, y = subsample(torch.arange(len(noisy)), noisy, size, seed)
    if clean:
        y = data.y_train[index]
    x = data.x_train[index]
    digest = hashlib.sha256(x.contiguous().numpy().tobytes())
    digest.update(y.contiguous().numpy().tobytes())
    recipe = {"size": size if size is not None else "all", "label_noise": label_noise,
              "seed": seed, "sha256": digest.hexdigest()}
    if clean:  # the noisy arm's spec stays as it was: its cached models stay found
        recipe = {**recipe, "label_noise": 0.0, "drawn_with_label_noise": label_noise}
    subset = Dataset(name=data.name, x_train=x, y_train=y, x_test=data.x_test,
                     y_test=data.y_test, class_names=data.class_names, bounds=data.bounds,
                     spec={**data.spec, "training_subset": recipe})
    return subset, (y != data.y_train[index]).float().mean().item()
