"""MNIST / Fashion-MNIST / CIFAR-10 loaders on tiny files written in the real formats, the
restricted unpickler, and the synthetic sources."""

from __future__ import annotations

import gzip
import math
import os
import pickle

import numpy as np
import pytest

from transfer import DataFilesMissing

RNG = np.random.default_rng(0)


def write_idx(path, array, compress):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    blob = header + array.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(blob))
    else:
        path.write_bytes(blob)


def make_idx_set(folder, n_train=40, n_test=20, compress=False):
    folder.mkdir(parents=True)
    images = {"train": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "t10k": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)}
    labels = {"train": (np.arange(n_train) % 10).astype(np.uint8),
              "t10k": (np.arange(n_test) % 10).astype(np.uint8)}
    for part in ("train", "t10k"):
        write_idx(folder / f"{part}-images-idx3-ubyte", images[part], compress)
        write_idx(folder / f"{part}-labels-idx1-ubyte", labels[part], compress)
    return images, labels


@pytest.mark.parametrize("name,folder,compress", [
    ("mnist", "mnist", False), ("mnist", "MNIST/raw", True),
    ("fashion-mnist", "fashion-mnist", True),
])
def test_idx_loaders(name, folder, compress, registry, tmp_path):
    images, labels = make_idx_set(tmp_path / folder, compress=compress)
    data = registry.create("dataset", name, root=str(tmp_path))
    assert data.input_shape == (1, 28, 28) and data.n_classes == 10
    np.testing.assert_allclose(data.x_train[:, 0].numpy(), images["train"] / 255.0, atol=1e-7)
    assert data.y_test.tolist() == labels["t10k"].tolist()
    small = registry.create("dataset", name, root=str(tmp_path), size=8, limit_train=20)
    assert small.input_shape == (1, 8, 8) and len(small.y_train) == 20


def test_data_root_from_the_environment(registry, tmp_path, monkeypatch):
    make_idx_set(tmp_path / "mnist")
    monkeypatch.setenv("TRANSFER_DATA_ROOT", str(tmp_path))
    assert len(registry.create("dataset", "mnist").y_train) == 40


def test_missing_files_are_named(registry, tmp_path):
    with pytest.raises(DataFilesMissing) as error:
        registry.create("dataset", "mnist", root=str(tmp_path))
    message = str(error.value)
    assert "train-images-idx3-ubyte" in message and str(tmp_path / "mnist") in message
    with pytest.raises(DataFilesMissing, match="data_batch_1.bin.*cifar-10-batches-py"):
        registry.create("dataset", "cifar10", root=str(tmp_path))


def cifar_batches(n=10):
    return [(RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
             (np.arange(n) % 10).astype(np.int64)) for _ in range(6)]


def test_cifar10_binary_batches(registry, tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    batches = cifar_batches()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (pixels, labels) in zip(names, batches, strict=True):
        records = np.concatenate([labels.astype(np.uint8)[:, None], pixels], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())
    data = registry.create("dataset", "cifar10", root=str(tmp_path))
    assert data.input_shape == (3, 32, 32) and len(data.y_train) == 50
    np.testing.assert_allclose(data.x_test.flatten(1).numpy(), batches[5][0] / 255.0, atol=1e-7)


def test_cifar10_python_batches_through_the_restricted_unpickler(registry, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = cifar_batches()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (pixels, labels) in zip(names, batches, strict=True):
        blob = {b"batch_label": b"x", b"data": pixels, b"labels": labels.tolist(),
                b"filenames": [b"f"] * len(labels)}
        (folder / name).write_bytes(pickle.dumps(blob, protocol=2))
    data = registry.create("dataset", "cifar10", root=str(tmp_path))
    assert data.y_train.tolist() == np.concatenate([b[1] for b in batches[:5]]).tolist()


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_malicious_cifar_pickle_is_refused(registry, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load (posix|os).system"):
        registry.create("dataset", "cifar10", root=str(tmp_path))
    assert not (tmp_path / "pwned.txt").exists()


def test_laplace_mixture_has_unit_variance_noise(registry):
    data = registry.create("dataset", "laplace", dim=5, n_samples=20000, separation=0.0)
    assert data.x_train.var(0).mean().item() == pytest.approx(1.0, rel=0.05)
    kurtosis = ((data.x_train - data.x_train.mean(0)) ** 4).mean(0) / data.x_train.var(0) ** 2
    assert kurtosis.mean().item() == pytest.approx(6.0, rel=0.15)  # Laplace: 6, Gaussian: 3


def test_concentric_spheres(registry):
    data = registry.create("dataset", "spheres", dim=30, n_samples=200)
    radii = data.x_train.norm(dim=1)
    assert np.allclose(radii[data.y_train == 0].numpy(), 1.0, atol=1e-5)
    assert np.allclose(radii[data.y_train == 1].numpy(), 1.3, atol=1e-5)
    assert data.bounds == (-math.inf, math.inf)
