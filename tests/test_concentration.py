"""The concentration study: the isoperimetric bounds against Monte Carlo distances to known extremal
sets (a spherical cap, a half-space), the nearest-error searches against the closed-form distances
of a cap classifier on the sphere and of a linear model, measured / bound ≈ 1 for a linear model
on Gaussian data, the greedy ball cover against brute-force enumeration on a tiny 2-D set, and the
study end to end."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats

from transfer import ModelSpec, run_study, train_model
from transfer.contracts.validation import ConfigError, validate_config
from transfer.studies.concentration import Concentration
from transfer.studies.concentration.bounds import cap_mean_distance, halfspace_mean_distance
from transfer.studies.concentration.cover import greedy_cover
from transfer.studies.concentration.sphere import nearest_error_on_sphere
from transfer.studies.concentration.synthetic import measure, nearest_error_ambient

from .conftest import assert_claims_evaluated


def uniform_sphere(n: int, d: int, radius: float, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal((n, d))
    return radius * z / np.linalg.norm(z, axis=1, keepdims=True)


@pytest.mark.parametrize(("d", "mu", "radius"), [(3, 0.2, 1.0), (10, 0.05, 1.3), (60, 0.1, 2.0)])
def test_the_cap_bound_is_the_monte_carlo_mean_distance_to_a_cap(d, mu, radius):
    # the cap {x₁ ≥ r·cos θ_c} of measure μ, θ_c from the Beta law of (x₁/r + 1)/2; every point
    # at angle θ > θ_c lies 2r·sin((θ − θ_c)/2) from it (along its meridian)
    x = uniform_sphere(200_000, d, radius, seed=d)
    k = (d - 1) / 2
    theta_cap = math.acos(2 * stats.beta.isf(mu, k, k) - 1)
    theta = np.arccos(np.clip(x[:, 0] / radius, -1, 1))
    assert abs(np.mean(theta <= theta_cap) - mu) < 4 * math.sqrt(mu * (1 - mu) / len(x))
    chord = 2 * radius * np.sin(np.maximum(theta - theta_cap, 0) / 2)
    error = chord.std() / math.sqrt(len(chord))
    assert abs(chord.mean() - cap_mean_distance(mu, d, radius)) < 4 * error


@pytest.mark.parametrize("mu", [0.01, 0.2, 0.6])
def test_the_gaussian_bound_is_the_monte_carlo_mean_distance_to_a_half_space(mu):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((200_000, 7))
    u = rng.standard_normal(7)
    u /= np.linalg.norm(u)
    a = stats.norm.ppf(1 - mu)  # {z: ⟨z, u⟩ ≥ a} has measure μ
    distance = np.maximum(a - z @ u, 0)  # the exact Euclidean distance to the half-space
    error = distance.std() / math.sqrt(len(distance))
    assert abs(distance.mean() - halfspace_mean_distance(mu)) < 4 * error


class CapClassifier:
    """Class 1 (an error for class-0 points) on the cap x₁ ≥ r·cos θ_c of the sphere."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.zeros_like(x[:, 0]), 10 * (x[:, 0] - self.threshold)], dim=1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).argmax(dim=1)


