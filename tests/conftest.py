"""Shared fixtures: every test runs in its own folder with its own MLflow store; trained models
are cached once per test session (their own folder, never the user's cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from transfer import load_registry


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRANSFER_CACHE_DIR", str(cache_dir))
    for variable in ("MLFLOW_TRACKING_URI", "TRANSFER_PLUGINS_DIR", "TRANSFER_LOAD_PLUGINS",
                     "TRANSFER_DISABLE_PLUGINS"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def digits(registry):
    return registry.create("dataset", "digits")


@pytest.fixture(scope="session")
def binary(registry):
    """A two-class Gaussian mixture: binary linear models have closed forms on it."""
    return registry.create("dataset", "gaussian", dim=10, n_samples=400, separation=2.0)


def tiny_config(**overrides):
    """A transfer-matrix config small enough for a test: three models, three attacks, two eps."""
    config = {
        "study": "transfer-matrix",
        "models": [
            {"name": "softmax", "params": {"epochs": 15}},
            "logreg",
            {"name": "decision-tree", "params": {"max_depth": 8}},
        ],
        "attacks": ["fgsm", {"name": "pgd", "params": {"steps": 3}}, "noise"],
        "eps": [0.1, 0.3],
        "n_points": 60,
    }
    config.update(overrides)
    return config


def assert_claims_evaluated(result, study_class) -> None:
    """Every claim the study declares was evaluated on this run, none by a failing evaluation."""
    found = {claim.id: finding for claim, finding in result.claims}
    assert list(found) == [claim.id for claim in study_class.claims]
    assert not [f.evidence for f in found.values() if "the evaluation failed" in f.evidence]
