"""The built-in datasets and the split helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from transfer import Dataset
from transfer.contracts.data import stratified_split


def test_digits_is_the_real_embedded_data(digits):
    reference = load_digits()
    assert digits.input_shape == (1, 8, 8) and digits.n_classes == 10
    assert len(digits.y_train) + len(digits.y_test) == len(reference.target) == 1797
    assert digits.bounds == (0.0, 1.0)
    assert digits.x_train.min() >= 0 and digits.x_train.max() == 1.0
    pixels = np.sort(torch.cat([digits.x_train, digits.x_test]).flatten().numpy())
    np.testing.assert_allclose(pixels, np.sort(reference.images.flatten() / 16), atol=1e-7)


def test_digits_are_read_as_scikit_learn_reads_them():
    from plugins.datasets.digits import load_digits as read_here

    images, labels = read_here()
    reference = load_digits()
    assert np.array_equal(images, reference.images) and images.dtype == reference.images.dtype
    assert np.array_equal(labels, reference.target) and labels.dtype == reference.target.dtype


@pytest.mark.parametrize("size", [4, 16, 32])
def test_digits_resizes(registry, size):
    data = registry.create("dataset", "digits", size=size)
    assert data.input_shape == (1, size, size)
    assert data.x_test.min() >= 0 and data.x_test.max() <= 1
    assert data.spec["size"] == size


def test_split_is_stratified_seeded_and_disjoint():
    labels = np.repeat(np.arange(5), 40)
    train, test = stratified_split(labels, 0.25, seed=1)
    assert set(train).isdisjoint(test) and len(train) + len(test) == 200
    assert np.bincount(labels[test]).tolist() == [10] * 5
    again, _ = stratified_split(labels, 0.25, seed=1)
    other, _ = stratified_split(labels, 0.25, seed=2)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


def test_disjoint_halves(digits):
    a, b = digits.half("a"), digits.half("b")
    assert len(a.y_train) + len(b.y_train) == len(digits.y_train)
    rows = {tuple(r) for r in a.x_train.flatten(1).numpy().round(4)}
    overlap = sum(tuple(r) in rows for r in b.x_train.flatten(1).numpy().round(4))
    assert overlap < 5  # digits has a few duplicate images, never a shared index
    assert a.fingerprint != b.fingerprint != digits.fingerprint
    assert abs(np.bincount(a.y_train) - np.bincount(b.y_train)).max() <= 1


def test_gaussian_mixture(registry):
    data = registry.create("dataset", "gaussian", dim=50, n_classes=3, n_samples=600)
    assert data.input_shape == (50,) and data.n_classes == 3
    assert data.bounds == (-math.inf, math.inf)
    means = torch.stack([data.x_train[data.y_train == c].mean(0) for c in range(3)])
    assert torch.cdist(means, means).fill_diagonal_(math.inf).min() > 2.0


def test_dataset_rejects_bad_input():
    x = torch.zeros(4, 2)
    y = torch.zeros(4, dtype=torch.int64)
    with pytest.raises(TypeError, match="float32"):
        Dataset("bad", x.double(), y, x, y, ("a",), (0.0, 1.0))
    with pytest.raises(ValueError, match="lo < hi"):
        Dataset("bad", x, y, x, y, ("a",), (1.0, 0.0))
