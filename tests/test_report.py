"""`transfer report`: one self-contained page over the study runs of a store, per theory its
claims, values, verdicts and key figure, rendered in a real headless Chromium (no console
errors, every figure shown); the verdicts as a Markdown table written into a README's markers;
the page logged to MLflow; clear errors for an empty store or an unknown study."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from transfer import run_study
from transfer.cli.main import cli
from transfer.cli.report_command import MARKERS
from transfer.tracking.tracker import Tracker

from .browser import browse
from .conftest import tiny_config
from .test_claims import SCORE_PLUGIN

LIPSCHITZ = {"study": "lipschitz", "n_points": 20,
             "models": ["softmax", {"name": "mlp", "params": {"epochs": 5}}]}
SUBSPACE = {"study": "subspace-dimension", "n_points": 20, "l2_eps": [2.0], "max_k": 8,
            "models": [{"name": "softmax", "params": {"epochs": 10}}, "logreg"]}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with a transfer matrix, a lipschitz and a subspace-dimension study, and a plugin
    study with its own theory and no figure."""
    folder = tmp_path_factory.mktemp("report")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    plugins = folder / "plugins"
    plugins.mkdir()
    (plugins / "score.py").write_text(SCORE_PLUGIN)
    (folder / "score.toml").write_text('study = "score"\n')
    score = CliRunner().invoke(cli, ["study", "run", str(folder / "score.toml"), "--no-progress",
                                     "--plugins-dir", str(plugins), "--tracking-uri", uri])
    assert score.exit_code == 0, score.output
    runs = [run_study(config, tracking_uri=uri) for config in (tiny_config(), LIPSCHITZ, SUBSPACE)]
    return folder, uri, runs


def test_the_report_shows_every_theory_claim_and_figure_in_a_browser(store):
    folder, uri, runs = store
    readme = folder / "README.md"
    intro = f"# Ours\n\nIntro quoting `{MARKERS[0]}` in a sentence.\n\n"
    readme.write_text(f"{intro}{MARKERS[0]}\nstale table\n{MARKERS[1]}\n\nAfter.\n")
    page = folder / "report.html"
    out = CliRunner().invoke(cli, ["report", "--tracking-uri", uri, "-o", str(page),
                                   "--markdown", str(readme)])
    assert out.exit_code == 0, out.output
    assert f"{len(runs) + 1} study run(s): lipschitz" in out.output and "score" in out.output

    html = page.read_text()
    assert not re.search(r"""src=['"](?!data:)|<link""", html), \
        "the page fetches nothing: styles inline, figures embedded"
    dom, console = browse(page.as_uri(), "report")
    assert console == [], console
    images = html.count("<img ")
    with_figures = sum(1 for run in runs if run.summary.figures)  # the plugin study has none
    assert images == 2 * with_figures == 6, "each built-in study's key figure, twice"
    assert f'data-figures="{images} of {images}"' in dom, "every figure was decoded and shown"
    for run in runs:
        assert run.run_id in dom
        for claim, finding in run.claims:
            assert f'id="claim-{claim.id}">{finding.verdict}</span>' in dom, claim.id
    shown = sorted((dom.index(f">{t}</td>"), t) for t in (
        "Scores above thresholds", "Transferability", "Large Lipschitz constant",
        "Adversarial subspaces"))
    assert [t for _, t in shown] == ["Large Lipschitz constant", "Adversarial subspaces",
                                     "Transferability", "Scores above thresholds"], \
        "the survey's order, a plugin's theory last"
    found = {h.id: m for h, m in runs[2].headlines}["directions-found"]
    assert "measured their way" in dom and escape(found.text) in dom
    assert "no figure" in dom and "digits-train" in dom and "git commit" in dom

    text = readme.read_text()
    assert text.startswith(intro) and text.endswith("\n\nAfter.\n")
    assert "stale table" not in text and "transfer report --markdown README.md" in text
    for run in runs:
        for claim, finding in run.claims:
            assert f"(`{claim.id}`) | **{finding.verdict}** |" in text
    assert "(`directions-found`)" in text and found.text in text

    client = MlflowClient(uri)
    logged = client.search_runs(
        [client.get_experiment_by_name("transfer-reports").experiment_id],
        "tags.`transfer.role` = 'report'")
    assert len(logged) == 1
    stored = Path(client.download_artifacts(logged[0].info.run_id, "report.html", str(folder)))
    assert stored.read_text() == html
    passes = sum(f.verdict == "PASS" for run in runs for _, f in run.claims) + 1  # score's
    assert logged[0].data.metrics["claims.pass"] == passes


def test_the_report_takes_study_names_and_fails_cleanly(store, tmp_path):
    folder, uri, runs = store
    page = tmp_path / "one.html"
    one = CliRunner().invoke(cli, ["report", "lipschitz", "--tracking-uri", uri, "--no-log",
                                   "-o", str(page)])
    assert one.exit_code == 0, one.output
    assert runs[1].run_id in page.read_text() and runs[0].run_id not in page.read_text()

    unknown = CliRunner().invoke(cli, ["report", "lipschits", "--tracking-uri", uri])
    assert unknown.exit_code == 1 and "no study run or study named 'lipschits'" in unknown.output
    assert "lipschitz" in unknown.output and "Traceback" not in unknown.output
    empty_uri = f"sqlite:///{tmp_path / 'empty.db'}"
    report_empty = ["report", "--tracking-uri", empty_uri, "-o", str(tmp_path / "x.html")]
    absent = CliRunner().invoke(cli, report_empty)  # no store there: none is created
    assert absent.exit_code == 1 and "no MLflow store at" in absent.output
    assert not (tmp_path / "empty.db").exists()
    Tracker(empty_uri)  # a store without study runs
    empty = CliRunner().invoke(cli, report_empty)
    assert empty.exit_code == 1 and "holds no study run yet" in empty.output
    assert not (tmp_path / "x.html").exists()
