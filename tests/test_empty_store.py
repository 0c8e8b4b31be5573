"""A new SQLite store is a copy of the empty store MLflow built first: the copy must be the store
MLflow would build (its schema, its rows, its default experiment's artifact folder), and a kept
store MLflow does not accept must not stop anyone (MLflow builds the store, and a good one is
kept instead)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from transfer.tracking.empty_store import empty_store
from transfer.tracking.store import connect


def _contents(database: Path) -> dict[str, object]:
    """Every table's and index's SQL (its lines in any order: two stores MLflow builds list a
    table's constraints in different orders), and every row, the default experiment's times
    left out."""
    with sqlite3.connect(database) as con:
        schema = sorted((kind, name, sorted((sql or "").split("\n")))
                        for kind, name, sql in con.execute(
                            "SELECT type, name, sql FROM sqlite_master"))
        rows = {name: sorted(map(repr, con.execute(f'SELECT * FROM "{name}"')))
                for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows["experiments"] = sorted(map(repr, con.execute(
            "SELECT experiment_id, name, artifact_location, lifecycle_stage FROM experiments")))
    return {"schema": schema, "rows": rows}


def _built_by_mlflow(database: Path) -> None:
    """The store as MLflow builds it (its own migrations), not through ``connect``."""
    uri = f"sqlite:///{database}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)


def test_a_copied_store_is_the_store_mlflow_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    first, copied, own = tmp_path / "a" / "first.db", tmp_path / "b" / "copied.db", \
        tmp_path / "own.db"
    connect(f"sqlite:///{first}")  # MLflow builds it, and it is kept
    assert empty_store().is_file()
    connect(f"sqlite:///{copied}")
    _built_by_mlflow(own)
    assert _contents(copied) == _contents(own)
    assert MlflowClient(f"sqlite:///{copied}").get_experiment("0").artifact_location == \
        str(tmp_path / "mlruns" / "0")
    # the copy is a store of its own: what one records, the other does not hold
    client = connect(f"sqlite:///{copied}")
    client.create_experiment("only-in-the-copy")
    assert MlflowClient(f"sqlite:///{first}").get_experiment_by_name("only-in-the-copy") is None


@pytest.mark.parametrize("damage", [b"not a database", b""])
def test_a_kept_store_mlflow_refuses_is_replaced(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("TRANSFER_CACHE_DIR", str(tmp_path / "cache"))
    empty_store().parent.mkdir(parents=True)
    empty_store().write_bytes(damage)
    client = connect(f"sqlite:///{tmp_path / 'new.db'}")
    assert client.search_experiments()[0].name == "Default"
    own = tmp_path / "own.db"
    _built_by_mlflow(own)
    assert _contents(tmp_path / "new.db")["schema"] == _contents(own)["schema"]
    assert _contents(empty_store())["schema"] == _contents(own)["schema"]  # a good one, kept


def test_a_store_another_program_is_building_opens_once_built(tmp_path):
    """Another program (here a plain MLflow client, as `mlflow ui` on the same file would) builds
    the new store while a study opens it: the study waits for the build instead of running its
    own migrations over it (which failed with "table _alembic_tmp_experiments already exists"
    or "Online migration expected to match one row")."""
    database = tmp_path / "mlflow.db"
    uri = f"sqlite:///{database}"
    other = subprocess.Popen([sys.executable, "-c", "import sys; from mlflow import MlflowClient; "
                              "MlflowClient(sys.argv[1]).search_experiments()", uri],
                             stderr=subprocess.PIPE, text=True)
    while not database.exists():  # its migrations have begun
        assert other.poll() is None, other.stderr.read() if other.stderr else ""
        time.sleep(0.01)
    client = connect(uri)
    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert [m.name for m in client.search_registered_models()] == []
    other.communicate(timeout=120)  # its own outcome is its own (it ran no lock)
