"""The `transfer` command, through click's runner and as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from transfer import load_registry
from transfer.cli.main import cli
from transfer.contracts.validation import validate_config


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_help_imports_no_torch():
    code = ("import sys; from click.testing import CliRunner; from transfer.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "assert 'study' in r.output; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_listing_the_studies_imports_no_scikit_learn():
    """scikit-learn (and the scipy.stats it pulls in, about a second) is imported when a model
    is made: ``study list`` and a driver whose cells run elsewhere never need it."""
    code = ("import sys; from click.testing import CliRunner; from transfer.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['study', 'list']); assert r.exit_code == 0, r.output; "
            "assert 'transfer-matrix' in r.output; "
            "print('sklearn' in sys.modules, 'scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_study_list_and_plugins_list():
    studies = invoke("study", "list")
    assert studies.exit_code == 0 and "transfer-matrix" in studies.output
    plugins = invoke("plugins", "list")
    assert plugins.exit_code == 0
    for name in ("digits", "mlp", "fgsm", "pgd", "noise", "local", "transfer-matrix"):
        assert name in plugins.output


STUDIES = load_registry().names("study")


def test_all_built_in_studies_are_registered():
    assert {"transfer-matrix", "ensemble-source", "subspace-dimension", "noise-vs-adversarial",
            "lipschitz"} <= set(STUDIES)


@pytest.mark.parametrize("name", STUDIES)
def test_every_default_config_is_printed_and_valid(name, registry):
    result = invoke("study", "config", name)
    assert result.exit_code == 0
    study, config = validate_config(registry, tomllib.loads(result.output))
    assert config.study == name and study.plan(config)


def test_unknown_study_lists_close_matches():
    result = invoke("study", "run", "transfer-matrx")
    assert result.exit_code != 0 and "Did you mean: transfer-matrix" in result.output
    assert "Known studies: boundary-tilting" in result.output


def test_invalid_override_names_field_and_allowed_values(tracking_uri):
    result = invoke("study", "run", "transfer-matrix", "--tracking-uri", tracking_uri,
                    "--set", "attacks.0.params.norm=l3")
    assert result.exit_code != 0
    assert "attacks.0.params.norm: Input should be 'linf' or 'l2' (got 'l3')" in result.output
    result = invoke("study", "run", "transfer-matrix", "--tracking-uri", tracking_uri,
                    "--set", "n_points=many")
    assert result.exit_code != 0 and "n_points" in result.output


def test_run_a_config_file_then_show_it(tmp_path, tracking_uri):
    config = tmp_path / "small.yaml"
    config.write_text(
        "study: transfer-matrix\nmodels: [logreg, knn]\nattacks: [fgsm]\neps: [0.2]\n"
        "n_points: 40\n"
    )
    result = invoke("study", "run", str(config), "--tracking-uri", tracking_uri,
                    "--experiment", "cli-test", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "transfer rate (%)" in result.output and "n/a" in result.output
    run_id = result.output.split("MLflow run:")[1].split()[0]
    figures = MlflowClient(tracking_uri).list_artifacts(run_id, "figures")
    assert "writing the summary to MLflow: " in result.output  # said before the quiet seconds
    assert f" tables, {len(figures)} figures" in result.output and figures
    shown = invoke("study", "show", run_id, "--tracking-uri", tracking_uri)
    assert shown.exit_code == 0, shown.output
    assert "transfer_matrix" in shown.output and "FINISHED" in shown.output


def test_ui_prints_the_mlflow_command():
    from transfer.tracking.store import ui_command

    command = ui_command("sqlite:////data/x/mlflow.db")
    assert command.startswith("mlflow ui --backend-store-uri sqlite:////data/x/mlflow.db")
    assert "/data/x/mlartifacts" in command


@pytest.mark.parametrize("command", [["study", "show", "transfer-matrix"], ["report"], ["ui"]])
def test_reading_a_store_that_does_not_exist_says_so_and_creates_nothing(tmp_path, monkeypatch,
                                                                         command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = invoke(*command)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"no MLflow store at {tmp_path / 'mlflow.db'}" in result.output
    assert "transfer study run NAME" in result.output
    assert list(tmp_path.iterdir()) == []  # no empty store left behind
