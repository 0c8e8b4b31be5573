"""Attacks split a batch that does not fit in memory into chunks: the size comes from one point's
activations (checked against a hand count) and the memory budget, and a chunked deterministic
attack returns exactly the unchunked batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transfer import ModelSpec, train_model
from transfer.mathematics import chunking
from transfer.mathematics.chunking import activation_bytes, points_per_chunk


def test_one_points_activations_are_the_sum_of_its_layer_outputs():
    net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    # input 64, then 32 (linear), 32 (relu), 10 (linear) float32 values
    assert activation_bytes(net, torch.zeros(1, 64)) == (64 + 32 + 32 + 10) * 4


@pytest.fixture
def softmax(registry, digits):
    return train_model(ModelSpec(name="softmax", params={"epochs": 5}), digits,
                       registry=registry, device="cpu")


def test_a_batch_is_attacked_in_chunks_with_the_same_result(registry, digits, softmax,
                                                            monkeypatch):
    x, y = digits.x_test[:30], digits.y_test[:30]
    fgsm, pgd = registry.create("attack", "fgsm"), registry.create("attack", "pgd", steps=3)
    whole = fgsm(softmax, x, y, 0.1, bounds=digits.bounds).x_adv
    whole_pgd = pgd(softmax, x, y, 0.1, bounds=digits.bounds, seed=4).x_adv
    per_point = activation_bytes(softmax.torch_module, x[:1]) * chunking.KEPT_PER_ACTIVATION
    monkeypatch.setattr(chunking, "_measured", {})
    monkeypatch.setattr(chunking, "memory_budget", lambda device: 7 * per_point)
    assert points_per_chunk(softmax, x) == 7
    assert torch.equal(fgsm(softmax, x, y, 0.1, bounds=digits.bounds).x_adv, whole)
    chunked = pgd(softmax, x, y, 0.1, bounds=digits.bounds, seed=4).x_adv
    assert torch.equal(chunked[:7], whole_pgd[:7]), "chunk 0 draws what the whole batch drew"
    assert chunked.shape == whole_pgd.shape and (chunked - x).abs().max() <= 0.1 + 1e-6


def test_small_models_are_never_chunked_and_the_variable_overrides(digits, softmax,
                                                                    monkeypatch):
    assert points_per_chunk(softmax, digits.x_test) == len(digits.x_test)
    monkeypatch.setenv("TRANSFER_CHUNK", "16")
    assert points_per_chunk(softmax, digits.x_test) == 16


def test_deepfool_goes_through_in_chunks_with_each_points_own_steps(digits, softmax,
                                                                     monkeypatch):
    import importlib

    # the module, not the function
    module = importlib.import_module("transfer.mathematics.deepfool")
    x = digits.x_test[:30]
    basis = torch.linalg.qr(torch.randn(30, 64, 5, generator=torch.Generator().manual_seed(0)))[0]
    whole = module.deepfool(softmax, x, bounds=digits.bounds)
    whole_basis = module.deepfool(softmax, x, basis=basis)
    seen: list[int] = []
    gradients = module.class_gradients

    def recorded(model, point, classes=None):
        seen.append(len(point))
        return gradients(model, point, classes)

    monkeypatch.setattr(module, "class_gradients", recorded)
    monkeypatch.setenv("TRANSFER_CHUNK", "7")  # chunks of 7, 7, 7, 7 and 2 points
    for chunked, expected in ((module.deepfool(softmax, x, bounds=digits.bounds), whole),
                              (module.deepfool(softmax, x, basis=basis), whole_basis)):
        assert torch.allclose(chunked.total, expected.total, atol=1e-6)
        assert torch.equal(chunked.iterations, expected.iterations)
        assert torch.equal(chunked.unfooled, expected.unfooled)
    assert seen and max(seen) <= 7 and 2 in seen
