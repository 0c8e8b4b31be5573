"""``transfer report``: what the study runs in a store say about each theory of adversarial
examples, gathered from MLflow (claims, key figure, config, data, code version) for one page."""

from __future__ import annotations

import base64
import csv
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .run_view import RunNotFound, resolve_run, study_runs_in

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")


@dataclass
class StudyReport:
    """One study run as the report shows it."""

    study: str
    run_id: str
    run_name: str
    experiment_id: str
    status: str
    started_ms: int
    theory: str
    claims: list[dict[str, str]]  # rows of the run's ``claims`` table
    headlines: list[dict[str, str]]  # rows of its ``headlines`` table
    config: dict[str, Any]
    environment: dict[str, Any]
    datasets: list[str]
    key_figure: str = ""  # its artifact path
    figure_png: bytes = b""
    url: str = ""
    figures: list[str] = field(default_factory=list)

    @property
    def figure_data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.figure_png).decode()


def latest_study_runs(client: Any) -> list[str]:
    """The latest finished run of each study in the store (its latest run of any status when
    none finished), in the order of the study names."""
    chosen: dict[str, Any] = {}
    for run in study_runs_in(client):
        study = run.data.tags.get("transfer.study", "")
        best = chosen.get(study)
        if best is None or best.info.status != "FINISHED" and run.info.status == "FINISHED":
            chosen[study] = run
    if not chosen:
        raise RunNotFound("this store holds no study run yet: run one first, for example "
                          "`transfer study run transfer-matrix`")
    return [chosen[study].info.run_id for study in sorted(chosen)]


def study_runs(client: Any, references: tuple[str, ...]) -> list[str]:
    """The run IDs that ``references`` name (IDs, unique ID prefixes or study names; see
    ``resolve_run``), or the latest run of every study when there is none."""
    if not references:
        return latest_study_runs(client)
    found = [resolve_run(client, reference) for reference in references]
    return list(dict.fromkeys(found))


def _artifact(client: Any, run_id: str, path: str, scratch: str) -> bytes | None:
    try:
        return Path(client.download_artifacts(run_id, path, scratch)).read_bytes()
    except Exception:  # an artifact that was never written (an older run, a killed one)
        return None


def gather(client: Any, run_id: str, uri: str) -> StudyReport:
    """Everything the report shows about one study run."""
    from ..tracking.store import run_url

    run = client.get_run(run_id)
    tags = run.data.tags
    with tempfile.TemporaryDirectory() as scratch:
        claims_csv = _artifact(client, run_id, "tables/claims.csv", scratch)
        headlines_csv = _artifact(client, run_id, "tables/headlines.csv", scratch)
        config = _artifact(client, run_id, "config.json", scratch)
        environment = _artifact(client, run_id, "environment.json", scratch)
        figures = [item.path for item in client.list_artifacts(run_id, "figures")]
        key = tags.get("transfer.key_figure") or next(iter(figures), "")
        figure = _artifact(client, run_id, key, scratch) if key else None
    study = tags.get("transfer.study", run.info.run_name)
    theory = tags.get("transfer.theory", "") or study
    claims, headlines = (list(csv.DictReader(io.StringIO(table.decode()))) if table else []
                         for table in (claims_csv, headlines_csv))
    for claim in claims:
        claim["theory"] = claim.get("theory") or theory
    inputs = getattr(run, "inputs", None)
    datasets = [f"{item.dataset.name} ({item.dataset.digest})"
                for item in (getattr(inputs, "dataset_inputs", None) or [])]
    return StudyReport(
        study=study, run_id=run_id, run_name=run.info.run_name,
        experiment_id=run.info.experiment_id, status=run.info.status,
        started_ms=run.info.start_time or 0, theory=theory, claims=claims, headlines=headlines,
        config=json.loads(config) if config else {},
        environment=json.loads(environment) if environment else {},
        datasets=datasets, key_figure=key if figure else "", figure_png=figure or b"",
        url=run_url(uri, run.info.experiment_id, run_id), figures=figures,
    )


def verdict_counts(reports: list[StudyReport]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for report in reports:
        for claim in report.claims:
            counts[claim["verdict"]] = counts.get(claim["verdict"], 0) + 1
    return counts


def log_report(tracker: Any, page: str, markdown: str, reports: list[StudyReport]) -> str:
    """The page as ``report.html`` (and the verdicts as ``verdicts.md``) on a run of the
    ``transfer-reports`` experiment; the run's ID."""
    from ..tracking.tracker import NOTE, ROLE

    experiment_id = tracker.experiment("transfer-reports")
    counts = verdict_counts(reports)
    run = tracker.client.create_run(experiment_id, tags={
        ROLE: "report", "transfer.report_of": ",".join(r.run_id for r in reports)[:5000],
        NOTE: "A report over the study runs " + ", ".join(
            f"{r.study} ({r.run_id[:8]})" for r in reports) + ": open `report.html`.",
    }, run_name="report-" + "-".join(r.study for r in reports)[:200])
    run_id = str(run.info.run_id)
    tracker.client.log_text(run_id, page, "report.html")
    tracker.client.log_text(run_id, markdown, "verdicts.md")
    for verdict, count in counts.items():
        tracker.client.log_metric(run_id, f"claims.{verdict.lower()}", count)
    tracker.end(run_id, "FINISHED")
    return run_id
