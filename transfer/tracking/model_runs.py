"""Trained models in MLflow: each one run of the ``transfer-models`` experiment (weights as
artifacts), logged once per model key even when several studies use the model at the same time,
and fetched by key into a model cache that lacks it (another machine of a team or a cluster)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from .store_lock import StoreLock

MODELS_EXPERIMENT = "transfer-models"
MODEL_KEY = "transfer.model_key"


class ModelRuns:
    """The model runs of one store, with an in-process memo of the runs already found."""

    def __init__(self, client: MlflowClient, experiment: Callable[[str], str]) -> None:
        """``experiment(name)`` is the id of the experiment ``name``, created if needed."""
        self.client = client
        self.experiment = experiment
        self._runs: dict[str, str] = {}

    def lock(self, key: str) -> StoreLock:
        return StoreLock(self.client, f"transfer-lock.model.{key}")

    def run_of(self, record: dict[str, Any]) -> str:
        """The run of the model ``record`` describes (see ``ModelRecord``), logged if new."""
        key = record["key"]
        if key not in self._runs:
            with self.lock(key):
                self._runs[key] = self._find_or_log(record)
        return self._runs[key]

    def _find_or_log(self, record: dict[str, Any]) -> str:
        experiment_id = self.experiment(MODELS_EXPERIMENT)
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{MODEL_KEY}` = '{record['key']}'",
            order_by=["attributes.start_time DESC"],
        )
        for run in found:
            if run.info.status == "FINISHED":
                return str(run.info.run_id)
            if run.info.status == "RUNNING":  # its process died before the weights were logged
                self.client.set_terminated(run.info.run_id, "KILLED")
        run = self.client.create_run(
            experiment_id, tags={MODEL_KEY: record["key"], "transfer.role": "model",
                                 "transfer.family": record["family"]},
            run_name=f"{record['family']}-{record['key'][:8]}",
        )
        run_id = run.info.run_id
        params = {"family": record["family"], "seed": record["seed"],
                  **{f"param.{k}": v for k, v in record["params"].items()},
                  **{f"dataset.{k}": v for k, v in record["dataset"].items()}}
        metrics = [Metric("clean_accuracy", record["clean_accuracy"], 0, 0),
                   *(Metric(k, float(v), 0, 0) for k, v in record.get("measures", {}).items()),
                   *(Metric(k, float(v), 0, step) for k, values in record.get("curves", {}).items()
                     for step, v in enumerate(values, start=1))]
        self.client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
        for start in range(0, len(metrics), 1000):  # MLflow takes at most 1,000 per batch
            self.client.log_batch(run_id, metrics=metrics[start : start + 1000])
        self.client.log_artifacts(run_id, record["path"], "model")
        self.client.set_terminated(run_id, "FINISHED")
        return str(run_id)

    def end_orphaned(self) -> None:
        """Model runs left RUNNING by a process that died mid-log are marked KILLED (a model run
        being logged right now holds its lock and is left alone)."""
        experiment = self.client.get_experiment_by_name(MODELS_EXPERIMENT)
        if experiment is None:
            return
        running = self.client.search_runs(
            [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"
        )
        for run in running:
            lock = self.lock(str(run.data.tags.get(MODEL_KEY)))
            if lock.try_acquire():
                try:
                    self.client.set_terminated(run.info.run_id, "KILLED")
                finally:
                    lock.release()


def download(client: MlflowClient, key: str, folder: Path) -> bool:
    """The weights of model ``key`` (the ``model`` artifacts of its finished run) copied into
    ``folder``, which must not exist yet; ``False`` when the store has no such model. The
    files are checked against the checksums of their record when the cache loads them."""
    experiment = client.get_experiment_by_name(MODELS_EXPERIMENT)
    if experiment is None:
        return False
    found = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"],
        filter_string=f"tags.`{MODEL_KEY}` = '{key}' and attributes.status = 'FINISHED'")
    if not found:
        return False
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".fetch-"))
    try:
        client.download_artifacts(found[0].info.run_id, "model", str(staging))
        os.replace(staging / "model", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def store_fetcher(uri: str) -> Callable[[str, Path], bool]:
    """``fetch(key, folder)`` for a ``ModelCache``: the model's weights from the store at
    ``uri`` (connected on first use, so a worker that has every model never connects)."""
    clients: list[MlflowClient] = []

    def fetch(key: str, folder: Path) -> bool:
        if not clients:
            from .store import connect

            clients.append(connect(uri))
        return download(clients[0], key, folder)

    return fetch
