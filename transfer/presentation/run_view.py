"""``transfer study show``: find a study run by ID, ID prefix or study name, and turn its stored
tables into readable ones (rates as percentages with their 95% intervals, internals hidden)."""

from __future__ import annotations

import csv
import io
import math
import tempfile
from pathlib import Path
from typing import Any

from ..contracts.summary import Table
from ..tracking.cell_runs import NOT_APPLICABLE_TAG

INTERNAL_TAGS = ("transfer.model_runs", "transfer.config_hash", "transfer.role")
RATE_PARTS = ("_ci_low", "_ci_high", "_count", "_n")


class RunNotFound(LookupError):
    """No study run matches (or several do); the message lists what there is."""


def study_runs_in(client: Any) -> list[Any]:
    """Every study run of the store, in every experiment, the newest first."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(
        experiments, "tags.`transfer.role` = 'study'", order_by=["attributes.start_time DESC"],
        max_results=5000,
    )) if experiments else []


def resolve_run(client: Any, reference: str) -> str:
    """The run ID ``reference`` names: a full run ID, a unique prefix of a study run's ID, or a
    study name (its latest run)."""
    studies = study_runs_in(client)
    by_study = [r for r in studies if r.data.tags.get("transfer.study") == reference]
    if by_study:
        return str(by_study[0].info.run_id)
    matches = [r for r in studies if r.info.run_id.startswith(reference)]
    if len(matches) == 1:
        return str(matches[0].info.run_id)
    if len(matches) > 1:
        listed = ", ".join(f"{r.info.run_id} ({r.data.tags.get('transfer.study')})"
                           for r in matches[:5])
        raise RunNotFound(f"{reference!r} is the start of {len(matches)} study runs: {listed}; "
                          f"give more characters")
    known = sorted({str(r.data.tags.get("transfer.study")) for r in studies})
    raise RunNotFound(
        f"no study run or study named {reference!r} in this store"
        + (f"; studies with runs here: {', '.join(known)}" if known else "; it holds no study run")
    )


def describe(client: Any, run_id: str) -> dict[str, Any]:
    """A parent run's status, tags and tables, for ``transfer study show``."""
    run = client.get_run(run_id)
    with tempfile.TemporaryDirectory() as scratch:
        tables = {}
        for item in client.list_artifacts(run_id, "tables"):
            if item.path.endswith(".csv"):
                local = client.download_artifacts(run_id, item.path, scratch)
                tables[Path(item.path).stem] = Path(local).read_text()
        figures = [f.path for f in client.list_artifacts(run_id, "figures")]
    return {
        "run_id": run_id,
        "name": run.info.run_name,
        "status": run.info.status,
        "experiment_id": run.info.experiment_id,
        "tags": {k: v for k, v in run.data.tags.items()  # n/a cells: in the tables
                 if k.startswith("transfer.") and not k.startswith(NOT_APPLICABLE_TAG)},
        "metrics": run.data.metrics,
        "tables": tables,
        "figures": figures,
    }


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}%"


def readable(header: list[str], rows: list[list[str]], verbose: bool = False
             ) -> tuple[list[str], list[list[str]]]:
    """A stored table made readable: each rate ``r`` with ``r_ci_low`` / ``r_ci_high`` columns
    becomes one ``r (95% CI)`` column of percentages; its count and n columns are hidden unless
    ``verbose``; columns without any value are dropped; other numbers get 4 significant digits."""
    index = {name: i for i, name in enumerate(header)}
    rates = [name for name in header
             if f"{name}_ci_low" in index and f"{name}_ci_high" in index]
    hidden = {f"{r}{part}" for r in rates for part in RATE_PARTS if verbose is False
              or part in ("_ci_low", "_ci_high")}
    columns: list[tuple[str, Any]] = []
    for name in header:
        if name in hidden:
            continue
        if name in rates:
            def cell(row: list[str], r: str = name) -> str:
                value, low, high = (_number(row[index[k]]) for k in (r, f"{r}_ci_low",
                                                                       f"{r}_ci_high"))
                if value is None or math.isnan(value):
                    return ""
                assert low is not None and high is not None
                return f"{percent(value)} [{100 * low:.1f}, {100 * high:.1f}]"
            columns.append((f"{name} (95% CI)", cell))
        else:
            def plain(row: list[str], i: int = index[name]) -> str:
                value = _number(row[i])
                if value is None or value.is_integer() and "." not in row[i]:
                    return row[i]
                return "" if math.isnan(value) else f"{value:.4g}"
            columns.append((name, plain))
    shown = [[make(row) for _, make in columns] for row in rows]
    keep = [j for j in range(len(columns)) if any(r[j] not in ("", "nan") for r in shown)]
    return [columns[j][0] for j in keep], [[r[j] for j in keep] for r in shown]


KEY_COLUMNS = ("attack", "eps", "source", "target", "model", "role", "norm", "k", "d", "m")


def shown_tables(tables: dict[str, str], verbose: bool, rows: int = 40) -> list[Table]:
    """The stored CSV tables as readable terminal tables (the first ``rows`` rows unless
    ``verbose``)."""
    shown = []
    for name, text in tables.items():
        lines = list(csv.reader(io.StringIO(text)))
        header, body = readable(lines[0], lines[1:], verbose)
        limit = len(body) if verbose else rows
        columns = {h: [r[j] for r in body[:limit]] for j, h in enumerate(header)}
        keys = max(1, sum(1 for h in header if h in KEY_COLUMNS))
        title = name if len(body) <= limit else (
            f"{name} (first {limit} of {len(body)} rows; --verbose or tables/{name}.csv for all)")
        shown.append(Table(columns, title, keys))
    return shown
