"""Per-layer Lipschitz bounds against exact linear algebra, and the study end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from transfer import NotApplicable, run_study
from transfer.studies.lipschitz import Lipschitz
from transfer.studies.lipschitz.bounds import layer_bounds, linear_operator, power_iteration

from .conftest import assert_claims_evaluated


def dense_matrix(operator, shape):
    """The explicit matrix of a linear map, column by column."""
    size = int(np.prod(shape))
    basis = torch.eye(size, dtype=torch.float64).view(size, *shape)
    return operator(basis).reshape(size, -1).T.numpy()


def test_a_linear_layer_bound_is_its_spectral_norm():
    layer = nn.Linear(20, 7).double()
    rows = layer_bounds(layer, torch.rand(1, 20, dtype=torch.float64))
    assert rows[0].bound == pytest.approx(np.linalg.svd(layer.weight.detach().numpy())[1][0],
                                          rel=1e-12)


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1), (2, 0), (1, 2)])
def test_conv_power_iteration_matches_the_dense_operator(stride, padding):
    torch.manual_seed(stride * 10 + padding)
    conv = nn.Conv2d(2, 3, 3, stride=stride, padding=padding).double()
    shape = (2, 6, 6)
    exact = np.linalg.svd(dense_matrix(linear_operator(conv), shape), compute_uv=False)[0]
    assert power_iteration(linear_operator(conv), shape, iterations=20000) == pytest.approx(
        exact, rel=1e-6)


def test_circular_conv_matches_the_fft_singular_values():
    """Sedghi et al. 2019: the singular values of a circular convolution are those of the
    c_out x c_in matrices of the kernel's 2-D FFT at every frequency."""
    torch.manual_seed(0)
    n = 8
    conv = nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular", bias=False).double()
    kernel = conv.weight.detach().numpy()  # (out, in, 3, 3), cross-correlation
    padded = np.zeros((4, 3, n, n))
    for a in range(3):
        for b in range(3):  # tap (a, b) reads x[i + a - 1, j + b - 1]
            padded[:, :, (1 - a) % n, (1 - b) % n] = kernel[:, :, a, b]
    spectrum = np.fft.fft2(padded, axes=(2, 3))
    fft_max = max(np.linalg.svd(spectrum[:, :, u, v], compute_uv=False)[0]
                  for u in range(n) for v in range(n))
    measured = power_iteration(linear_operator(conv), (3, n, n), iterations=3000)
    assert measured == pytest.approx(fft_max, rel=1e-5)
    exact = np.linalg.svd(dense_matrix(linear_operator(conv), (3, n, n)), compute_uv=False)[0]
    assert fft_max == pytest.approx(exact, rel=1e-9)


def jacobian_norm(net, x):
    jac = torch.autograd.functional.jacobian(lambda v: net(v.unsqueeze(0))[0], x)
    return torch.linalg.matrix_norm(jac.reshape(jac.shape[0], -1), ord=2).item()


@pytest.mark.parametrize("seed", range(4))
def test_bounds_hold_for_random_networks(seed):
    torch.manual_seed(seed)
    nets = [
        nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 5)),
        nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Conv2d(4, 3, 3, stride=2, padding=1),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 5)),
    ]
    nets[1][1].running_var.uniform_(0.2, 2.0)
    for net in nets:
        net = net.double().eval()
        upper = np.prod([r.bound for r in layer_bounds(net, torch.rand(1, 1, 4, 4).double())])
        for x in torch.rand(30, 1, 4, 4, dtype=torch.float64) * 4 - 2:
            assert jacobian_norm(net, x) <= upper * (1 + 1e-9)


def test_an_unknown_layer_is_named_not_taken_as_one():
    net = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    rows = layer_bounds(net, torch.rand(1, 4, dtype=torch.float64))
    assert rows[1].kind == "Tanh" and rows[1].bound == float("inf")
    assert "unsupported" in rows[1].detail


def test_the_study_end_to_end(tracking_uri):
    config = {"study": "lipschitz", "n_points": 30, "pgd_steps": 3, "clever_points": 3,
              "clever_batches": 8, "clever_batch_size": 16,
              "models": [{"name": "softmax", "params": {"epochs": 10}},
                         {"name": "mlp", "params": {"epochs": 5}}, "rbf-net", "knn"]}
    result = run_study(config, tracking_uri=tracking_uri)
    assert_claims_evaluated(result, Lipschitz)
    assert not result.failed
    by_model = {c["model"]: r for c, r in result.results.items()}
    assert isinstance(by_model["knn"], NotApplicable)
    linear = by_model["softmax"].metrics()
    assert linear["L_emp"] == pytest.approx(linear["L_upper"], rel=1e-5)  # exact for one layer
    mlp = by_model["mlp"].metrics()
    assert mlp["L_emp"] <= mlp["L_upper"] and mlp["checks_radius"] > 0
    assert mlp["perturbation_over_radius_min"] >= 1
    assert by_model["rbf-net"].unsupported == ["RBFLayer (RBFLayer)"]
    assert "overview" in result.summary.tables and "layers_mlp" in result.summary.figures
