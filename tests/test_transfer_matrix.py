"""The transfer-matrix study end to end against a real SQLite MLflow store."""

from __future__ import annotations

import json

import pytest
import torch
from mlflow import MlflowClient

from transfer import (
    Attack,
    ConfigError,
    Model,
    ModelSpec,
    NotApplicable,
    evaluation_points,
    hookimpl,
    load_registry,
    run_study,
    same_size_noise,
    train_model,
)
from transfer.contracts.results import ResultFormatError, encode
from transfer.studies.transfer_matrix import TransferMatrix
from transfer.tracking.cell_runs import CELL_KEY, NOT_APPLICABLE_TAG, RESULT_FILE

from .conftest import assert_claims_evaluated, tiny_config


def _runs(uri, experiment="transfer-matrix"):
    client = MlflowClient(uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    runs = client.search_runs([experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("transfer.role") == "study"]
    children = [r for r in runs if CELL_KEY in r.data.tags]
    return client, parents, children


def _as_json(run):  # JSON text, so that NaN (an undefined rate) equals NaN
    return json.dumps({c.key: encode(r, 1) for c, r in run.results.items()}, sort_keys=True)


def test_end_to_end_resume_and_records(tracking_uri, monkeypatch):
    config = tiny_config()
    first = run_study(config, tracking_uri=tracking_uri)
    assert_claims_evaluated(first, TransferMatrix)
    n_cells = 3 * 3 * 2
    assert len(first.results) == n_cells and not first.failed and first.resumed == 0

    client, parents, children = _runs(tracking_uri)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    na_tags = {k: v for k, v in parents[0].data.tags.items() if k.startswith(NOT_APPLICABLE_TAG)}
    assert len(children) + len(na_tags) == n_cells
    assert all(c.data.tags["mlflow.parentRunId"] == first.run_id for c in children)
    assert {c.info.status for c in children} == {"FINISHED"}
    artifacts = {a.path for a in client.list_artifacts(first.run_id, "tables")}
    assert {"tables/transfer_matrix.json", "tables/transfer_matrix.csv",
            "tables/models.json"} <= artifacts
    figures = {a.path for a in client.list_artifacts(first.run_id, "figures")}
    assert figures == {f"figures/heatmap_{a}.png" for a in ("fgsm", "pgd", "noise")}, \
        "one figure per attack, its eps side by side"
    assert {"config.json", "environment.json"} <= {
        a.path for a in client.list_artifacts(first.run_id)}

    # decision trees have no gradients: FGSM/PGD cells from them are explained n/a, noise runs;
    # an n/a cell is a tag of the study's run (no child run): the resume reads it from there
    assert not [c for c in children if c.data.tags.get("transfer.status") == "n/a"]
    na = {c.key: r.reason for c, r in first.results.items() if isinstance(r, NotApplicable)}
    assert na_tags == {NOT_APPLICABLE_TAG + key: why for key, why in na.items()}
    assert len(na) == 2 * 2 and all("gradients" in why for why in na.values())
    noise_from_tree = [c for c, r in first.results.items()
                       if c["source"] == "decision-tree" and c["attack"] == "noise"]
    assert len(noise_from_tree) == 2
    assert not any(isinstance(first.results[c], NotApplicable) for c in noise_from_tree)

    # every trained model is one run of the models experiment, linked from the study
    model_runs = parents[0].data.tags["transfer.model_runs"].split(",")
    models_experiment = client.get_experiment_by_name("transfer-models").experiment_id
    recorded = client.search_runs([models_experiment])
    assert len(model_runs) == len(recorded) == 6  # 3 families x 2 disjoint halves
    assert all("clean_accuracy" in r.data.metrics for r in recorded)
    assert all(client.list_artifacts(r.info.run_id, "model") for r in recorded)

    # a second run resumes: no new child runs, no training, identical results
    def no_training(*args, **kwargs):
        raise AssertionError("a resumed study must not train")

    monkeypatch.setattr(Model, "fit", no_training)
    second = run_study(config, tracking_uri=tracking_uri)
    assert second.run_id == first.run_id and second.resumed == n_cells
    assert _as_json(second) == _as_json(first)
    assert len(_runs(tracking_uri)[2]) == n_cells - len(na)


def test_rates_match_an_independent_computation(tracking_uri, registry):
    config = tiny_config(models=["logreg", {"name": "decision-tree", "params": {"max_depth": 8}}],
                         attacks=["fgsm"], eps=[0.2], disjoint=False, n_points=80)
    result = run_study(config, tracking_uri=tracking_uri)
    cell = next(c for c in result.results if c["source"] == "logreg")
    metrics = result.results[cell].metrics()

    data = registry.create("dataset", "digits")

    def model(spec):
        return train_model(spec, data, registry=registry, device="cpu")

    source = model(ModelSpec(name="logreg"))
    tree = model(ModelSpec(name="decision-tree", params={"max_depth": 8}))
    index = evaluation_points(len(data.y_test), 80, 0).numpy()
    x, y = data.x_test[index], data.y_test[index].numpy()
    x_adv = registry.create("attack", "fgsm")(source, x, torch.as_tensor(y), 0.2,
                                              bounds=(0, 1)).x_adv
    flat, flat_adv = x.flatten(1).numpy(), x_adv.flatten(1).numpy()
    right = (source.estimator.predict(flat) == y) & (tree.estimator.predict(flat) == y)
    fooled = tree.estimator.predict(flat_adv) != y
    source_fooled = source.estimator.predict(flat_adv) != y
    assert result.results[cell].targets["decision-tree"].transfer_rate.n == right.sum()
    assert metrics["transfer_rate.decision-tree"] == pytest.approx(fooled[right].mean())
    assert metrics["target_error.decision-tree"] == pytest.approx(fooled.mean())
    both = right & source_fooled
    assert metrics["conditional_transfer.decision-tree"] == pytest.approx(fooled[both].mean())
    # without disjoint halves the diagonal is the white-box success rate
    assert metrics["transfer_rate.logreg"] == pytest.approx(metrics["whitebox_success"])


def test_same_size_noise_matches_each_points_l2_norm_within_the_bounds():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(50, 1, 8, 8) * 0.8 + 0.1  # inside the bounds: no coordinate is clipped
    x[:, :, :2] = 0.0  # two rows of background pixels at the lower bound
    delta = torch.randn(50, 1, 8, 8, generator=generator) * 0.01
    delta[:5] = 0.0  # points the attack did not move
    moved = same_size_noise(x, delta, (0.0, 1.0), torch.Generator().manual_seed(1))
    assert moved.min() >= 0 and moved.max() <= 1
    assert torch.equal(moved[:5], x[:5])
    noise, size = (moved - x).flatten(1), delta.flatten(1).norm(dim=1)
    assert torch.allclose(noise.norm(dim=1), size, atol=1e-6)  # small: nothing clipped
    assert (noise[:, :16] >= 0).all() and (noise[:, :16] > 0).any()  # never out of a bound
    cosine = (noise[5:] * delta.flatten(1)[5:]).sum(1) / (size[5:] * noise[5:].norm(dim=1))
    assert cosine.abs().mean() < 0.3  # a random direction, not the perturbation's
    again = same_size_noise(x, delta, (0.0, 1.0), torch.Generator().manual_seed(1))
    assert torch.equal(moved, again)


def test_a_minimal_attack_is_compared_with_noise_of_its_own_size(tracking_uri):
    """The tree attack moves each point only as far as it needs: its cells also classify each
    point moved by a random direction of the same L2 size; beats-noise reads that control."""
    config = tiny_config(models=["logreg", {"name": "decision-tree", "params": {"max_depth": 8}}],
                         attacks=["fgsm", {"name": "tree", "params": {"norm": "l2"}}, "noise"],
                         eps=[0.3], disjoint=False, n_points=80)
    result = run_study(config, tracking_uri=tracking_uri)
    done = {(c["source"], c["attack"]): r for c, r in result.results.items()
            if not isinstance(r, NotApplicable)}
    tree = done[("decision-tree", "tree")]
    assert {t for t, o in tree.targets.items() if o.matched_noise is not None} == {
        "logreg", "decision-tree"}
    for outcome in tree.targets.values():  # the same points counted on both sides
        assert outcome.matched_noise.n == outcome.transfer_rate.n
        assert [c == "-" for c in outcome.matched_transferred] == [
            c == "-" for c in outcome.transferred]
    assert tree.matched_noise_l2 == pytest.approx(tree.perturbation_l2, rel=0.1)
    assert tree.metrics()["matched_noise_rate.logreg"] == tree.targets["logreg"].matched_noise.rate
    for attack in ("fgsm", "noise"):  # eps-sized attacks keep the noise attack as control
        assert done[("logreg", attack)].matched_noise_l2 is None
        assert all(o.matched_noise is None for o in done[("logreg", attack)].targets.values())
    finding = dict((c.id, f) for c, f in result.claims)["beats-noise"]
    assert "against noise of their own L2 size: tree" in finding.evidence
    assert "left out" not in finding.evidence


def test_failing_cell_is_recorded_and_the_study_goes_on(tracking_uri):
    class Flaky(Attack):
        """Raises at eps = 0.3, perturbs by +eps otherwise."""

        requires = frozenset()
        broken = True

        def __call__(self, model, x, y, eps, *, bounds, seed=0):
            if eps == 0.3 and Flaky.broken:
                raise RuntimeError("boom at eps 0.3")
            return self.finish(x, x + eps, eps, bounds)

    class Plugin:
        @hookimpl
        def register_attacks(self, register):
            register("flaky", Flaky)

    registry = load_registry(extra=[Plugin()])
    config = tiny_config(models=["logreg"], attacks=["flaky"], eps=[0.1, 0.3])
    first = run_study(config, tracking_uri=tracking_uri, registry=registry)
    assert len(first.results) == 1 and len(first.failed) == 1
    (failed_cell, error), = first.failed.items()
    assert failed_cell["eps"] == 0.3 and "boom at eps 0.3" in error

    client, parents, children = _runs(tracking_uri)
    assert parents[0].info.status == "FAILED"
    statuses = {c.data.params["eps"]: c.info.status for c in children}
    assert statuses == {"0.1": "FINISHED", "0.3": "FAILED"}
    bad = next(c for c in children if c.info.status == "FAILED")
    path = client.download_artifacts(bad.info.run_id, "traceback.txt")
    assert "RuntimeError: boom at eps 0.3" in open(path).read()

    Flaky.broken = False
    second = run_study(config, tracking_uri=tracking_uri, registry=registry)
    assert second.resumed == 1 and not second.failed and len(second.results) == 2
    assert _runs(tracking_uri)[1][0].info.status == "FINISHED"


def test_interrupt_marks_runs_killed_and_resumes(tracking_uri):
    class Interrupting(Attack):
        """Simulates Ctrl-C at eps = 0.3."""

        requires = frozenset()
        interrupt = True

        def __call__(self, model, x, y, eps, *, bounds, seed=0):
            if eps == 0.3 and Interrupting.interrupt:
                raise KeyboardInterrupt
            return self.finish(x, x + eps, eps, bounds)

    class Plugin:
        @hookimpl
        def register_attacks(self, register):
            register("ctrl-c", Interrupting)

    registry = load_registry(extra=[Plugin()])
    config = tiny_config(models=["logreg"], attacks=["ctrl-c"], eps=[0.1, 0.3, 0.5])
    with pytest.raises(KeyboardInterrupt):
        run_study(config, tracking_uri=tracking_uri, registry=registry)
    client, parents, children = _runs(tracking_uri)
    assert parents[0].info.status == "KILLED"
    assert [c.data.params["eps"] for c in children] == ["0.1"]
    assert all(r.info.status != "RUNNING" for r in [*parents, *children])

    Interrupting.interrupt = False
    resumed = run_study(config, tracking_uri=tracking_uri, registry=registry)
    assert resumed.resumed == 1 and len(resumed.results) == 3


def test_invalid_configs_name_the_field(tracking_uri):
    with pytest.raises(ConfigError, match="disjoint"):
        run_study(tiny_config(disjoint="sometimes"), tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match="Did you mean.*logreg"):
        run_study(tiny_config(models=["logrec"]), tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match="norm.*'linf' or 'l2'"):
        run_study(tiny_config(attacks=[{"name": "fgsm", "params": {"norm": "l3"}}]),
                  tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match="no parameter 'hiden'.*hidden"):
        run_study(tiny_config(models=[{"name": "mlp", "params": {"hiden": [3]}}]),
                  tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match="sources.*allowed: softmax, logreg"):
        run_study(tiny_config(sources=["mlp"]), tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match="n_points"):
        run_study(tiny_config(n_points=0), tracking_uri=tracking_uri)


def test_typed_results_roundtrip_and_old_formats_say_so(tracking_uri):
    result = run_study(tiny_config(models=["logreg", "knn"], attacks=["fgsm"], eps=[0.1],
                                   n_points=30), tracking_uri=tracking_uri)
    study = TransferMatrix()
    for stored in result.results.values():
        blob = json.loads(json.dumps(encode(stored, study.result_format)))
        assert study.decode(blob) == stored
    ok = next(r for r in result.results.values() if not isinstance(r, NotApplicable))
    assert ok.targets["knn"].transfer_rate.n > 0
    # the flat format written before results were typed
    assert study.decode({"status": "n/a", "reason": "why", "metrics": {}, "data": {}}) == \
        NotApplicable(reason="why")
    with pytest.raises(ResultFormatError, match="format 0.*cannot convert"):
        study.decode({"status": "ok", "reason": "", "metrics": {"a": 1.0}, "data": {}})
    with pytest.raises(ResultFormatError, match="does not match"):
        study.decode({"format": study.result_format, "status": "ok", "result": {"x": 1}})


def test_a_run_holding_an_older_result_format_recomputes_those_cells(tracking_uri):
    config = tiny_config(models=["logreg"], attacks=["fgsm", "noise"], eps=[0.1], n_points=30)
    first = run_study(config, tracking_uri=tracking_uri)
    client = MlflowClient(tracking_uri)
    child = next(r for r in client.search_runs([first.experiment_id])
                 if r.data.params.get("attack") == "fgsm")
    client.log_dict(child.info.run_id, {"status": "ok", "metrics": {}, "data": {}}, RESULT_FILE)
    messages: list[str] = []
    second = run_study(config, tracking_uri=tracking_uri, log=messages.append)
    assert second.run_id == first.run_id and second.resumed == 1
    assert any("cannot read" in m and "format 0" in m for m in messages), messages
    assert _as_json(second) == _as_json(first)
