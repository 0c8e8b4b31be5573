"""Faults injected on purpose, in this process, against a real SQLite store and a real model
cache: each ends in the right results, or in a clear error and a store that a rerun repairs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from transfer import (
    Attack,
    AttackResult,
    Cell,
    ConfigError,
    ModelSpec,
    hookimpl,
    load_registry,
    run_study,
)
from transfer.contracts.attack_checks import AttackOutputError, check_attack_output
from transfer.contracts.executors import Outcome
from transfer.contracts.results import CellResult, NotApplicable, encode
from transfer.tracking.cell_runs import (
    CELL_KEY,
    NOT_APPLICABLE_TAG,
    PARENT,
    REASON_LIMIT,
    RESULT_FILE,
)
from transfer.tracking.tracker import Tracker
from transfer.training.train_model import train_model

from .conftest import tiny_config

BROKEN = {"on": True}


class Flaky(Attack):
    """FGSM that raises while ``BROKEN["on"]`` (a fault that a rerun no longer meets)."""

    def __call__(self, model, x, y, eps, *, bounds, seed=0):
        if BROKEN["on"]:
            raise RuntimeError("injected fault")
        x = x.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model.logits(x), y.to(model.device))
        (grad,) = torch.autograd.grad(loss, x)
        return self.finish(x.detach(), x.detach() + eps * grad.sign(), eps, bounds)


class Sloppy(Attack):
    """Returns what ``mode`` says, without ``finish``: the outputs the checks must refuse."""

    def __init__(self, mode: str = "outside", **params):
        super().__init__(mode=mode, **params)
        self.mode = mode

    def __call__(self, model, x, y, eps, *, bounds, seed=0):
        if self.mode == "outside":
            return AttackResult(x + 3 * eps)
        if self.mode == "nan":
            return AttackResult(torch.full_like(x, float("nan")))
        if self.mode == "shape":
            return AttackResult(x[:, :, :-1])
        return AttackResult((x - 0.5).clamp(min=x - eps))  # below the bounds, inside the ball


class FaultPlugin:
    @hookimpl
    def register_attacks(self, register):
        register("flaky", Flaky)
        register("sloppy", Sloppy)


@pytest.fixture
def faulty_registry():
    return load_registry(extra=[FaultPlugin()])


def _table_rows(client: MlflowClient, run_id: str, name: str, scratch: Path) -> list[list]:
    path = client.download_artifacts(run_id, f"tables/{name}.json", str(scratch))
    return json.loads(Path(path).read_text())["data"]


def _finished_cell_keys(client: MlflowClient, run) -> list[str]:
    children = client.search_runs([run.experiment_id], f"tags.`{PARENT}` = '{run.run_id}'")
    return [c.data.tags[CELL_KEY] for c in children if c.info.status == "FINISHED"]


def test_a_resumed_study_replaces_its_tables(faulty_registry, tracking_uri, tmp_path):
    config = tiny_config(models=["logreg", "softmax"], attacks=["flaky", "fgsm"], eps=[0.2],
                         n_points=40)
    BROKEN["on"] = True
    first = run_study(config, registry=faulty_registry, tracking_uri=tracking_uri)
    assert len(first.failed) == 2 and len(first.results) == 2
    client = MlflowClient(tracking_uri)
    assert client.get_run(first.run_id).info.status == "FAILED"
    BROKEN["on"] = False
    second = run_study(config, registry=faulty_registry, tracking_uri=tracking_uri)
    third = run_study(config, registry=faulty_registry, tracking_uri=tracking_uri)
    assert second.run_id == first.run_id == third.run_id and not second.failed
    assert second.resumed == 2 and third.resumed == 4
    rows = _table_rows(client, first.run_id, "transfer_matrix", tmp_path / "a")
    expected = second.summary.tables["transfer_matrix"].columns
    assert len(rows) == len(next(iter(expected.values()))), "one row per pair, never appended"
    assert len({json.dumps(r) for r in rows}) == len(rows)
    keys = _finished_cell_keys(client, client.get_run(first.run_id).info)
    assert sorted(keys) == sorted({c.key for c in second.results}), "each cell logged once"
    models = _table_rows(client, first.run_id, "models", tmp_path / "b")
    assert len(models) == len({m[2] for m in models}) == 4  # 2 families x 2 disjoint halves
    assert client.get_run(first.run_id).info.status == "FINISHED"


@pytest.mark.parametrize("mode, words", [
    ("outside", ["'sloppy'", "eps-ball", "worst distance 0.6", "> eps 0.2"]),
    ("nan", ["'sloppy'", "non-finite", "nan"]),
    ("shape", ["'sloppy'", "shape (40, 1, 7, 8)", "input of shape (40, 1, 8, 8)"]),
    ("below", ["'sloppy'", "bounds [0, 1]", "worst value -0.2"]),
])
def test_an_attack_that_breaks_its_contract_fails_its_cell(
    faulty_registry, tracking_uri, mode, words
):
    attack = {"name": "sloppy", "params": {"mode": mode}}
    config = tiny_config(models=["logreg"], attacks=[attack], eps=[0.2], n_points=40)
    result = run_study(config, registry=faulty_registry, tracking_uri=tracking_uri)
    assert not result.results and len(result.failed) == 1
    message = next(iter(result.failed.values())).strip().splitlines()[-1]
    assert message.startswith("transfer.contracts.attack_checks.AttackOutputError")
    for word in words:
        assert word in message, message
    client = MlflowClient(tracking_uri)
    child = client.search_runs([result.experiment_id], f"tags.`{PARENT}` = '{result.run_id}'")
    assert child[0].info.status == "FAILED" and not child[0].data.metrics


def test_attack_checks_accept_float_rounding_and_refuse_a_real_excess():
    x = torch.rand(5, 10)
    delta = torch.randn(5, 10)
    on_sphere = x + 0.5 * delta / delta.norm(dim=1, keepdim=True)
    check_attack_output("a", "l2", x, on_sphere, 0.5, None)  # a few ulps past is float noise
    with pytest.raises(AttackOutputError, match=r"l2 eps-ball: worst distance 0.50"):
        check_attack_output("a", "l2", x, x + 0.505 * delta / delta.norm(dim=1, keepdim=True),
                            0.5, None)
    with pytest.raises(AttackOutputError, match="not a tensor"):
        check_attack_output("a", "linf", x, x.numpy(), 0.5, None)


class WithNaN(CellResult):
    rate: float
    other: float

    def metrics(self):
        return {"rate": self.rate, "other": self.other}


def test_nan_metrics_are_logged_as_nan(tracking_uri):
    tracker = Tracker(tracking_uri)
    experiment = tracker.experiment("nan")
    parent, _, _ = tracker.open_study(experiment, "nan", "hash", {})
    result = WithNaN(rate=math.nan, other=0.5)
    outcome = Outcome(Cell.make("nan", model="m"), result, None, [], 1, 2)
    child = tracker.cells.log(experiment, parent, outcome, 1, [])
    metrics = MlflowClient(tracking_uri).get_run(child).data.metrics
    assert math.isnan(metrics["rate"]) and metrics["other"] == 0.5


def test_a_reason_too_long_for_a_tag_is_read_back_whole_from_the_result_file(tracking_uri):
    tracker = Tracker(tracking_uri)
    experiment = tracker.experiment("long")
    parent, _, _ = tracker.open_study(experiment, "long", "hash", {})
    cells = {Cell.make("na", reason="short"): NotApplicable(reason="no gradients"),
             Cell.make("na", reason="long"): NotApplicable(reason="w" * REASON_LIMIT)}
    for cell, result in cells.items():
        tracker.cells.log(experiment, parent, Outcome(cell, result, None, [], 1, 2), 1, [])
    stored = tracker.cells.finished(experiment, parent)
    assert stored == {cell.key: [encode(result, 1)] for cell, result in cells.items()}
    files = {run.data.tags[CELL_KEY]: [a.path for a in tracker.client.list_artifacts(
        run.info.run_id)] for run in tracker.cells.children(experiment, parent)}
    short, long = cells
    assert files == {long.key: [RESULT_FILE]}, "a short reason is a tag of the study's run"
    tags = tracker.client.get_run(parent).data.tags
    assert tags[NOT_APPLICABLE_TAG + short.key] == "no gradients"
    assert NOT_APPLICABLE_TAG + long.key not in tags


def test_a_huge_eps_gives_valid_metric_names(tracking_uri):
    config = tiny_config(models=["logreg"], attacks=["fgsm"], eps=[1e20], n_points=30)
    result = run_study(config, tracking_uri=tracking_uri)
    assert not result.failed
    metrics = MlflowClient(tracking_uri).get_run(result.run_id).data.metrics
    assert metrics["mean_transfer_rate.fgsm.eps1e_20"] == result.summary.metrics[
        "mean_transfer_rate.fgsm.eps1e+20"]


def test_a_corrupt_or_foreign_cache_entry_is_moved_aside_and_retrained(tmp_path, digits, caplog):
    cache, spec = tmp_path / "cache", ModelSpec(name="softmax", params={"epochs": 3})
    expected = train_model(spec, digits, cache_dir=str(cache)).logits(digits.x_test)
    (entry,) = (p for p in (cache / "models").iterdir() if p.is_dir())
    weights = entry / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    again = train_model(spec, digits, cache_dir=str(cache))
    assert torch.equal(again.logits(digits.x_test), expected), "retrained to the same weights"
    assert f"model cache entry {entry} is unusable" in caplog.text
    assert "weights.pt does not match the checksum" in caplog.text
    (aside,) = (cache / "corrupt").iterdir()
    assert aside.name.startswith(entry.name) and (aside / "weights.pt").stat().st_size == 100

    other = train_model(spec, digits, seed=1, cache_dir=str(cache)).logits(digits.x_test)
    assert not torch.equal(other, expected)
    other_entry = next(p for p in (cache / "models").iterdir() if p.is_dir() and p != entry)
    shutil.copy(other_entry / "weights.pt", weights)  # well-formed, of another model
    caplog.clear()
    third = train_model(spec, digits, cache_dir=str(cache))
    assert "weights.pt does not match the checksum" in caplog.text
    assert torch.equal(third.logits(digits.x_test), expected)


def test_a_corrupt_result_artifact_is_computed_again(tracking_uri, tmp_path):
    config = tiny_config(models=["logreg", "softmax"], attacks=["fgsm"], eps=[0.2], n_points=40)
    first = run_study(config, tracking_uri=tracking_uri)
    client = MlflowClient(tracking_uri)
    children = client.search_runs([first.experiment_id], f"tags.`{PARENT}` = '{first.run_id}'")
    victim = children[0]
    artifact = Path(victim.info.artifact_uri.removeprefix("file://")) / RESULT_FILE
    artifact.write_text('{"format": 1, "status": "ok", "res')  # cut mid-write
    client.set_terminated(first.run_id, "FAILED")  # so that the rerun logs its summary again
    again = run_study(config, tracking_uri=tracking_uri)
    assert again.resumed == len(first.results) - 1 and not again.failed
    assert {c.key: r for c, r in again.results.items()} == {
        c.key: r for c, r in first.results.items()}
    rows = _table_rows(client, first.run_id, "transfer_matrix", tmp_path)
    assert len(rows) == 4


def test_values_that_pass_validation_fail_before_any_work(tracking_uri, tmp_path, monkeypatch):
    config = tiny_config(models=["logreg"], attacks=["fgsm"], eps=[0.2])
    with pytest.raises(ConfigError, match="--experiment: a name of at most 500 characters"):
        run_study(config, tracking_uri=tracking_uri, experiment="x" * 501)
    with pytest.raises(ConfigError, match=r"attacks.0.params.steps"):
        run_study(tiny_config(attacks=[{"name": "pgd", "params": {"steps": "ten"}}]),
                  tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match=r"models.0.params.hidden"):
        run_study(tiny_config(models=[{"name": "mlp", "params": {"hidden": "abc"}}]),
                  tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match=r'attacks.0.params.target = "dataset": dataset '
                                          r"\(digits\) names no target class"):
        run_study(tiny_config(attacks=[{"name": "pgd", "params": {"target": "dataset"}}]),
                  tracking_uri=tracking_uri)
    with pytest.raises(ConfigError, match="--device: device 'tpu' is not one of"):
        run_study(config, tracking_uri=tracking_uri, device="tpu")
    monkeypatch.setenv("TRANSFER_DATA_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"(?s)dataset \(mnist\): .*nowhere/mnist"):
        run_study({**config, "dataset": {"name": "mnist"}}, tracking_uri=tracking_uri)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(ConfigError, match=f"the model cache .* {blocked}/models is not writable"):
        run_study(config, tracking_uri=tracking_uri, cache_dir=str(blocked))
    with pytest.raises(ConfigError, match=f"the folder of the MLflow store {blocked} is not"):
        run_study(config, tracking_uri=f"sqlite:///{blocked}/mlflow.db")
    assert not Path(tracking_uri.removeprefix("sqlite:///")).exists(), "no run was created"


def test_more_points_than_the_test_set_are_reported_and_logged(tracking_uri, digits):
    config = tiny_config(models=["logreg"], attacks=["fgsm"], eps=[0.2], n_points=10_000)
    said: list[str] = []
    result = run_study(config, tracking_uri=tracking_uri, log=said.append)
    test_points = len(digits.y_test)
    assert any(f"n_points = 10000 is more than the {test_points} test points" in s
               for s in said), said
    tags = MlflowClient(tracking_uri).get_run(result.run_id).data.tags
    assert tags["transfer.n_points_used"] == str(test_points)


def test_a_plugin_whose_hook_raises_names_its_file(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text(
        "from transfer import hookimpl\n\n@hookimpl\ndef register_models(register):\n"
        "    raise RuntimeError('oops')\n")
    with pytest.raises(Exception, match=rf"plugin file:{folder / 'broken.py'} failed in "
                                        rf"register_models: RuntimeError: oops \(at .*broken.py:5"):
        load_registry(folder)


def test_a_study_leaves_the_callers_garbage_collector_as_it_was(tracking_uri):
    import gc
    import weakref

    class Node:
        pass

    cycle = Node()
    cycle.self = cycle  # garbage once dropped, collectable only by the collector
    alive = weakref.ref(cycle)
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    result = run_study(tiny_config(models=["logreg"], attacks=["fgsm"], eps=[0.1], n_points=20),
                       tracking_uri=tracking_uri)
    assert not result.failed
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == frozen
    del cycle
    gc.collect()  # frozen during the study, collectable again after it
    assert alive() is None
