"""The black-box substitute (Papernot et al. 2017): it spends exactly the victim queries it
reports and never more than its budget, agrees more with the victim as the rounds go on, is
cached like any model with its queries and agreement on the model's MLflow run, and is a
transfer-matrix source for a decision-only victim."""

from __future__ import annotations

from mlflow import MlflowClient

from transfer import ModelSpec, run_study, train_model

VICTIM = {"name": "random-forest", "params": {"n_estimators": 20}}
MLP = {"name": "mlp", "params": {"epochs": 20}}


def test_the_substitute_counts_its_queries_and_learns_the_victim(registry, digits):
    spec = ModelSpec(name="substitute", params={"victim": VICTIM, "architecture": MLP,
                                                "seed_points": 100, "rounds": 4,
                                                "max_queries": 700})
    model = train_model(spec, digits, registry=registry, device="cpu")
    queries = model.history["queries"]
    # every round labels the new points once: 100, 200, 400, then 700 (800 cut to the budget)
    assert queries == [100, 200, 400, 700]
    assert model.measures()["queries"] == 700 <= spec.params["max_queries"]
    agreement = model.history["agreement"]
    assert agreement[-1] > agreement[0], agreement
    victim = train_model(ModelSpec.model_validate(VICTIM), digits, registry=registry,
                         device="cpu")
    same = (model.predict(digits.x_test) == victim.predict(digits.x_test)).float().mean()
    assert abs(same.item() - agreement[-1]) < 1e-9, "the logged agreement is the real one"
    again = train_model(spec, digits, registry=registry, device="cpu")
    assert again is model or again.history == model.history, "cached with its history"


def test_a_substitute_is_a_transfer_matrix_source(tracking_uri):
    substitute = {"name": "substitute", "label": "substitute(random-forest)",
                  "params": {"victim": VICTIM, "architecture": MLP, "seed_points": 100,
                             "rounds": 3}}
    config = {"study": "transfer-matrix", "models": [substitute, VICTIM, "logreg"],
              "attacks": ["fgsm", "noise"], "eps": [0.2], "n_points": 60}
    run = run_study(config, tracking_uri=tracking_uri)
    cell = next(r for c, r in run.results.items()
                if c["source"] == "substitute(random-forest)" and c["attack"] == "fgsm")
    assert cell.targets["random-forest"].transfer_rate.n > 0
    client = MlflowClient(tracking_uri)
    models = client.search_runs([client.get_experiment_by_name("transfer-models").experiment_id],
                                "tags.`transfer.family` = 'substitute'")
    assert len(models) == 2, "a source on one half of the training set, a target on the other"
    for model in models:
        assert model.data.metrics["queries"] == 100 * 2 ** 2
        assert 0 < model.data.metrics["agreement"] <= 1
