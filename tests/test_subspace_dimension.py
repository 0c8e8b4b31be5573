"""GAAS directions (Tramèr et al. 2017) and the subspace-dimension study."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mlflow import MlflowClient

from transfer import evaluation_points, run_study, train_model
from transfer.studies.subspace_dimension import SubspaceDimension
from transfer.studies.subspace_dimension.gaas import gaas_l2, gaas_linf, regular_hadamard

from .conftest import assert_claims_evaluated


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 2, 3, 8, 31, 64])
def test_l2_directions_are_orthogonal_and_aligned(seed, k):
    generator = torch.Generator().manual_seed(seed)
    dim = 64 + 7 * seed
    grad = torch.randn(6, dim, generator=generator, dtype=torch.float64) * (seed + 0.1)
    eps = 0.5 + seed
    r = gaas_l2(grad, k, eps)
    gram = r @ r.transpose(1, 2)
    np.testing.assert_allclose(gram.numpy(), (eps**2 * torch.eye(k)).expand(6, k, k).numpy(),
                               atol=1e-5 * eps**2)
    projection = (r @ grad.unsqueeze(2)).squeeze(2)
    expected = eps * grad.norm(dim=1, keepdim=True) / math.sqrt(k)
    np.testing.assert_allclose(projection.numpy(), expected.expand(6, k).numpy(), rtol=1e-5)


def test_l2_direction_when_the_gradient_is_already_aligned():
    grad = torch.zeros(1, 16, dtype=torch.float64)
    grad[0, :4] = 1.0
    r = gaas_l2(grad, 4, 1.0)
    assert torch.allclose(r[0], torch.eye(16, dtype=torch.float64)[:4])


@pytest.mark.parametrize("k", [1, 4, 16, 64])
def test_regular_hadamard(k):
    h = regular_hadamard(k)
    assert torch.equal(h @ h.T, k * torch.eye(k, dtype=torch.float64))
    assert torch.equal(h.sum(1), torch.full((k,), math.sqrt(k), dtype=torch.float64))
    with pytest.raises(ValueError, match="1, 4, 16, 64"):
        regular_hadamard(8)


@pytest.mark.parametrize("k", [1, 4, 16])
def test_linf_directions(k):
    generator = torch.Generator().manual_seed(k)
    grad = torch.randn(1, 64, generator=generator, dtype=torch.float64).expand(4000, 64)
    eps = 0.3
    r = gaas_linf(grad, k, eps, generator)
    assert torch.allclose(r.abs(), torch.full_like(r, eps))
    gram = r[:50] @ r[:50].transpose(1, 2)
    assert torch.allclose(gram, (64 * eps**2 * torch.eye(k, dtype=torch.float64)).expand(50, k, k))
    projection = (r @ grad[0]).mean(0)  # over 4000 random block assignments
    expected = eps * grad[0].abs().sum() / math.sqrt(k)
    np.testing.assert_allclose(projection.numpy(), expected.item(), rtol=0.05)


def test_linear_binary_counts_follow_the_closed_form(tracking_uri, registry):
    """Every direction has projection eps‖w‖/√k on w: all k fool the model, or none, exactly when
    eps‖w‖/√k > |f(x)| (docs/science.md, exact results)."""
    dataset = {"name": "gaussian", "params": {"dim": 10, "n_samples": 400, "separation": 2.0}}
    config = {"study": "subspace-dimension", "dataset": dataset, "models": ["logreg"],
              "l2_eps": [1.0, 2.5], "max_k": 8, "n_points": 80, "disjoint": False, "clip": False}
    result = run_study(config, tracking_uri=tracking_uri)
    assert_claims_evaluated(result, SubspaceDimension)
    data = registry.create("dataset", "gaussian", **dataset["params"])
    model = train_model("logreg", data, registry=registry, device="cpu")
    index = evaluation_points(len(data.y_test), 80, 0)
    x, y = data.x_test[index], data.y_test[index]
    x = x[model.predict(x) == y].numpy().astype(np.float64)
    w = model.estimator.coef_[0]
    margin = np.abs(model.estimator.decision_function(x))
    for cell, cell_result in result.results.items():
        for k, measured in zip(cell_result.k, cell_result.adversarial_mean, strict=True):
            expected = np.mean(k * (cell["eps"] * np.linalg.norm(w) / math.sqrt(k) > margin))
            assert measured == pytest.approx(expected), (cell["eps"], k)
        # Tramèr et al.'s count per point: the largest k of the grid whose directions all fool
        fooled = [[k * (cell["eps"] * np.linalg.norm(w) / math.sqrt(k) > f) for k in
                   cell_result.k] for f in margin]
        assert cell_result.found == [max(row) for row in fooled]
    largest = max(result.results, key=lambda c: c["eps"])
    headline = {h.id: m for h, m in result.headlines}["directions-found"]
    assert headline.value == pytest.approx(np.mean(result.results[largest].found))


def test_the_study_end_to_end(tracking_uri):
    config = {"study": "subspace-dimension",
              "models": [{"name": "softmax", "params": {"epochs": 10}}, "knn"],
              "l2_eps": [2.0], "linf_eps": [0.2], "max_k": 16, "n_points": 40}
    result = run_study(config, tracking_uri=tracking_uri)
    statuses = {(c["source"], c["norm"]): type(r).__name__ for c, r in result.results.items()}
    assert statuses == {("softmax", "l2"): "SubspaceResult", ("softmax", "linf"): "SubspaceResult",
                        ("knn", "l2"): "NotApplicable", ("knn", "linf"): "NotApplicable"}
    ok = next(r for c, r in result.results.items()
              if c["norm"] == "l2" and c["source"] == "softmax")
    assert ok.k == [1, 2, 3, 4, 5, 6, 7, 9, 12, 15, 16]
    for t in ("softmax", "knn"):
        assert all(0 <= a <= b + 1e-9
                   for a, b in zip(ok.transferred_mean[t], ok.adversarial_mean, strict=True))
    client = MlflowClient(tracking_uri)
    child = next(r for r in client.search_runs([result.experiment_id])
                 if r.data.params.get("norm") == "l2" and r.data.params.get("source") == "softmax")
    history = client.get_metric_history(child.info.run_id, "adversarial_directions_mean")
    assert sorted(m.step for m in history) == ok.k
    assert {a.path for a in client.list_artifacts(result.run_id, "figures")} == {
        "figures/directions_softmax.png"}
