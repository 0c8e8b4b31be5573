"""A study's cells in MLflow: each one a child run of the study's run, tagged with its cell key,
holding the cell's metrics, dataset inputs and result file; a cell that cannot run (n/a) is one
tag of the study's run instead (``transfer.na.<cell key>``: the reason); read back to resume."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import DatasetInput, Metric, Param
from mlflow.exceptions import MlflowException

from ..contracts.executors import Outcome
from ..contracts.results import NOT_APPLICABLE, NotApplicable, ResultFormatError, encode

ROLE, CELL_KEY, PARENT = "transfer.role", "transfer.cell_key", "mlflow.parentRunId"
STATUS, REASON, REASON_LIMIT = "transfer.status", "transfer.reason", 5000
NOT_APPLICABLE_TAG = "transfer.na."  # + the cell key, on the study's run: the cell's reason
RESULT_FILE = "cell_result.json"


def metric_key(name: str) -> str:
    """``name`` with the characters MLflow refuses in a metric name (``+`` of ``1e+20``, say)
    replaced by ``_``."""
    return re.sub(r"[^/\w.\- :]", "_", name)


def batched(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class CellRuns:
    """The cell runs of one store; ``inputs`` are the study's datasets, logged on each cell that
    used them."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self.inputs: list[DatasetInput] = []

    def children(self, experiment_id: str, parent: str) -> list[Any]:
        """Every child run of ``parent``."""
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

    def finished(
        self, experiment_id: str, parent: str
    ) -> dict[str, list[dict[str, Any] | ResultFormatError]]:
        """Per cell key, the stored results of its finished cells, newest first: the n/a cells
        in the tags of ``parent``, then its finished child runs. A result artifact that is missing
        or not JSON is a ``ResultFormatError`` (the cell runs again)."""
        finished: dict[str, list[dict[str, Any] | ResultFormatError]] = {}
        for name, reason in self.client.get_run(parent).data.tags.items():
            if name.startswith(NOT_APPLICABLE_TAG):  # an n/a result reads the same in every format
                finished[name.removeprefix(NOT_APPLICABLE_TAG)] = [
                    encode(NotApplicable(reason=reason), 1)]
        runs = sorted(self.children(experiment_id, parent), key=lambda r: -r.info.start_time)
        with tempfile.TemporaryDirectory() as scratch:
            for run in runs:
                key = run.data.tags.get(CELL_KEY)
                if run.info.status != "FINISHED" or key is None:
                    continue
                reason = run.data.tags.get(REASON, "")
                stored: dict[str, Any] | ResultFormatError
                if run.data.tags.get(STATUS) == NOT_APPLICABLE and len(reason) < REASON_LIMIT:
                    stored = encode(NotApplicable(reason=reason), 1)  # as earlier versions kept it
                else:
                    stored = self._stored_result(run.info.run_id, scratch)
                finished.setdefault(key, []).append(stored)
        return finished

    def _stored_result(self, run_id: str, scratch: str) -> dict[str, Any] | ResultFormatError:
        try:
            path = self.client.download_artifacts(run_id, RESULT_FILE, scratch)
            stored = json.loads(Path(path).read_text())
        except (OSError, ValueError, MlflowException) as error:
            return ResultFormatError(f"{RESULT_FILE} of run {run_id} cannot be read: "
                                     f"{str(error)[:200]}")
        if not isinstance(stored, dict):
            return ResultFormatError(f"{RESULT_FILE} of run {run_id} is not a JSON object")
        return stored

    def log(self, experiment_id: str, parent: str, outcome: Outcome, result_format: int,
            model_runs: list[str]) -> str | None:
        """Record the finished cell: its child run of ``parent`` (its ID), or, for a cell that
        cannot run and whose reason fits in a tag, the tag ``transfer.na.<cell key>`` of
        ``parent`` (it used no data and has no metrics; ``finished`` reads it back)."""
        cell, result = outcome.cell, outcome.result
        if isinstance(result, NotApplicable) and len(result.reason) < REASON_LIMIT:
            self.client.set_tag(parent, NOT_APPLICABLE_TAG + cell.key, result.reason)
            return None
        tags = {PARENT: parent, ROLE: "cell", CELL_KEY: cell.key,
                "transfer.model_runs": ",".join(model_runs),
                **{name: str(value)[:5000] for name, value in cell.params}}  # to group by
        if isinstance(result, NotApplicable):  # a reason too long for a tag: its result file
            tags.update({STATUS: NOT_APPLICABLE, REASON: result.reason[:REASON_LIMIT]})
        run = self.client.create_run(
            experiment_id, start_time=outcome.started_ms, tags=tags, run_name=cell.label
        )
        run_id = run.info.run_id
        try:
            if self.inputs and not isinstance(result, NotApplicable):
                self.client.log_inputs(run_id, datasets=self.inputs)
            status = self._log_body(run_id, outcome, result_format)
        except BaseException:  # Ctrl-C while logging: never leave a run RUNNING
            self.client.set_terminated(run_id, "KILLED")
            raise
        self.client.set_terminated(run_id, status, end_time=outcome.finished_ms)
        return run_id

    def _log_body(self, run_id: str, outcome: Outcome, result_format: int) -> str:
        result = outcome.result
        params = [Param(k, str(v)) for k, v in outcome.cell.params]
        metrics = []
        if result is not None and not isinstance(result, NotApplicable):
            # NaN (an undefined rate, say) is logged as NaN: a missing metric would look lost.
            metrics = [Metric(metric_key(k), float(v), outcome.finished_ms, 0)
                       for k, v in result.metrics().items()]
            metrics += [Metric(metric_key(name), float(value), outcome.finished_ms, int(step))
                        for name, points in result.series().items() for step, value in points]
        for index, batch in enumerate(batched(metrics, 1000) or [[]]):
            self.client.log_batch(run_id, metrics=batch, params=params if index == 0 else [])
        if result is None:
            self.client.log_text(run_id, outcome.error or "", "traceback.txt")
            return "FAILED"
        self.client.log_dict(run_id, encode(result, result_format), RESULT_FILE)
        return "FINISHED"
