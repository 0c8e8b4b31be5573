"""A study's cells in MLflow: each one a child run of the study's run, tagged with its cell key,
holding the cell's metrics, dataset inputs and result file; a cell that cannot run (n/a) is one
tag of the study's run instead (``transfer.na.<cell key>``: the reason); read back to resume."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import DatasetInput, Metric, Param
from mlflow.exceptions import MlflowException

from ..contracts.executors import Outcome
from ..contracts.results import NOT_APPLICABLE, NotApplicable, ResultFormatError, encode
from .cell_record import CellRecord, cell_record

ROLE, CELL_KEY, PARENT = "transfer.role", "transfer.cell_key", "mlflow.parentRunId"
STATUS, REASON, REASON_LIMIT = "transfer.status", "transfer.reason", 5000
NOT_APPLICABLE_TAG = "transfer.na."  # + the cell key, on the study's run: the cell's reason
RESULT_FILE = "cell_result.json"


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
        """Record the finished cell (see ``write``)."""
        return self.write(experiment_id, parent, cell_record(outcome, result_format), model_runs)

    def write(self, experiment_id: str, parent: str, record: CellRecord,
              model_runs: list[str]) -> str | None:
        """Record the finished cell: its child run of ``parent`` (its ID), or, for a cell that
        cannot run and whose reason fits in a tag, the tag ``transfer.na.<cell key>`` of
        ``parent`` (it used no data and has no metrics; ``finished`` reads it back)."""
        reason = record.reason
        if reason is not None and len(reason) < REASON_LIMIT:
            self.client.set_tag(parent, NOT_APPLICABLE_TAG + record.key, reason)
            return None
        tags = {PARENT: parent, ROLE: "cell", CELL_KEY: record.key,
                "transfer.model_runs": ",".join(model_runs),
                **{name: value[:5000] for name, value in record.params}}  # to group by
        if reason is not None:  # a reason too long for a tag: its result file
            tags.update({STATUS: NOT_APPLICABLE, REASON: reason[:REASON_LIMIT]})
        run = self.client.create_run(
            experiment_id, start_time=record.started_ms, tags=tags, run_name=record.label
        )
        run_id = run.info.run_id
        try:
            if self.inputs and reason is None:
                self.client.log_inputs(run_id, datasets=self.inputs)
            status = self._log_body(run_id, record)
        except BaseException:  # Ctrl-C while logging: never leave a run RUNNING
            self.client.set_terminated(run_id, "KILLED")
            raise
        self.client.set_terminated(run_id, status, end_time=record.finished_ms)
        return run_id

    def _log_body(self, run_id: str, record: CellRecord) -> str:
        params = [Param(k, v) for k, v in record.params]
        metrics = [Metric(name, value, record.finished_ms, step)
                   for name, value, step in record.metrics]
        for index, batch in enumerate(batched(metrics, 1000) or [[]]):
            self.client.log_batch(run_id, metrics=batch, params=params if index == 0 else [])
        if record.result is None:
            self.client.log_text(run_id, record.error, "traceback.txt")
            return "FAILED"
        self.client.log_dict(run_id, record.result, RESULT_FILE)
        return "FINISHED"
