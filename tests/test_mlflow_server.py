"""A study tracked by a real `mlflow server` (started by the test on 127.0.0.1), as a team would."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from mlflow import MlflowClient

from transfer import run_study

from .conftest import tiny_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("mlflow server did not start:\n" + (tmp_path / "server.log").read_text())
        time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_study_on_an_mlflow_server(mlflow_server):
    config = tiny_config(models=["logreg", "knn"], attacks=["fgsm"], eps=[0.2], n_points=40)
    first = run_study(config, tracking_uri=mlflow_server)
    assert len(first.results) == 2 and not first.failed
    client = MlflowClient(mlflow_server)
    parent = client.get_run(first.run_id)
    assert parent.info.status == "FINISHED"
    assert "figures/heatmap_fgsm_eps0.2.png" in {
        a.path for a in client.list_artifacts(first.run_id, "figures")}
    again = run_study(config, tracking_uri=mlflow_server)
    assert again.run_id == first.run_id and again.resumed == 2
