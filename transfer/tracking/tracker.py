"""What a study writes to MLflow (with ``store``, ``store_lock``, ``cell_runs`` and ``model_runs``,
the only modules of ``transfer`` that import mlflow).

A study is a parent run (tagged with its config hash, so re-running the same config resumes it);
each cell is a nested child run tagged with its cell key; every trained model is a run of the
``transfer-models`` experiment, linked from the studies that used it.
"""

from __future__ import annotations

import json
import re
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from ..contracts.results import ResultFormatError
from ..contracts.summary import Summary
from .cell_record import metric_key
from .cell_runs import ROLE, CellRuns, batched
from .dataset_inputs import Split, dataset_inputs
from .environment import code_version, environment
from .model_runs import MODEL_KEY, ModelRuns
from .store import connect, default_tracking_uri, sqlite_path
from .store_lock import StoreLock

CONFIG_HASH = "transfer.config_hash"
LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
EXPERIMENT_KIND, MODEL_DEVELOPMENT = "mlflow.experimentKind", "custom_model_development"
NOTE = "mlflow.note.content"
THEORY, KEY_FIGURE = "transfer.theory", "transfer.key_figure"
SUMMARY_CODE = "transfer.summary_code"  # the code that wrote the summary (``code_version``)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"


class Tracker:
    """A thin, explicit layer over ``MlflowClient`` (no global fluent state)."""

    def __init__(self, uri: str | None = None) -> None:
        self.uri = uri or default_tracking_uri()
        self.client = connect(self.uri)
        self.cells = CellRuns(self.client)
        self.description = ""
        self.models = ModelRuns(self.client, self.experiment)

    def lock(
        self, name: str, holds: str = "", on_wait: Callable[[str], None] = lambda message: None
    ) -> StoreLock:
        """A lock in this store (see :class:`StoreLock`); ``holds`` says what it guards."""
        return StoreLock(self.client, name, holds=holds, on_wait=on_wait)

    # --- experiments and the study's parent run -------------------------------------------------
    def experiment(self, name: str) -> str:
        """The experiment's ID, created if needed as a model-development experiment (so that the
        MLflow UI opens it on its runs and charts, not on GenAI traces)."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.tags.get(EXPERIMENT_KIND) != MODEL_DEVELOPMENT:
                self.client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND,
                                               MODEL_DEVELOPMENT)
            return str(found.experiment_id)
        location = None
        database = sqlite_path(self.uri)
        if database is not None:
            location = (database.parent / "mlartifacts" / _slug(name)).as_uri()
        try:
            return self.client.create_experiment(name, artifact_location=location,
                                                 tags={EXPERIMENT_KIND: MODEL_DEVELOPMENT})
        except MlflowException as error:  # another process created it a moment ago
            created = self.client.get_experiment_by_name(name)
            if error.error_code != "RESOURCE_ALREADY_EXISTS" or created is None:
                raise
            return str(created.experiment_id)

    def open_study(
        self, experiment_id: str, study: str, config_hash: str, config: dict[str, Any]
    ) -> tuple[str, dict[str, list[dict[str, Any] | ResultFormatError]], bool]:
        """The parent run for this exact config (resumed if one exists), the stored results of its
        finished cells, and whether that run had already finished completely (with its summary
        written by this code).

        Call it holding the study's lock: runs of this config still RUNNING were left by a process
        that died (kill -9, a lost machine); they are marked KILLED here."""
        previous = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{ROLE}` = 'study' and tags.`{CONFIG_HASH}` = '{config_hash}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        self.models.end_orphaned()
        if previous:
            run_id = previous[0].info.run_id
            complete = (previous[0].info.status == "FINISHED"  # and summarized by this code
                        and previous[0].data.tags.get(SUMMARY_CODE) == code_version())
            for child in self.cells.children(experiment_id, run_id):
                if child.info.status == "RUNNING":
                    self.client.set_terminated(child.info.run_id, "KILLED")
            self.client.update_run(run_id, status="RUNNING")
            return run_id, self.cells.finished(experiment_id, run_id), complete
        run = self.client.create_run(
            experiment_id,
            tags={ROLE: "study", CONFIG_HASH: config_hash, "transfer.study": study},
            run_name=f"{study}-{config_hash[:8]}",
        )
        run_id = run.info.run_id
        params = [Param(k, str(v)[:6000]) for k, v in _flatten(config).items()]
        for batch in batched(params, 100):
            self.client.log_batch(run_id, params=batch)
        self.client.log_dict(run_id, config, "config.json")
        return run_id, {}, False

    def introduce(self, run_id: str, description: str, datasets: list[Split], theory: str = ""
                  ) -> None:
        """The study run's description (the MLflow UI shows it on the run's page), the theory it
        tests, and its datasets (``dataset_splits``) as dataset inputs (also logged on every
        cell run)."""
        self.cells.inputs = dataset_inputs(datasets)
        self.description = description
        self.client.set_tag(run_id, NOTE, description)
        if theory:
            self.client.set_tag(run_id, THEORY, theory)
        if self.cells.inputs:
            self.client.log_inputs(run_id, datasets=self.cells.inputs)

    def log_environment(
        self, run_id: str, device: str, executor: str, extra: dict[str, str] | None = None
    ) -> None:
        described = environment(device, executor)
        tags = [RunTag("transfer.device", device), RunTag("transfer.executor", executor),
                RunTag("transfer.git_commit", described["git_commit"]),
                *(RunTag(k, v) for k, v in (extra or {}).items())]
        self.client.log_batch(run_id, tags=tags)
        self.client.log_dict(run_id, described, "environment.json")

    # --- trained models -------------------------------------------------------------------------
    def record_models(self, records: list[dict[str, Any]]) -> list[str]:
        """Each trained model as one run of the models experiment (created once); their IDs."""
        return [self.models.run_of(record) for record in records]

    def models_of(self, parent: str, experiment_id: str) -> list[str]:
        ids = {m for run in self.cells.children(experiment_id, parent)
               for m in run.data.tags.get("transfer.model_runs", "").split(",") if m}
        return sorted(ids)

    def link_models(self, parent: str, model_runs: list[str]) -> None:
        rows: dict[str, list[Any]] = {"run_id": [], "family": [], "key": [], "clean_accuracy": []}
        for run_id in model_runs:
            run = self.client.get_run(run_id)
            rows["run_id"].append(run_id)
            rows["family"].append(run.data.tags.get("transfer.family", ""))
            rows["key"].append(run.data.tags.get(MODEL_KEY, ""))
            rows["clean_accuracy"].append(run.data.metrics.get("clean_accuracy"))
        self.write_table(parent, rows, "tables/models.json")
        self.client.set_tag(parent, "transfer.model_runs", ",".join(model_runs)[:5000])

    # --- the summary ----------------------------------------------------------------------------
    def write_table(self, run_id: str, columns: dict[str, list[Any]], path: str) -> None:
        """A table artifact in MLflow's table format, replacing the file if it exists (MLflow's
        own ``log_table`` appends, which would double every row of a resumed study)."""
        with tempfile.TemporaryDirectory() as scratch:
            local = Path(scratch) / Path(path).name
            pd.DataFrame(columns).to_json(local, orient="split", index=False)
            self.client.log_artifact(run_id, str(local), str(Path(path).parent))
        logged = json.loads(self.client.get_run(run_id).data.tags.get(LOGGED_ARTIFACTS, "[]"))
        entry = {"path": path, "type": "table"}
        if entry not in logged:
            self.client.set_tag(run_id, LOGGED_ARTIFACTS, json.dumps([*logged, entry]))

    def log_summary(self, run_id: str, summary: Summary, figures: list[str]) -> None:
        """The summary's tables and metrics; ``figures`` are the names of its figures (logged
        apart, as ``figures/<name>.png``), the key one linked from the run's description."""
        self.client.set_tag(run_id, SUMMARY_CODE, code_version())
        for name, table in summary.tables.items():
            self.write_table(run_id, table.columns, f"tables/{name}.json")
            self.client.log_text(run_id, table.to_csv(), f"tables/{name}.csv")
        key = summary.key_figure or next(iter(figures), None)
        if key in figures:  # shown right under the run's description
            path = f"figures/{key}.png"
            self.client.set_tag(run_id, KEY_FIGURE, path)
            image = f"get-artifact?path={urllib.parse.quote(path, safe='')}&run_uuid={run_id}"
            self.client.set_tag(run_id, NOTE, f"{self.description}\n\n**Key figure** "
                                              f"(`{path}`):\n\n![{key}]({image})")
        metrics = [Metric(metric_key(k), float(v), 0, 0) for k, v in summary.metrics.items()]
        for batch in batched(metrics, 1000):
            self.client.log_batch(run_id, metrics=batch)

    def end(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}
