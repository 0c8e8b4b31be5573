"""The ``ray`` executor on a real local Ray cluster (``ray.init(num_cpus=2)``): the same numbers
as the ``local`` executor, the declared models trained first as tasks, a worker that dies, and a
user's mistake in the executor's options."""

from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from mlflow import MlflowClient

from transfer import run_study
from transfer.cli.main import cli
from transfer.tracking.cell_runs import CELL_KEY, NOT_APPLICABLE_TAG, PARENT, RESULT_FILE
from transfer.tracking.model_runs import MODEL_KEY, MODELS_EXPERIMENT

from .processes import free_port, transfer_command, wait_for_finished_cells
from .test_interrupts import SLOW_PLUGIN

ray = pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")

CONFIG = {"study": "transfer-matrix", "n_points": 40, "eps": [0.1, 0.2], "attacks": ["fgsm"],
          "models": ["logreg", {"name": "softmax", "params": {"epochs": 10}},
                     {"name": "mlp", "params": {"hidden": [16], "epochs": 5}}]}

DYING_PLUGIN = '''
import os
from pathlib import Path

from transfer import hookimpl
from transfer.plugins.attacks.fgsm import FGSM

MARKER = Path({marker!r})


class DyingFGSM(FGSM):
    """FGSM whose worker process dies the first time it attacks at eps 0.2."""

    def __call__(self, model, x, y, eps, *, bounds, seed=0):
        if eps == 0.2 and not MARKER.exists():
            MARKER.write_text("died once")
            os._exit(1)
        return super().__call__(model, x, y, eps, bounds=bounds, seed=seed)


@hookimpl
def register_attacks(register):
    register("dying-fgsm", DyingFGSM)
'''


@pytest.fixture(scope="module")
def cluster():
    """A real local Ray cluster of 2 CPUs, shared by the tests of this module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _by_key(run):
    return {cell.key: result for cell, result in run.results.items()}


def test_ray_gives_the_local_executors_numbers_and_trains_each_model_once(cluster, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray task does: the same arithmetic, bit for bit
    try:
        local = run_study(CONFIG, tracking_uri=f"sqlite:///{tmp_path / 'local.db'}",
                          cache_dir=str(tmp_path / "local-cache"), device="cpu")
    finally:
        torch.set_num_threads(threads)
    messages: list[str] = []
    uri = f"sqlite:///{tmp_path / 'ray.db'}"
    remote = run_study(CONFIG, tracking_uri=uri, cache_dir=str(tmp_path / "ray-cache"),
                       device="cpu", executor="ray", log=messages.append)
    assert not local.failed and not remote.failed
    assert _by_key(remote) == _by_key(local)
    # six models (3 families x 2 disjoint halves) trained first, as tasks, each once
    assert "training 6 models first, as parallel tasks" in messages
    client = MlflowClient(uri)
    models = client.search_runs([client.get_experiment_by_name(MODELS_EXPERIMENT).experiment_id])
    assert len({r.data.tags[MODEL_KEY] for r in models}) == len(models) == 6
    assert all(client.list_artifacts(r.info.run_id, "model") for r in models)
    assert len([p for p in (tmp_path / "ray-cache" / "models").iterdir() if p.is_dir()]) == 6
    cells = client.search_runs([remote.experiment_id], filter_string=f"tags.`{PARENT}` = "
                                                                     f"'{remote.run_id}'")
    assert sorted(r.data.tags[CELL_KEY] for r in cells) == sorted(_by_key(local))
    again = run_study(CONFIG, tracking_uri=uri, cache_dir=str(tmp_path / "ray-cache"),
                      device="cpu", executor="ray", log=messages.append)
    assert again.resumed == len(local.results) and again.run_id == remote.run_id


def test_a_worker_that_dies_leaves_the_other_cells_and_the_rerun_completes(cluster, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "dying.py").write_text(DYING_PLUGIN.format(marker=str(tmp_path / "died")))
    config = {**CONFIG, "attacks": ["dying-fgsm"]}
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    options = {"plugins_dir": str(plugins), "tracking_uri": uri, "device": "cpu",
               "cache_dir": str(tmp_path / "cache"), "executor": "ray"}
    first = run_study(config, **options, executor_options={"max_retries": 0})
    assert (tmp_path / "died").exists()
    [(cell, error)] = first.failed.items()
    assert cell["eps"] == 0.2 and "Worker" in error  # Ray's report of the lost worker
    client = MlflowClient(uri)
    assert client.get_run(first.run_id).info.status == "FAILED"
    again = run_study(config, **options)
    assert not again.failed and cell in again.results
    assert again.resumed == len(first.results) == len(again.results) - 1
    assert client.get_run(again.run_id).info.status == "FINISHED"


def test_a_lost_worker_is_retried_by_ray(cluster, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "dying.py").write_text(DYING_PLUGIN.format(marker=str(tmp_path / "died")))
    run = run_study({**CONFIG, "attacks": ["dying-fgsm"]}, plugins_dir=str(plugins),
                    tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", device="cpu",
                    cache_dir=str(tmp_path / "cache"), executor="ray")
    assert (tmp_path / "died").exists() and not run.failed
    assert {cell["eps"] for cell in run.results} == {0.1, 0.2}


def test_a_wrong_executor_option_is_a_clear_error(tmp_path: Path):
    out = CliRunner().invoke(cli, ["study", "run", "transfer-matrix", "--executor", "ray",
                                   "--executor-option", "cpus=2", "--tracking-uri",
                                   f"sqlite:///{tmp_path / 'mlflow.db'}"])
    assert out.exit_code != 0 and "Traceback" not in out.output
    assert "--executor-option for ray" in out.output and "cpus" in out.output
    out = CliRunner().invoke(cli, ["study", "run", "transfer-matrix", "--executor", "ray",
                                   "--executor-option", "address", "--tracking-uri",
                                   f"sqlite:///{tmp_path / 'mlflow.db'}"])
    assert out.exit_code != 0 and "--executor-option 'address': expected KEY=VALUE" in out.output



ISSUE_30 = ["--set", "n_points=60", "--set", "eps=[0.1]", "--set",
            'models=["mlp","logreg","knn"]', "--set", 'attacks=["fgsm","noise"]']


def _cells(client: MlflowClient, experiment: str, scratch: Path
           ) -> tuple[dict[str, tuple[dict[str, float], dict]], dict[str, str]]:
    """Per cell key, the metrics of its run and its stored result; and the study's n/a tags."""
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    cells = {}
    for run in runs:
        if CELL_KEY in run.data.tags:
            stored = client.download_artifacts(run.info.run_id, RESULT_FILE, str(scratch))
            cells[run.data.tags[CELL_KEY]] = (run.data.metrics,
                                              json.loads(Path(stored).read_text())["result"])
    (study,) = [r for r in runs if r.data.tags.get("transfer.role") == "study"]
    return cells, {k: v for k, v in study.data.tags.items() if k.startswith(NOT_APPLICABLE_TAG)}


