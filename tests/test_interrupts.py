"""Interrupts, crashes, lost servers and runs at the same time, with real processes: `transfer
study run` in a subprocess, real signals, kill -9, and an `mlflow server` killed mid-study. Each
ends in a clear message (never a traceback), nothing left RUNNING, and a rerun that finishes with
the numbers of a clean run."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from transfer import run_study
from transfer.cli.config_files import load_config
from transfer.tracking.cell_runs import CELL_KEY, PARENT
from transfer.tracking.model_runs import MODEL_KEY, MODELS_EXPERIMENT
from transfer.tracking.tracker import Tracker

from .processes import MlflowServer, free_port, transfer_command, wait_for_finished_cells

SLOW_PLUGIN = '''
import time

from transfer import hookimpl
from transfer.plugins.attacks.fgsm import FGSM


class SlowFGSM(FGSM):
    """FGSM that takes a moment, so that a test can interrupt a study mid-way."""

    def __call__(self, model, x, y, eps, *, bounds, seed=0):
        time.sleep(0.4)
        return super().__call__(model, x, y, eps, bounds=bounds, seed=seed)


@hookimpl
def register_attacks(register):
    register("slow-fgsm", SlowFGSM)
'''

CONFIG = '''
study = "transfer-matrix"
models = ["logreg", { name = "softmax", params = { epochs = 10 } }]
attacks = ["slow-fgsm"]
eps = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
n_points = 40
'''


@pytest.fixture
def study_files(tmp_path: Path) -> tuple[Path, Path]:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow.py").write_text(SLOW_PLUGIN)
    config = tmp_path / "study.toml"
    config.write_text(CONFIG)
    return config, plugins


def _start(config: Path, plugins: Path, uri: str) -> subprocess.Popen[str]:
    return transfer_command("study", "run", str(config), "--plugins-dir", str(plugins),
                            "--tracking-uri", uri, "--no-progress")


def _all_runs(client: MlflowClient) -> list:
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(experiments, max_results=5000))


def _clean_results(config: Path, plugins: Path, tmp_path: Path) -> dict:
    clean = run_study(load_config(config), plugins_dir=str(plugins),
                      tracking_uri=f"sqlite:///{tmp_path / 'clean' / 'mlflow.db'}")
    return {cell.key: result for cell, result in clean.results.items()}


def _resumed_state(config, plugins, uri, tmp_path) -> None:
    """A rerun finishes the study with a clean run's numbers and leaves nothing RUNNING."""
    again = run_study(load_config(config), plugins_dir=str(plugins), tracking_uri=uri)
    assert 0 < again.resumed < 12 and not again.failed
    assert {c.key: r for c, r in again.results.items()} == _clean_results(config, plugins,
                                                                           tmp_path)
    client = MlflowClient(uri)
    runs = _all_runs(client)
    assert not [r for r in runs if r.info.status == "RUNNING"]
    assert client.get_run(again.run_id).info.status == "FINISHED"
    cells = [r.data.tags[CELL_KEY] for r in runs
             if r.info.status == "FINISHED" and r.data.tags.get(PARENT) == again.run_id]
    assert sorted(cells) == sorted({c.key for c in again.results}), "every cell logged once"
    assert not client.search_registered_models(), "no lock is left behind"


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_leaves_nothing_running_and_the_rerun_resumes(
    study_files, tmp_path, sent
):
    config, plugins = study_files
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = _start(config, plugins, uri)
    wait_for_finished_cells(uri, 2, process)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted: finished cells are saved" in stderr
    client = MlflowClient(uri)
    parents = [r for r in _all_runs(client) if r.data.tags.get("transfer.role") == "study"]
    assert [p.info.status for p in parents] == ["KILLED"]
    assert not [r for r in _all_runs(client) if r.info.status == "RUNNING"]
    _resumed_state(config, plugins, uri, tmp_path)


def test_after_kill_9_the_next_run_repairs_the_store(study_files, tmp_path):
    config, plugins = study_files
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = _start(config, plugins, uri)
    wait_for_finished_cells(uri, 2, process)
    process.kill()
    process.wait(timeout=30)
    client = MlflowClient(uri)
    (parent,) = [r for r in _all_runs(client) if r.data.tags.get("transfer.role") == "study"]
    assert parent.info.status == "RUNNING" and client.search_registered_models()
    # What a kill during logging leaves: a cell run and a model run (without weights) RUNNING.
    orphan_cell = client.create_run(parent.info.experiment_id, tags={
        PARENT: parent.info.run_id, CELL_KEY: "cut-short", "transfer.role": "cell"}).info.run_id
    model_run = next(r for r in _all_runs(client) if MODEL_KEY in r.data.tags)
    models = client.get_experiment_by_name(MODELS_EXPERIMENT).experiment_id
    orphan_model = client.create_run(models, tags={
        MODEL_KEY: model_run.data.tags[MODEL_KEY], "transfer.role": "model"}).info.run_id
    client.delete_run(model_run.info.run_id)  # so that the model must be logged again

    _resumed_state(config, plugins, uri, tmp_path)
    assert client.get_run(orphan_cell).info.status == "KILLED"
    assert client.get_run(orphan_model).info.status == "KILLED"
    again = [r for r in client.search_runs([models], "attributes.status = 'FINISHED'")
             if r.data.tags[MODEL_KEY] == model_run.data.tags[MODEL_KEY]]
    assert len(again) == 1 and client.list_artifacts(again[0].info.run_id, "model")


