"""The spectral-alignment study: the singular subspaces and energy shares against independent
computations (scikit-learn's coefficients, NumPy projections, SciPy's law of a coordinate of a
random unit vector), the first layer's matrix against the layer's own weights, and the study end
to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch import nn

from transfer import ModelSpec, deepfool, run_study, train_model
from transfer.studies.shared.singular_subspaces import (
    centred_jacobian_svd,
    energy_shares,
    expected_abs_cosine,
    first_layer_matrix,
    gains,
)
from transfer.studies.spectral_alignment import SpectralAlignment, first_layer_ks

from .conftest import assert_claims_evaluated


def test_a_binary_linear_model_has_w_as_its_top_singular_vector_and_deepfool_follows_it(
        registry, binary):
    model = train_model("logreg", binary, registry=registry, device="cpu")
    x = binary.x_test[:40]
    sigma, vh = centred_jacobian_svd(model, x)
    w = model.estimator.coef_[0].astype(np.float64)
    # the centred logits (−f/2, f/2) have the Jacobian rows ∓w/2: rank 1, σ₁ = ‖w‖/√2
    np.testing.assert_allclose(np.abs(vh[:, 0].numpy() @ w), np.linalg.norm(w), rtol=1e-5)
    np.testing.assert_allclose(sigma[:, 0].numpy(), np.linalg.norm(w) / np.sqrt(2), rtol=1e-5)
    np.testing.assert_allclose(sigma[:, 1].numpy(), 0, atol=1e-6)
    steps = deepfool(model, x)
    assert not steps.unfooled.any()
    shares = energy_shares(vh[:, :1], steps.total)
    np.testing.assert_allclose(shares[:, 0].numpy(), 1, rtol=1e-6)  # cosine 1
    np.testing.assert_allclose(gains(sigma[:, :1], vh[:, :1], steps.total).numpy(), 1,
                               rtol=1e-6)


def test_energy_shares_are_the_squared_norms_of_projections():
    rng = np.random.default_rng(0)
    d, m, n = 12, 5, 7
    basis = np.linalg.qr(rng.standard_normal((d, m)))[0].T  # orthonormal rows
    u = rng.standard_normal((n, d))
    shares = energy_shares(torch.as_tensor(basis), torch.as_tensor(u)).numpy()
    for k in range(1, m + 1):
        coefficients = np.linalg.lstsq(basis[:k].T, u.T, rcond=None)[0]
        projected = (basis[:k].T @ coefficients).T
        np.testing.assert_allclose(shares[:, k - 1], (projected ** 2).sum(1) / (u ** 2).sum(1),
                                   rtol=1e-10)


@pytest.mark.parametrize("d", [2, 3, 10, 64, 784])
def test_the_expected_cosine_of_a_random_direction_is_scipys(d):
    # a coordinate u₁ of a uniform unit vector: (u₁ + 1)/2 ~ Beta((d−1)/2, (d−1)/2)
    law = stats.beta((d - 1) / 2, (d - 1) / 2)
    expected = integrate.quad(lambda t: abs(2 * t - 1) * law.pdf(t), 0, 1, points=[0.5])[0]
    assert expected_abs_cosine(d) == pytest.approx(expected, rel=1e-6)


def test_the_first_layer_matrix_is_the_layers_own_operator():
    torch.manual_seed(0)
    dense = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3))
    name, matrix = first_layer_matrix(dense, torch.rand(4, 3, 4))
    assert name == "Linear"
    np.testing.assert_allclose(matrix.numpy(), dense[1].weight.detach().numpy(), atol=1e-5)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten())
    sample = torch.rand(3, 1, 5, 5)
    name, matrix = first_layer_matrix(conv, sample)
    v = torch.randn(1, 1, 5, 5)
    expected = nn.functional.conv2d(v, conv[0].weight.detach(), padding=1).flatten()
    assert name == "Conv2d" and matrix.shape == (50, 25)
    np.testing.assert_allclose((matrix @ v.flatten().double()).numpy(), expected.numpy(),
                               atol=1e-4)
    reason, none = first_layer_matrix(nn.Sequential(nn.ReLU(), nn.Linear(4, 2)),
                                      torch.rand(2, 4) - 0.5)
    assert none is None and "not an affine map" in reason
    reason, none = first_layer_matrix(dense, torch.rand(1, 3, 4), max_inputs=8)
    assert none is None and "more than 8" in reason


def test_first_layer_ks_double_up_to_the_rank():
    assert first_layer_ks(1) == [1]
    assert first_layer_ks(9) == [1, 2, 4, 8, 9]
    assert first_layer_ks(64) == [1, 2, 4, 8, 16, 32, 64]


def test_the_study_end_to_end(tracking_uri, registry, digits):
    mlp = {"hidden": [32], "epochs": 10}
    config = {"study": "spectral-alignment", "n_points": 40,
              "models": [{"name": "softmax", "params": {"epochs": 10}},
                         {"name": "mlp", "params": mlp}]}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    assert_claims_evaluated(result, SpectralAlignment)
    by_model = {c["model"]: r for c, r in result.results.items()}
    assert set(by_model) == {"softmax", "mlp"}
    mlp_result = by_model["mlp"]
    assert (mlp_result.d, mlp_result.rank, mlp_result.first_layer) == (64, 9, "Linear")
    # the first layer of a 32-unit MLP on 64 inputs has rank 32
    assert mlp_result.first_layer_ks == [1, 2, 4, 8, 16, 32]
    # the softmax model is linear: its Jacobian is its weight matrix centred over the classes
    model = train_model(ModelSpec(name="softmax", params={"epochs": 10}), digits,
                        registry=registry, device="cpu")
    layer = next(m for m in model.torch_module.modules() if isinstance(m, nn.Linear))
    weight = layer.weight.detach().double().numpy()
    centred = weight - weight.mean(axis=0)
    assert by_model["softmax"].sigma[0] == pytest.approx(np.linalg.norm(centred, 2), rel=1e-4)
    for result_ in by_model.values():
        curve = result_.kinds["random"].jacobian_curve
        assert len(curve) == 9 and (np.diff(curve) >= 0).all()
        assert result_.vjps >= result_.vjps_minimum >= 40 * 10
