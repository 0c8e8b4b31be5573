"""A study tracked by a real `mlflow server` (started by the test on 127.0.0.1), as a team would."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from transfer import run_study

from .conftest import tiny_config
from .processes import MlflowServer


@pytest.fixture
def mlflow_server(tmp_path):
    server = MlflowServer(tmp_path)
    yield server.start()
    server.stop()


def test_study_on_an_mlflow_server(mlflow_server):
    config = tiny_config(models=["logreg", "knn"], attacks=["fgsm"], eps=[0.2], n_points=40)
    first = run_study(config, tracking_uri=mlflow_server)
    assert len(first.results) == 2 and not first.failed
    client = MlflowClient(mlflow_server)
    parent = client.get_run(first.run_id)
    assert parent.info.status == "FINISHED"
    assert "figures/heatmap_fgsm.png" in {
        a.path for a in client.list_artifacts(first.run_id, "figures")}
    again = run_study(config, tracking_uri=mlflow_server)
    assert again.run_id == first.run_id and again.resumed == 2
