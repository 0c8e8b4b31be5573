"""Results people can read: every default study's terminal summary fits 100 columns without
cutting a number or a name, `study show` prints the stored rates, and the MLflow UI (a real
`mlflow ui` in real headless Chromium) opens the study on its runs, description and key figure."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from rich.console import Console

from transfer import ModelSpec, load_registry, run_study, train_model
from transfer.cli.config_files import read_default_config
from transfer.cli.main import cli
from transfer.presentation.terminal import ProgressBar, print_summary
from transfer.tracking.cell_runs import CELL_KEY, NOT_APPLICABLE_TAG, PARENT
from transfer.training.progress import listening

from .browser import browse
from .conftest import tiny_config
from .processes import free_port

STUDIES = ["transfer-matrix", "ensemble-source", "subspace-dimension", "noise-vs-adversarial",
           "lipschitz"]


@pytest.mark.parametrize("name", STUDIES)
def test_every_default_summary_fits_100_columns(name, tracking_uri):
    config = read_default_config(load_registry().get("study", name), ["n_points=20"])
    result = run_study(config, tracking_uri=tracking_uri)
    assert not result.failed
    for terminal in (False, True):  # a pipe or CI log, and a 100-column terminal
        buffer = io.StringIO()
        out = Console(file=buffer, width=100, force_terminal=terminal, color_system=None)
        print_summary(out, result.summary.terminal, result.summary.notes)
        lines = buffer.getvalue().splitlines()
        assert len(lines) > 5
        widest = max(lines, key=len)
        assert len(widest) <= 100, widest
        assert not [line for line in lines if "…" in line]
        framed = [line for line in lines if any(c in line for c in "─┃│┏━")]
        assert bool(framed) == terminal, "box drawing on a terminal only"
        text = buffer.getvalue()
        for table in result.summary.terminal:  # no header, number or name cut short
            for header, values in table.columns.items():
                assert header in text, header
                assert all(str(v) in text for v in values if len(str(v)) <= 24), header


def test_study_show_prints_the_stored_rates(tracking_uri, tmp_path):
    config = tiny_config(models=["logreg", "softmax", "decision-tree"], attacks=["fgsm"],
                         eps=[0.2], n_points=40)
    run = run_study(config, tracking_uri=tracking_uri)
    client = MlflowClient(tracking_uri)
    stored = json.loads(Path(client.download_artifacts(
        run.run_id, "tables/transfer_matrix.json", str(tmp_path))).read_text())
    column = {name: i for i, name in enumerate(stored["columns"])}
    rows = [r for r in stored["data"] if r[column["status"]] == "ok"]
    assert len(rows) == 6  # 2 sources with gradients x 3 targets

    runner = CliRunner()
    shown = {}
    for reference in (run.run_id, run.run_id[:6], "transfer-matrix"):
        result = runner.invoke(cli, ["study", "show", reference, "--tracking-uri", tracking_uri])
        assert result.exit_code == 0, result.output
        shown[reference] = result.output
    assert len(set(shown.values())) == 1, "an ID, its prefix and the study name: the same run"
    output = shown[run.run_id]
    for row in rows:
        rate, low, high = (row[column[k]] for k in ("transfer_rate", "transfer_rate_ci_low",
                                                    "transfer_rate_ci_high"))
        assert f"{100 * rate:.1f}% [{100 * low:.1f}, {100 * high:.1f}]" in output
    assert "0.0533333" not in output and "transfer.model_runs" not in output
    verbose = runner.invoke(cli, ["study", "show", run.run_id[:6], "--verbose",
                                  "--tracking-uri", tracking_uri])
    assert "transfer.model_runs" in verbose.output and "transfer_rate_count" in verbose.output
    missing = runner.invoke(cli, ["study", "show", "nope", "--tracking-uri", tracking_uri])
    assert missing.exit_code == 1 and "studies with runs here: transfer-matrix" in missing.output
    assert max(len(line) for line in output.splitlines()) <= 100


def test_the_mlflow_ui_shows_runs_description_datasets_and_key_figure(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = tiny_config(models=["logreg", "softmax", "decision-tree"], attacks=["fgsm", "noise"],
                         eps=[0.2], n_points=40)
    run = run_study(config, tracking_uri=uri)
    assert run_study(config, tracking_uri=uri).resumed == len(run.results)
    client = MlflowClient(uri)
    assert "**Key figure**" in client.get_run(run.run_id).data.tags["mlflow.note.content"], \
        "re-running a finished study keeps its description and key figure"
    experiment = client.get_experiment(run.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    parent = client.get_run(run.run_id)
    children = client.search_runs([run.experiment_id], f"tags.`{PARENT}` = '{run.run_id}'")
    for each in [parent, *children]:
        names = {d.dataset.name for d in each.inputs.dataset_inputs}
        assert names == {"digits-train", "digits-test"}, each.info.run_name
    # the n/a cell (FGSM on the tree) used no data: it is a tag of the study's run, no child run
    assert len(children) == len(run.results) - 1
    assert sum(k.startswith(NOT_APPLICABLE_TAG) for k in parent.data.tags) == 1
    assert all({"source", "attack", "eps"} <= set(c.data.tags) for c in children)
    assert all(CELL_KEY in c.data.tags for c in children)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
         "--port", str(port), "--artifacts-destination", str(tmp_path / "mlartifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    try:
        address = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{address}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        runs, _ = browse(f"{address}/#/experiments/{run.experiment_id}/runs"
                         f"?workflowType=machine_learning", "mlflow-runs")
        assert parent.info.run_name in runs and "digits-train" in runs
        page, _ = browse(f"{address}/#/experiments/{run.experiment_id}/runs/{run.run_id}"
                         f"?workflowType=machine_learning", "mlflow-run")
        assert "Do adversarial examples crafted on one model fool other models" in page
        assert "attack=fgsm eps=0.2 source=logreg" in page  # readable child-run names
        image = f"get-artifact?path=figures%2Fheatmap_fgsm.png&amp;run_uuid={run.run_id}"
        assert f'<img src="{image}"' in page, "the key figure is on the run's page"
        with urllib.request.urlopen(f"{address}/{image.replace('&amp;', '&')}") as response:
            assert response.headers["Content-Type"] == "image/png"
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_training_reports_its_epochs_to_whoever_listens(tmp_path, digits):
    heard: list[tuple[str, int, int, float]] = []
    spec = ModelSpec(name="softmax", params={"epochs": 4, "patience": 10})
    with listening(lambda *event: heard.append(event)):
        train_model(spec, digits, cache_dir=str(tmp_path))
        train_model(spec, digits, cache_dir=str(tmp_path))  # cached: nothing to report
    assert heard[0][:3] == ("softmax", 0, 0) and math.isnan(heard[0][3])  # training starts
    epochs = heard[1:-1]
    assert [e[1] for e in epochs] == [1, 2, 3, 4] and all(e[2] == 4 for e in epochs)
    assert all(0 < e[3] < 3 for e in epochs), "validation cross-entropy of a 10-class model"
    assert heard[-1][:3] == ("softmax", 1, 0)  # done
    bar = io.StringIO()
    progress = ProgressBar(Console(file=bar, force_terminal=True, width=100))
    progress.start(3, 0)
    progress.train(*epochs[1])
    progress.progress.refresh()
    progress.stop()
    assert "training softmax" in bar.getvalue() and f"loss {epochs[1][3]:.4f}" in bar.getvalue()
