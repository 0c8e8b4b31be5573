"""Random vs adversarial directions: closed forms on linear models, and the study end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from transfer import (
    ModelSpec,
    NotApplicable,
    deepfool,
    evaluation_points,
    flip_distance,
    random_basis,
    random_signs,
    run_study,
    train_model,
)
from transfer.studies.noise_vs_adversarial import NoiseVsAdversarial
from transfer.studies.noise_vs_adversarial.linearity import r_squared

from .conftest import assert_claims_evaluated


@pytest.fixture(scope="module")
def linear(registry, tmp_path_factory):
    data = registry.create("dataset", "gaussian", dim=100, n_samples=1000, separation=3.0)
    model = train_model("logreg", data, registry=registry, device="cpu",
                        cache_dir=str(tmp_path_factory.mktemp("nva")))
    w = model.estimator.coef_[0]
    f = model.estimator.decision_function(data.x_test.numpy().astype(np.float64))
    return model, data.x_test, w, f


def test_flip_along_a_direction_is_the_closed_form(linear):
    model, x, w, f = linear
    u = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    unit = (u / u.norm(dim=1, keepdim=True)).double().numpy()
    measured = flip_distance(model, x, u, torch.full((len(x),), 1.0)).numpy()
    expected = np.abs(f) / np.abs(unit @ w)
    reachable = expected < 2**11 * 0.99  # 12 rounds: ranges 1, 2, 4, ..., 2**11
    assert reachable.mean() > 0.9
    np.testing.assert_allclose(measured[reachable], expected[reachable], rtol=1e-4)
    assert np.isinf(measured[expected > 2**11 * 1.01]).all()


def test_semi_random_ratio_follows_the_beta_law(linear):
    """‖r_S‖/‖r*‖ = ‖w‖/‖P_S w‖ = 1/√B, B ~ Beta(m/2, (d−m)/2) (Fawzi et al. 2016)."""
    model, x, w, f = linear
    d, m = x.shape[1], 10
    basis = random_basis(len(x), d, m, torch.Generator().manual_seed(2))
    r_subspace = deepfool(model, x, basis=basis, overshoot=0.0).total.norm(dim=1).numpy()
    r_optimal = np.abs(f) / np.linalg.norm(w)
    ratio = r_subspace / r_optimal
    b = ratio ** -2.0
    assert stats.kstest(b, stats.beta(m / 2, (d - m) / 2).cdf).pvalue > 0.01
    assert np.median(ratio) == pytest.approx(math.sqrt(d / m), rel=0.15)


def test_random_basis_is_orthonormal():
    q = random_basis(5, 30, 7, torch.Generator().manual_seed(0))
    assert torch.allclose(q.transpose(1, 2) @ q, torch.eye(7, dtype=torch.float64).expand(5, 7, 7))


def test_random_signs_are_seeded():
    a = random_signs((3, 50), torch.Generator().manual_seed(4))
    b = random_signs((3, 50), torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and set(a.unique().tolist()) == {-1.0, 1.0}
    assert not torch.equal(a, random_signs((3, 50), torch.Generator().manual_seed(5)))


def test_r_squared_matches_numpy():
    generator = torch.Generator().manual_seed(3)
    eps = torch.linspace(-1, 1, 21)
    curves = torch.randn(4, 21, generator=generator) + 2 * eps
    expected = [np.corrcoef(eps.numpy(), c.numpy())[0, 1] ** 2 for c in curves]
    np.testing.assert_allclose(r_squared(curves, eps).numpy(), expected, rtol=1e-5)


def test_the_study_end_to_end(tracking_uri, registry, digits):
    config = {
        "study": "noise-vs-adversarial", "n_points": 40, "eps_steps": 21, "n_random": 2,
        "models": [{"name": "softmax", "params": {"epochs": 10}}, "knn"],
        "subspace_dims": [1, 8],
        "sweep_models": [{"name": "softmax", "params": {"epochs": 10}}],
        "sweep_datasets": [{"name": "digits", "params": {"size": 8}},
                           {"name": "digits", "params": {"size": 16}}],
    }
    result = run_study(config, tracking_uri=tracking_uri)
    assert_claims_evaluated(result, NoiseVsAdversarial)
    assert not result.failed
    by_part = {(c["part"], c["model"], c["data"]): r for c, r in result.results.items()}
    curves = by_part[("curves", "softmax", -1)]
    # a linear model's logits are exactly linear along any direction
    curve_metrics = curves.metrics()
    assert curve_metrics["r2_adversarial"] == pytest.approx(1.0, abs=1e-5)
    points = curves.curves.r2_adversarial_points  # per point: the mean's units
    assert len(points) == curves.curves.points == 40
    assert sum(points) / len(points) == pytest.approx(curves.curves.r2_adversarial, abs=1e-6)
    assert abs(curves.curves.eps[10]) < 1e-7  # 21 steps: the path at eps = 0: the clean error
    assert curve_metrics["clean_error"] == curves.curves.error_adversarial[10]
    assert curve_metrics["slope_ratio"] > 1
    assert curve_metrics["error_adversarial_at_eps_max"] > curve_metrics[
        "error_random_at_eps_max"]
    assert isinstance(by_part[("curves", "knn", -1)], NotApplicable)
    minimal = by_part[("minimal-norm", "softmax", -1)].metrics()
    assert minimal["ratio_median.m1"] > minimal["ratio_median.m8"] > 1
    sweep = [by_part[("sweep", "softmax", i)].metrics() for i in (0, 1)]
    assert sweep[0]["dimension"] == 64 and sweep[1]["dimension"] == 256
    assert set(result.summary.tables) == {"curves", "error_curves", "minimal_norm", "sweep",
                                          "claims", "headlines"}
    assert {"curves_softmax", "minimal_norm", "sweep"} == set(result.summary.figures)

    # Goodfellow et al.'s headline, recomputed in closed form: for softmax regression the loss
    # gradient is Wᵀ(p − e_y); FGSM at eps 0.25, not clipped, over all the points
    softmax = train_model(ModelSpec(name="softmax", params={"epochs": 10}), digits,
                          registry=registry, device="cpu")
    linear = softmax.torch_module[1]
    w, b = linear.weight.double(), linear.bias.double()
    index = evaluation_points(len(digits.y_test), 40, 0)
    x, y = digits.x_test[index].flatten(1).double(), digits.y_test[index]
    p = torch.softmax(x @ w.T + b, dim=1)
    gradient = (p - torch.nn.functional.one_hot(y, 10).double()) @ w
    wrong = ((x + 0.25 * gradient.sign()) @ w.T + b).argmax(1) != y
    headline = {h.id: m for h, m in result.headlines}["fgsm-error-0.25"]
    assert headline.value == pytest.approx(wrong.double().mean().item())
