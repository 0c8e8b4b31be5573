"""The ensemble-source study and its ensemble model."""

from __future__ import annotations

import pytest
import torch
from mlflow import MlflowClient

from transfer import ModelSpec, run_study
from transfer.context import ModelCache
from transfer.runner import ConfigError
from transfer.studies.ensemble_source import EnsembleModel

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def members(registry, digits, tmp_path_factory):
    cache = ModelCache(tmp_path_factory.mktemp("ensemble-models"))
    specs = [ModelSpec(name="softmax", params={"epochs": 10}), ModelSpec(name="logreg"),
             ModelSpec(name="mlp", params={"epochs": 5})]
    return [cache.get(s, registry.create("model", s.name, **s.params), digits, 0, CPU)[0]
            for s in specs]


def small_config(**overrides):
    config = {
        "study": "ensemble-source",
        "models": [{"name": "softmax", "params": {"epochs": 10}}, "logreg",
                   {"name": "mlp", "params": {"epochs": 5}}, "knn"],
        "attacks": ["fgsm", {"name": "fgsm", "label": "fgsm-ll",
                             "params": {"target": "least-likely"}}],
        "eps": [0.2],
        "n_points": 50,
    }
    config.update(overrides)
    return config


def test_ensemble_logits_are_the_mean_of_the_members(members, digits):
    x = digits.x_test[:30]
    ensemble = EnsembleModel(members)
    mean = torch.stack([m.logits(x) for m in members]).mean(0)
    assert torch.allclose(ensemble.logits(x), mean, atol=1e-5)
    weighted = EnsembleModel(members[:2], weights=[3, 1])
    expected = 0.75 * members[0].logits(x) + 0.25 * members[1].logits(x)
    assert torch.allclose(weighted.logits(x), expected, atol=1e-5)
    probabilities = EnsembleModel(members, combine="probabilities").logits(x).exp()
    assert torch.allclose(probabilities,
                          torch.stack([m.logits(x).softmax(1) for m in members]).mean(0), atol=1e-5)


@pytest.mark.parametrize("combine", ["logits", "losses"])
@pytest.mark.parametrize("name", ["fgsm", "pgd", "mifgsm"])
def test_an_ensemble_of_one_is_the_model_itself(combine, name, registry, members, digits):
    x, y = digits.x_test[:100], digits.y_test[:100]
    attack = registry.create("attack", name)
    alone = attack(members[2], x, y, 0.1, bounds=(0, 1), seed=3)
    together = attack(EnsembleModel([members[2]], combine=combine), x, y, 0.1, bounds=(0, 1),
                      seed=3)
    assert torch.equal(alone, together)


def test_summed_losses_are_the_members_losses(members, digits):
    x, y = digits.x_test[:20], digits.y_test[:20]
    ensemble = EnsembleModel(members[:2], combine="losses")
    expected = sum(0.5 * m.loss(x, y) for m in members[:2])
    assert torch.allclose(ensemble.loss(x, y), expected)


def test_the_study_end_to_end(tracking_uri):
    result = run_study(small_config(), tracking_uri=tracking_uri)
    assert not result.failed
    loo = {c: r for c, r in result.results.items() if c["kind"] == "leave-one-out"}
    assert len(loo) == 4 * 2
    for cell, r in loo.items():
        assert r.status == "ok"
        assert "knn" in r.data["left_out"] and "gradients" in r.data["left_out"]["knn"]
        assert cell["target"] not in r.data["members"]
        singles = [s["rate"] for s in r.data["singles"].values() if s["n"]]
        assert r.metrics["best_single_rate"] == max(singles)
        assert r.metrics["mean_single_rate"] == pytest.approx(sum(singles) / len(singles))
        assert ("ensemble_matching_rate" in r.metrics) == (cell["attack"] == "fgsm-ll")
    whitebox = [r for c, r in result.results.items() if c["kind"] == "whitebox"]
    assert len(whitebox) == 2 and set(whitebox[0].data["whitebox"]) == {"softmax", "logreg", "mlp"}
    client = MlflowClient(tracking_uri)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "tables")}
    assert "tables/ensemble_source.json" in artifacts and "tables/whitebox.json" in artifacts
    figures = {a.path for a in client.list_artifacts(result.run_id, "figures")}
    assert figures == {"figures/bars_fgsm_eps0.2.png", "figures/bars_fgsm-ll_eps0.2.png"}


def test_only_decision_sources_is_a_clear_error(tracking_uri):
    config = small_config(sources=["knn"])
    with pytest.raises(ConfigError, match="no source has gradients"):
        run_study(config, tracking_uri=tracking_uri)
