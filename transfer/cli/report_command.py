"""``transfer report``: one self-contained HTML page over study runs, also logged to MLflow."""

from __future__ import annotations

import re
from pathlib import Path

import click

from .common import user_error

MARKERS = ("<!-- verdicts:start -->", "<!-- verdicts:end -->")


def write_markdown(path: Path, table: str, command: str) -> None:
    """The tables into ``path``: between the marker lines when the file has them (a README
    keeps the rest of its text), else as the whole file. A marker counts only on a line of its
    own, so text that merely quotes it is left alone."""
    note = f"<!-- written by `{command}`; do not edit by hand -->"
    block = f"{MARKERS[0]}\n{note}\n{table}{MARKERS[1]}"
    text = path.read_text() if path.exists() else ""
    found = [list(re.finditer(rf"^{re.escape(marker)}$", text, re.M)) for marker in MARKERS]
    if len(found[0]) > 1 or len(found[1]) > 1:
        raise ValueError(f"{path} has more than one {MARKERS[0]} or {MARKERS[1]} line")
    if found[0] and found[1] and found[0][0].start() < found[1][0].start():
        path.write_text(text[: found[0][0].start()] + block + text[found[1][0].end():])
    else:
        path.write_text(block + "\n")


@click.command()
@click.argument("runs", nargs=-1)
@click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI",
              help="MLflow store [default: sqlite:///<cwd>/mlflow.db; also MLFLOW_TRACKING_URI].")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="transfer-report.html",
              show_default=True, help="Where to write the HTML page.")
@click.option("--markdown", type=click.Path(dir_okay=False),
              help="Also write the verdicts as a Markdown table to this file (between "
                   "<!-- verdicts:start --> and <!-- verdicts:end --> if it has them, as in "
                   "README.md).")
@click.option("--log/--no-log", default=True, show_default=True,
              help="Log the page to the MLflow experiment transfer-reports.")
def report(runs: tuple[str, ...], tracking_uri: str | None, output: str, markdown: str | None,
           log: bool) -> None:
    """One self-contained HTML page of what the theories of adversarial examples predict and
    what the study runs say: per theory, each prediction, the experiment, the measured value,
    the verdict and the key figure, with the config, data and code version behind them.

    RUNS are run IDs, unique starts of run IDs, or study names (their latest run); without
    any, the latest finished run of every study in the store.

    \b
      transfer report                                   every study in ./mlflow.db
      transfer report transfer-matrix lipschitz -o page.html
    """
    from ..presentation.report import gather, log_report, study_runs, verdict_counts
    from ..presentation.report_page import render_html, render_markdown
    from ..presentation.run_view import RunNotFound
    from ..tracking.store import TrackingUnavailable, default_tracking_uri, missing_store, run_url
    from ..tracking.tracker import Tracker

    tracking_uri = tracking_uri or default_tracking_uri()
    if missing := missing_store(tracking_uri):
        raise click.ClickException(missing)
    try:
        tracker = Tracker(tracking_uri)
        reports = [gather(tracker.client, run_id, tracker.uri)
                   for run_id in study_runs(tracker.client, runs)]
        page = render_html(reports, tracker.uri)
        table = render_markdown(reports)
        Path(output).write_text(page)
        if markdown:
            command = "transfer report " + " ".join([*runs, "--markdown", Path(markdown).name])
            write_markdown(Path(markdown), table, command)
        logged = log_report(tracker, page, table, reports) if log else None
    except (RunNotFound, TrackingUnavailable, ValueError) as error:
        raise user_error(str(error), error) from None
    except OSError as error:
        raise user_error(f"cannot write {error.filename or output}: {error.strerror}",
                         error) from None
    counts = verdict_counts(reports)
    click.echo(f"{len(reports)} study run(s): " + ", ".join(
        f"{r.study} ({r.run_id[:8]})" for r in reports))
    click.echo("claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    click.echo(f"report: {Path(output).resolve()}")
    if markdown:
        click.echo(f"verdicts (Markdown): {markdown}")
    if logged:
        experiment = tracker.client.get_run(logged).info.experiment_id
        click.echo(f"MLflow: {run_url(tracker.uri, experiment, logged)} (artifact report.html)")