def test_the_search_on_the_sphere_finds_the_closed_form_distance_to_a_cap():
    d, radius, theta_cap = 12, 1.3, 0.5
    model = CapClassifier(radius * math.cos(theta_cap))
    x = torch.as_tensor(uniform_sphere(400, d, radius, seed=2), dtype=torch.float64)
    x = x[model.predict(x) == 0]
    search = nearest_error_on_sphere(model, x, torch.zeros(len(x), dtype=torch.long),
                                     overshoot=0.02, max_iter=50)
    theta = torch.arccos((x[:, 0] / radius).clamp(-1, 1))
    expected = 2 * radius * torch.sin((theta - theta_cap) / 2)
    np.testing.assert_allclose(search.distance.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_a_linear_model_on_gaussian_data_sits_at_the_half_space_bound(registry, binary):
    # a linear model's error set is a half-space, the extremal set: measured / bound ≈ 1
    model = train_model("logreg", binary, registry=registry, device="cpu")
    x = binary.x_test[model.predict(binary.x_test) == binary.y_test]
    w = model.estimator.coef_[0]
    f = model.estimator.decision_function(x.numpy().astype(np.float64))
    search = nearest_error_ambient(model, x, overshoot=0.02, max_iter=50, classes=2)
    np.testing.assert_allclose(search.distance.numpy(), np.abs(f) / np.linalg.norm(w),
                               rtol=1e-3)
    part = measure("gaussian", model, binary, class_index=0, n_fresh=20_000, n_points=400,
                   overshoot=0.02, max_iter=50, device=torch.device("cpu"),
                   generator=torch.Generator().manual_seed(0))
    assert part.means == "regenerated"
    assert part.found.rate == 1.0
    assert part.ratio_low <= 1.0 <= part.ratio_high
    assert abs(part.ratio - 1.0) < 0.1


def brute_force(points: np.ndarray, count: int, balls: int, eps: float) -> int:
    """The fewest points in the eps-expansion of any union of ``balls`` balls centred at the
    points, radii at the pairwise distances, that covers at least ``count`` points."""
    dist = np.linalg.norm(points[:, None] - points[None], axis=2)
    options = [(c, r) for c in range(len(points)) for r in np.unique(dist[c])]
    best = len(points)
    for chosen in itertools.combinations(options, balls):
        covered = np.zeros(len(points), dtype=bool)
        expanded = covered.copy()
        for c, r in chosen:
            covered |= dist[c] <= r
            expanded |= dist[c] <= r + eps
        if covered.sum() >= count:
            best = min(best, int(expanded.sum()))
    return best


@pytest.mark.parametrize("eps", [0.15, 0.4])
def test_the_greedy_cover_against_brute_force_on_a_tiny_set(eps):
    points = np.random.default_rng(3).uniform(0, 1, (11, 2))
    dist = torch.as_tensor(np.linalg.norm(points[:, None] - points[None], axis=2))
    one = greedy_cover(dist, 4, 1, eps)
    # one ball: the greedy tries every centre at its smallest covering radius, so it is optimal
    assert one.expanded == brute_force(points, 4, 1, eps)
    two = greedy_cover(dist, 5, 2, eps)
    covered = np.zeros(len(points), dtype=bool)
    expanded = covered.copy()
    for c, r in zip(two.centres, two.radii, strict=True):
        covered |= np.linalg.norm(points - points[c], axis=1) <= r
        expanded |= np.linalg.norm(points - points[c], axis=1) <= r + eps
    assert (two.covered, two.expanded) == (covered.sum(), expanded.sum())
    assert two.covered >= 5
    # two balls: a feasible union of the brute force's family, so never better than its optimum
    assert two.expanded >= brute_force(points, 5, 2, eps)


def test_the_study_end_to_end(tracking_uri, registry):
    mlp = {"hidden": [32], "epochs": 15, "lr": 0.01, "batch_size": 128}
    config = {"study": "concentration", "n_fresh": 2000, "n_points": 60,
              "synthetic_model": {"name": "mlp", "params": mlp},
              "synthetic": [{"dataset": {"name": "spheres"}, "dims": [4, 8],
                             "samples_per_dim": 20},
                            {"dataset": {"name": "gaussian", "params": {"separation": 2.0}},
                             "dims": [4, 16], "samples_per_dim": 4}],
              "models": [{"name": "mlp", "params": mlp}], "eps": [0.5, 1.0], "balls": 3}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    assert_claims_evaluated(result, Concentration)
    by_cell = {(c["part"], c["data"], c["dim"]) if c["part"] == "synthetic"
               else (c["part"], c["model"], c["eps"]): r for c, r in result.results.items()}
    assert set(by_cell) == {("synthetic", "spheres", 4), ("synthetic", "spheres", 8),
                            ("synthetic", "gaussian", 4), ("synthetic", "gaussian", 16),
                            ("real", "mlp", 0.5), ("real", "mlp", 1.0)}
    # μ on the inner sphere, counted again from the model and the seeded fresh samples
    sphere = by_cell[("synthetic", "spheres", 8)].synthetic
    data = registry.create("dataset", "spheres", dim=8, n_samples=160)
    model = train_model(ModelSpec(name="mlp", params=mlp), data, registry=registry,
                        device="cpu")
    z = torch.randn((2000, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        wrong = model.predict(z / z.norm(dim=1, keepdim=True)) != 0
    assert sphere.error.count == int(wrong.sum())
    assert sphere.bound == pytest.approx(cap_mean_distance(sphere.error.rate, 8, 1.0))
    real = by_cell[("real", "mlp", 1.0)].real
    assert real.concentration.count >= real.coverage.count  # the expansion holds the union
    assert set(result.summary.figures) == {"distance_vs_dimension", "real_data"}
    assert result.summary.key_figure == "distance_vs_dimension"


@pytest.mark.parametrize(("change", "message"), [
    ({"synthetic": [{"dataset": {"name": "laplace"}, "dims": [4]}]},
     r"synthetic\.0: .*dataset\.name: 'laplace'.*spheres, gaussian"),
    ({"class_index": 2}, r"class_index: 2 is not a class of synthetic\.0"),
    ({"models": ["mlp", "decision-tree"]}, r"models\.1: 'decision-tree'.*no gradients"),
    ({"overcover": [1.0, 0.5]}, r"overcover: increasing"),
])
def test_config_mistakes_name_the_field(registry, change, message):
    config = {"study": "concentration", "models": ["mlp"],
              "synthetic": [{"dataset": {"name": "spheres"}, "dims": [4]}], **change}
    with pytest.raises(ConfigError, match=message):
        validate_config(registry, config)
