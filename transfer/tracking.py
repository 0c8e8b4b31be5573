"""Everything MLflow: the only module of ``transfer`` that imports mlflow.

A study is a parent run (tagged with its config hash, so re-running the same config resumes it);
each cell is a nested child run tagged with its cell key; every trained model is a run of the
``transfer-models`` experiment, linked from the studies that used it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

# Resuming reads one small artifact per cell; MLflow's per-download progress bars would drown the
# study's own progress bar.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402

from .environment import environment  # noqa: E402
from .executors import Outcome  # noqa: E402
from .results import NotApplicable, encode  # noqa: E402
from .summary import Summary, Table  # noqa: E402

MODELS_EXPERIMENT = "transfer-models"
ROLE, CONFIG_HASH, CELL_KEY, MODEL_KEY = (
    "transfer.role", "transfer.config_hash", "transfer.cell_key", "transfer.model_key"
)
PARENT = "mlflow.parentRunId"
RESULT_FILE = "cell_result.json"


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI``, else ``./mlflow.db`` in the working directory, made absolute."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"sqlite:///{Path('mlflow.db').resolve()}"


def ui_command(uri: str) -> str:
    """The command that opens the dashboards on this store."""
    if uri.startswith("sqlite:///"):
        root = Path(uri.removeprefix("sqlite:///")).parent
        return f"mlflow ui --backend-store-uri {uri} --artifacts-destination {root / 'mlartifacts'}"
    return f"open {uri}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"


def _batched(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Tracker:
    """A thin, explicit layer over ``MlflowClient`` (no global fluent state)."""

    def __init__(self, uri: str | None = None) -> None:
        self.uri = uri or default_tracking_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        self._model_runs: dict[str, str] = {}

    # --- experiments and the study's parent run -------------------------------------------------
    def experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if self.uri.startswith("sqlite:///"):
            root = Path(self.uri.removeprefix("sqlite:///")).parent / "mlartifacts"
            location = (root / _slug(name)).as_uri()
        return self.client.create_experiment(name, artifact_location=location)

    def open_study(
        self, experiment_id: str, study: str, config_hash: str, config: dict[str, Any]
    ) -> tuple[str, dict[str, list[dict[str, Any]]], bool]:
        """The parent run for this exact config (resumed if one exists), the stored results of its
        finished cells, and whether that run had already finished completely."""
        previous = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{ROLE}` = 'study' and tags.`{CONFIG_HASH}` = '{config_hash}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if previous:
            run_id = previous[0].info.run_id
            complete = previous[0].info.status == "FINISHED"
            self.client.update_run(run_id, status="RUNNING")
            return run_id, self.finished_cells(experiment_id, run_id), complete
        run = self.client.create_run(
            experiment_id,
            tags={ROLE: "study", CONFIG_HASH: config_hash, "transfer.study": study},
            run_name=f"{study}-{config_hash[:8]}",
        )
        run_id = run.info.run_id
        params = [Param(k, str(v)[:6000]) for k, v in _flatten(config).items()]
        for batch in _batched(params, 100):
            self.client.log_batch(run_id, params=batch)
        self.client.log_dict(run_id, config, "config.json")
        return run_id, {}, False

    def _children(self, experiment_id: str, parent: str) -> list[Any]:
        runs: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [experiment_id], filter_string=f"tags.`{PARENT}` = '{parent}'",
                max_results=1000, page_token=token,
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def finished_cells(self, experiment_id: str, parent: str) -> dict[str, list[dict[str, Any]]]:
        """Per cell key, the stored results of its finished child runs, newest first."""
        finished: dict[str, list[dict[str, Any]]] = {}
        runs = sorted(self._children(experiment_id, parent), key=lambda r: -r.info.start_time)
        with tempfile.TemporaryDirectory() as scratch:
            for run in runs:
                key = run.data.tags.get(CELL_KEY)
                if run.info.status != "FINISHED" or key is None:
                    continue
                path = self.client.download_artifacts(run.info.run_id, RESULT_FILE, scratch)
                finished.setdefault(key, []).append(json.loads(Path(path).read_text()))
        return finished

    def log_environment(self, run_id: str, device: str, executor: str) -> None:
        described = environment(device, executor)
        tags = [RunTag("transfer.device", device), RunTag("transfer.executor", executor),
                RunTag("transfer.git_commit", described["git_commit"])]
        self.client.log_batch(run_id, tags=tags)
        self.client.log_dict(run_id, described, "environment.json")

    # --- cells ----------------------------------------------------------------------------------
    def log_cell(
        self, experiment_id: str, parent: str, outcome: Outcome, result_format: int,
        model_runs: list[str],
    ) -> str:
        cell, result = outcome.cell, outcome.result
        tags = {PARENT: parent, ROLE: "cell", CELL_KEY: cell.key,
                "transfer.model_runs": ",".join(model_runs)}
        if isinstance(result, NotApplicable):
            tags.update({"transfer.status": "n/a", "transfer.reason": result.reason[:5000]})
        run = self.client.create_run(
            experiment_id, start_time=outcome.started_ms, tags=tags, run_name=cell.label
        )
        run_id = run.info.run_id
        try:
            status = self._log_cell_body(run_id, outcome, result_format)
        except BaseException:  # Ctrl-C while logging: never leave a run RUNNING
            self.client.set_terminated(run_id, "KILLED")
            raise
        self.client.set_terminated(run_id, status, end_time=outcome.finished_ms)
        return run_id

    def _log_cell_body(self, run_id: str, outcome: Outcome, result_format: int) -> str:
        result = outcome.result
        params = [Param(k, str(v)) for k, v in outcome.cell.params]
        metrics = []
        if result is not None and not isinstance(result, NotApplicable):
            metrics = [Metric(k, float(v), outcome.finished_ms, 0)
                       for k, v in result.metrics().items() if v == v]  # NaN: undefined
            metrics += [Metric(name, float(value), outcome.finished_ms, int(step))
                        for name, points in result.series().items()
                        for step, value in points if value == value]
        for index, batch in enumerate(_batched(metrics, 1000) or [[]]):
            self.client.log_batch(run_id, metrics=batch, params=params if index == 0 else [])
        if result is None:
            self.client.log_text(run_id, outcome.error or "", "traceback.txt")
            return "FAILED"
        self.client.log_dict(run_id, encode(result, result_format), RESULT_FILE)
        return "FINISHED"

    # --- trained models -------------------------------------------------------------------------
    def record_models(self, records: list[dict[str, Any]]) -> list[str]:
        """Each trained model as one run of the models experiment (created once); their IDs."""
        return [self._model_run(record) for record in records]

    def _model_run(self, record: dict[str, Any]) -> str:
        key = record["key"]
        if key in self._model_runs:
            return self._model_runs[key]
        experiment_id = self.experiment(MODELS_EXPERIMENT)
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{MODEL_KEY}` = '{key}'", max_results=1
        )
        if found:
            run_id = found[0].info.run_id
        else:
            run = self.client.create_run(
                experiment_id, tags={MODEL_KEY: key, ROLE: "model",
                                     "transfer.family": record["family"]},
                run_name=f"{record['family']}-{key[:8]}",
            )
            run_id = run.info.run_id
            params = {"family": record["family"], "seed": record["seed"],
                      **{f"param.{k}": v for k, v in record["params"].items()},
                      **{f"dataset.{k}": v for k, v in record["dataset"].items()}}
            self.client.log_batch(
                run_id,
                metrics=[Metric("clean_accuracy", record["clean_accuracy"], 0, 0)],
                params=[Param(k, str(v)[:6000]) for k, v in params.items()],
            )
            self.client.log_artifacts(run_id, record["path"], "model")
            self.client.set_terminated(run_id, "FINISHED")
        self._model_runs[key] = run_id
        return run_id

    def models_of(self, parent: str, experiment_id: str) -> list[str]:
        ids = {m for run in self._children(experiment_id, parent)
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
        self.client.log_table(parent, rows, "tables/models.json")
        self.client.set_tag(parent, "transfer.model_runs", ",".join(model_runs)[:5000])

    # --- the summary ----------------------------------------------------------------------------
    def log_summary(self, run_id: str, summary: Summary) -> None:
        for name, table in summary.tables.items():
            self.client.log_table(run_id, table.columns, f"tables/{name}.json")
            self.client.log_text(run_id, table_to_csv(table), f"tables/{name}.csv")
        for name, figure in summary.figures.items():
            self.client.log_figure(run_id, figure, f"figures/{name}.png")
        metrics = [Metric(k, float(v), 0, 0) for k, v in summary.metrics.items() if v == v]
        for batch in _batched(metrics, 1000):
            self.client.log_batch(run_id, metrics=batch)

    def end(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status)

    # --- reading back ---------------------------------------------------------------------------
    def describe(self, run_id: str) -> dict[str, Any]:
        """A parent run's status, config and tables, for ``transfer study show``."""
        run = self.client.get_run(run_id)
        with tempfile.TemporaryDirectory() as scratch:
            tables = {}
            for item in self.client.list_artifacts(run_id, "tables"):
                if item.path.endswith(".csv"):
                    local = self.client.download_artifacts(run_id, item.path, scratch)
                    tables[Path(item.path).stem] = Path(local).read_text()
            figures = [f.path for f in self.client.list_artifacts(run_id, "figures")]
        return {
            "run_id": run_id,
            "name": run.info.run_name,
            "status": run.info.status,
            "experiment_id": run.info.experiment_id,
            "tags": {k: v for k, v in run.data.tags.items() if k.startswith("transfer.")},
            "metrics": run.data.metrics,
            "tables": tables,
            "figures": figures,
        }


def table_to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = list(table.columns)
    writer.writerow(names)
    writer.writerows(zip(*(table.columns[n] for n in names), strict=True))
    return buffer.getvalue()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}
