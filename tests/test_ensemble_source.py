"""The ensemble-source study and its ensemble model."""

from __future__ import annotations

import math

import pytest
import torch
from mlflow import MlflowClient

from transfer import ConfigError, ModelSpec, evaluation_points, run_study, train_model
from transfer.studies.ensemble_source import EnsembleSource
from transfer.studies.ensemble_source.combined_model import EnsembleModel

from .conftest import assert_claims_evaluated


@pytest.fixture(scope="module")
def members(registry, digits, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("ensemble-models"))
    specs = [ModelSpec(name="softmax", params={"epochs": 10}), ModelSpec(name="logreg"),
             ModelSpec(name="mlp", params={"epochs": 5})]
    return [train_model(s, digits, registry=registry, cache_dir=cache, device="cpu")
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
    assert torch.equal(alone.x_adv, together.x_adv)


def test_summed_losses_are_the_members_losses(members, digits):
    x, y = digits.x_test[:20], digits.y_test[:20]
    ensemble = EnsembleModel(members[:2], combine="losses")
    expected = sum(0.5 * m.loss(x, y) for m in members[:2])
    assert torch.allclose(ensemble.loss(x, y), expected)


def _rate(fooled, among):
    return (fooled & among).sum().item() / among.sum().item()


def test_the_study_end_to_end(tracking_uri, registry, digits):
    result = run_study(small_config(), tracking_uri=tracking_uri)
    assert not result.failed
    assert_claims_evaluated(result, EnsembleSource)
    findings = {claim.id: finding for claim, finding in result.claims}
    assert math.isfinite(findings["targeted-needs-ensemble"].value)  # fgsm-ll is targeted
    matching = {h.id: m for h, m in result.headlines}["targeted-matching"]
    assert 0 <= matching.value <= 1 and "single sources" in matching.text
    loo = {c: r for c, r in result.results.items() if c["kind"] == "leave-one-out"}
    assert len(loo) == 4 * 2
    for cell, r in loo.items():
        assert "knn" in r.left_out and "gradients" in r.left_out["knn"]
        assert cell["target"] not in r.members
        assert ("ensemble_matching_rate" in r.metrics()) == (cell["attack"] == "fgsm-ll")
    whitebox = [r for c, r in result.results.items() if c["kind"] == "whitebox"]
    assert len(whitebox) == 2 and set(whitebox[0].whitebox) == {"softmax", "logreg", "mlp"}

    # recomputed here, from the models and the attack alone, for the logreg target
    def model(spec, half):
        return train_model(spec, digits.half(half, 0), registry=registry, device="cpu")

    softmax = model(ModelSpec(name="softmax", params={"epochs": 10}), "a")
    mlp = model(ModelSpec(name="mlp", params={"epochs": 5}), "a")
    target = model(ModelSpec(name="logreg"), "b")
    index = evaluation_points(len(digits.y_test), 50, 0)
    x, y = digits.x_test[index], digits.y_test[index]
    fgsm = registry.create("attack", "fgsm")
    ensemble = EnsembleModel([softmax, mlp])
    x_ens = fgsm(ensemble, x, y, 0.2, bounds=digits.bounds, seed=0).x_adv
    target_right = target.predict(x) == y
    expected = _rate(target.predict(x_ens) != y, target_right & (ensemble.predict(x) == y))
    singles = [_rate(target.predict(fgsm(m, x, y, 0.2, bounds=digits.bounds).x_adv) != y,
                     target_right & (m.predict(x) == y)) for m in (softmax, mlp)]
    cell = next(c for c in loo if c["target"] == "logreg" and c["attack"] == "fgsm")
    metrics = loo[cell].metrics()
    assert metrics["ensemble_transfer_rate"] == pytest.approx(expected, abs=1e-12)
    assert metrics["best_single_rate"] == pytest.approx(max(singles), abs=1e-12)
    assert metrics["mean_single_rate"] == pytest.approx(sum(singles) / 2, abs=1e-12)
    client = MlflowClient(tracking_uri)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "tables")}
    assert "tables/ensemble_source.json" in artifacts and "tables/whitebox.json" in artifacts
    figures = {a.path for a in client.list_artifacts(result.run_id, "figures")}
    assert figures == {"figures/bars_fgsm_eps0.2.png", "figures/bars_fgsm-ll_eps0.2.png"}


def test_only_decision_sources_is_a_clear_error(tracking_uri):
    config = small_config(sources=["knn"])
    with pytest.raises(ConfigError, match="no source has gradients"):
        run_study(config, tracking_uri=tracking_uri)