@pytest.mark.parametrize("store", ["sqlite", "server"])
def test_the_same_study_started_twice_at_once_runs_once(study_files, tmp_path, store):
    config, plugins = study_files
    server = MlflowServer(tmp_path) if store == "server" else None
    # a store neither has created yet, or a team's server
    uri = server.start() if server else f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    env = {"TRANSFER_CACHE_DIR": str(tmp_path / "fresh-cache")}  # both must train the models
    try:
        processes = [transfer_command("study", "run", str(config), "--plugins-dir",
                                      str(plugins), "--tracking-uri", uri, "--no-progress",
                                      env=env) for _ in range(2)]
        outputs = [p.communicate(timeout=600) for p in processes]
        for process, (_, stderr) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, stderr
        assert any("waiting: this transfer-matrix config in experiment 'transfer-matrix' is held"
                   in err for _, err in outputs)
        client = MlflowClient(uri)
        runs = _all_runs(client)
        parents = [r for r in runs if r.data.tags.get("transfer.role") == "study"]
        assert len(parents) == 1 and parents[0].info.status == "FINISHED"
        cells = [r.data.tags[CELL_KEY] for r in runs if CELL_KEY in r.data.tags]
        assert len(cells) == len(set(cells)) == 12, "6 eps x 2 sources, each logged once"
        model_keys = [r.data.tags[MODEL_KEY] for r in runs if MODEL_KEY in r.data.tags]
        assert len(model_keys) == len(set(model_keys)) == 4
        trained = [p for p in (tmp_path / "fresh-cache" / "models").iterdir() if p.is_dir()]
        assert len(trained) == 4
        assert not client.search_registered_models()
    finally:
        if server:
            server.stop()


def test_a_full_disk_fails_cleanly_and_the_rerun_completes(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    Tracker(uri)  # the store exists; from here on its file may grow by 16 KiB only
    limit = (tmp_path / "mlflow.db").stat().st_size + 16 * 1024
    overrides = ["--set", "n_points=30", "--set", 'models=["logreg", "softmax"]',
                 "--set", 'attacks=["fgsm"]', "--set", "eps=[0.05, 0.1, 0.15, 0.2, 0.25, 0.3]"]

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    first = subprocess.run(
        [sys.executable, "-m", "transfer", "study", "run", "transfer-matrix", "--tracking-uri",
         uri, "--no-progress", *overrides], preexec_fn=full_disk, capture_output=True, text=True)
    assert first.returncode == 1 and "Traceback" not in first.stderr, first.stderr
    assert f"cannot write to the MLflow store {uri}" in first.stderr
    again = transfer_command("study", "run", "transfer-matrix", "--tracking-uri", uri,
                             "--no-progress", *overrides)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    client = MlflowClient(uri)
    runs = _all_runs(client)
    (parent,) = [r for r in runs if r.data.tags.get("transfer.role") == "study"]
    assert parent.info.status == "FINISHED"
    cells = [r.data.tags[CELL_KEY] for r in runs
             if CELL_KEY in r.data.tags and r.info.status == "FINISHED"]
    assert len(cells) == len(set(cells)) == 12
    assert not [r for r in runs if r.info.status == "RUNNING"]
    table = Path(client.download_artifacts(parent.info.run_id, "tables/transfer_matrix.json",
                                           str(tmp_path)))
    pairs = [tuple(row[:4]) for row in json.loads(table.read_text())["data"]]
    assert len(pairs) == len(set(pairs)) == 24, "6 eps x 2 sources x 2 targets, once each"


def test_an_unreachable_server_fails_within_seconds(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    process = transfer_command("study", "run", "transfer-matrix", "--tracking-uri", uri,
                               "--set", "n_points=20", "--no-progress")
    _, stderr = process.communicate(timeout=120)
    elapsed = time.monotonic() - started
    assert process.returncode == 1 and "Traceback" not in stderr
    assert f"cannot reach the MLflow tracking server at {uri}" in stderr
    assert "mlflow server --host 127.0.0.1" in stderr
    assert elapsed < 60, f"took {elapsed:.0f} s"


def test_a_server_that_dies_mid_study_fails_fast_and_the_rerun_resumes(study_files, tmp_path):
    config, plugins = study_files
    server = MlflowServer(tmp_path)
    uri = server.start()
    try:
        process = _start(config, plugins, uri)
        wait_for_finished_cells(uri, 2, process)
        server.kill()
        killed = time.monotonic()
        _, stderr = process.communicate(timeout=120)
        assert time.monotonic() - killed < 60
        assert process.returncode == 1 and "Traceback" not in stderr, stderr
        assert f"cannot reach the MLflow tracking server at {uri}" in stderr
        server.start()
        _resumed_state(config, plugins, uri, tmp_path)
    finally:
        server.stop()


def test_debug_shows_the_traceback(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    process = transfer_command("--debug", "study", "run", "transfer-matrix", "--tracking-uri",
                               uri, "--set", "n_points=20", "--no-progress")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" in stderr and "TrackingUnavailable" in stderr