def test_the_same_command_on_ray_and_local_logs_the_same_metrics_in_every_cell(tmp_path):
    """The two commands of issue 30, in one store and model cache, at 2 torch threads each: every
    metric of every cell is equal. An undefined rate (no trials: ``n`` = 0 in the cell's result)
    is NaN in both, and NaN != NaN, which is what made the two look different."""
    env = {"TRANSFER_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "2"}
    for extra in (["--experiment", "local"],
                  ["--experiment", "ray", "--executor", "ray", "--executor-option",
                   "cpus_per_task=2"]):
        process = transfer_command("study", "run", "transfer-matrix", *ISSUE_30, *extra,
                                   "--no-progress", env=env, cwd=tmp_path)
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    local, local_na = _cells(client, "local", tmp_path / "local")
    remote, remote_na = _cells(client, "ray", tmp_path / "ray")
    assert len(local) == 5 and local.keys() == remote.keys()
    assert len(local_na) == 1 and local_na == remote_na, "knn x fgsm: n/a in both"
    undefined = []
    for key, (metrics, result) in local.items():
        assert metrics.keys() == remote[key][0].keys(), key
        assert json.dumps(result, sort_keys=True) == json.dumps(remote[key][1], sort_keys=True)
        for name, value in metrics.items():
            other = remote[key][0][name]
            if math.isnan(value):
                assert math.isnan(other), (key, name, other)
                stem, _, target = name.partition(".")
                stem = stem.removesuffix("_ci_low").removesuffix("_ci_high")
                assert result["targets"][target][stem]["n"] == 0, (key, name)
                undefined.append(name)
            else:
                assert value == other, (key, name, value, other)
    assert undefined, "the noise cells should hold a rate with no trials (the NaN case)"
    # on ray the driver draws each attack's heatmaps while the other cells compute; the files
    # are those the local run draws at its end
    figures = {}
    for experiment in ("local", "ray"):
        (parent,) = client.search_runs(
            [client.get_experiment_by_name(experiment).experiment_id],
            "tags.`transfer.role` = 'study'")
        folder = Path(client.download_artifacts(parent.info.run_id, "figures",
                                                str(tmp_path / experiment)))
        figures[experiment] = {f.name: f.read_bytes() for f in folder.iterdir()}
    assert len(figures["local"]) == 2 and figures["local"] == figures["ray"]


def test_ctrl_c_cancels_the_tasks_marks_the_run_killed_and_the_rerun_resumes(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow.py").write_text(SLOW_PLUGIN.replace("sleep(0.4)", "sleep(1.0)"))
    config = {**CONFIG, "attacks": ["slow-fgsm"], "eps": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]}
    path = tmp_path / "study.yaml"
    path.write_text(json.dumps(config))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = transfer_command("study", "run", str(path), "--plugins-dir", str(plugins),
                               "--tracking-uri", uri, "--no-progress", "--executor", "ray",
                               "--executor-option", "num_cpus=2",
                               env={"TRANSFER_CACHE_DIR": str(tmp_path / "cache")})
    wait_for_finished_cells(uri, 2, process, timeout=400)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted: finished cells are saved" in stderr and "Traceback" not in stderr
    client = MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert not [r for r in runs if r.info.status == "RUNNING"]
    parent = next(r for r in runs if r.data.tags.get("transfer.role") == "study")
    assert parent.info.status == "KILLED"
    again = run_study(config, plugins_dir=str(plugins), tracking_uri=uri, device="cpu",
                      cache_dir=str(tmp_path / "cache"))
    assert not again.failed and again.run_id == parent.info.run_id
    assert 2 <= again.resumed < len(again.results)


def test_an_unreachable_cluster_address_fails_within_seconds(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    process = transfer_command("study", "run", "transfer-matrix", "--set", "n_points=20",
                               "--executor", "ray", "--executor-option", f"address={address}",
                               "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
                               "--no-progress")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in stderr, stderr
    assert f"cannot reach the Ray cluster at '{address}'" in stderr
    assert "ray start --head" in stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "mlflow.db").exists(), "nothing is written before Ray answers"
