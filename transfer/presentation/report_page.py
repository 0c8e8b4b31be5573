"""The report as one self-contained HTML page (styles inline, figures embedded, nothing fetched)
and the verdicts as a Markdown table, in the style of Dobriban's survey of the theories of
adversarial examples: per theory, its predictions, the experiments, the values and the verdicts."""

from __future__ import annotations

import datetime as dt
import json
import math
from html import escape
from itertools import groupby

from .report import StudyReport, verdict_counts

# The survey's order; a plugin study's theory comes after these, alphabetically.
THEORY_ORDER = ("Large Lipschitz constant", "Linearity in high dimension",
                "Low-dimensional data manifold", "Boundary tilting",
                "Noise vs adversarial directions", "Adversarial subspaces", "Transferability",
                "Adversarial training", "Non-robust features", "Concentration of measure",
                "Test error in noise", "Oscillation")

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1280px;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d0d5; padding: .45rem .55rem; vertical-align: top; text-align: left; }
th { background: #f2f2f5; }
td.theory { font-weight: 600; background: #fafafc; }
.verdict { display: inline-block; padding: .1rem .45rem; border-radius: .3rem; font-weight: 700;
           font-size: .85rem; letter-spacing: .02em; }
.PASS { background: #d8f3dc; color: #1b5e20; } .FAIL { background: #ffd6d6; color: #8b0000; }
.INCONCLUSIVE { background: #fff0c2; color: #6d4c00; }
.small { color: #444; font-size: .88rem; }
td.figure img { width: 240px; } figure img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f6f6f8; padding: .8rem; overflow-x: auto; font-size: .82rem; }
dt { font-weight: 600; } dd { margin: 0 0 .5rem 1rem; }
"""

# Marks the page with how many figures the browser could show, so a reader (or a test) sees a
# broken one at once.
SCRIPT = """
window.addEventListener("load", () => {
  const images = [...document.images];
  const shown = images.filter((image) => image.complete && image.naturalWidth > 0).length;
  document.body.dataset.figures = `${shown} of ${images.length}`;
});
"""


def _theory_rank(theory: str) -> tuple[int, str]:
    return (THEORY_ORDER.index(theory), "") if theory in THEORY_ORDER else (len(THEORY_ORDER),
                                                                            theory)


def _value(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return escape(text)
    return "–" if math.isnan(number) else f"{number:.4g}"


def _anchor(report: StudyReport) -> str:
    return f"study-{report.study}-{report.run_id[:8]}"


def _rows(reports: list[StudyReport]) -> list[tuple[StudyReport, dict[str, str]]]:
    rows = [(report, claim) for report in reports for claim in report.claims]
    return sorted(rows, key=lambda row: _theory_rank(row[1]["theory"]))


def _stated(claim: dict[str, str]) -> str:
    """The claim's control and minimum sample (absent from runs of older versions)."""
    parts = [f"{name}: {escape(claim[key])}" for key, name in
             (("control", "control"), ("minimum", "needs")) if claim.get(key)]
    return "".join(f"<br>{part}" for part in parts)


def _theory_table(reports: list[StudyReport]) -> str:
    out = ["<table class='theories'><thead><tr><th>Theory</th><th>Prediction</th>"
           "<th>Experiment</th><th>Measured</th><th>Verdict</th><th>Key figure</th></tr>"
           "</thead><tbody>"]
    for theory, group in groupby(_rows(reports), key=lambda row: row[1]["theory"]):
        members = list(group)
        for i, (report, claim) in enumerate(members):
            out.append("<tr>")
            if i == 0:
                out.append(f"<td class='theory' rowspan='{len(members)}'>{escape(theory)}</td>")
            verdict = escape(claim["verdict"])
            out.append(
                f"<td>{escape(claim['claim'])} <span class='small'>({escape(claim['paper'])})"
                f"</span></td>"
                f"<td><a href='#{_anchor(report)}'>{escape(report.study)}</a>: "
                f"{escape(claim['quantity'])}<br><span class='small'>test: "
                f"{escape(claim['test'])}{_stated(claim)}</span></td>"
                f"<td><b>{escape(claim.get('effect') or _value(claim['value']))}</b><br>"
                f"<span class='small'>"
                f"{escape(claim['evidence'])}</span></td>"
                f"<td><span class='verdict {verdict}' id='claim-{escape(claim['id'])}'>"
                f"{verdict}</span><br><span class='small'>{escape(claim['id'])}</span></td>")
            first_of_study = i == 0 or members[i - 1][0] is not report
            if first_of_study:
                span = 1
                while i + span < len(members) and members[i + span][0] is report:
                    span += 1
                figure = (f"<a href='#{_anchor(report)}'><img src='{report.figure_data_uri}' "
                          f"alt='key figure of {escape(report.study)}'></a>"
                          if report.figure_png else "<span class='small'>no figure</span>")
                out.append(f"<td class='figure' rowspan='{span}'>{figure}</td>")
            out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _headline_table(reports: list[StudyReport]) -> str:
    rows = [(report, headline) for report in reports for headline in report.headlines]
    if not rows:
        return ""
    body = "".join(
        f"<tr><td><a href='#{_anchor(report)}'>{escape(report.study)}</a></td>"
        f"<td>{escape(h['quantity'])}</td><td>{escape(h['paper'])}: "
        f"{escape(h['paper_value'] or 'no number quoted')}</td>"
        f"<td><b>{_value(h['value'])}</b><br><span class='small'>{escape(h['ours'])}</span></td>"
        f"</tr>" for report, h in rows)
    return ("<h2>The papers' headline numbers, measured their way</h2><p>Each paper's own "
            "number, on its own data and models, next to the same quantity measured here.</p>"
            "<table class='headlines'><thead><tr><th>Study</th><th>Quantity</th><th>Paper</th>"
            f"<th>Here</th></tr></thead><tbody>{body}</tbody></table>")


def _study_section(report: StudyReport) -> str:
    environment = report.environment
    versions = environment.get("versions", {})
    started = dt.datetime.fromtimestamp(report.started_ms / 1000, dt.UTC).strftime(
        "%Y-%m-%d %H:%M UTC")
    code = (f"transfer {escape(str(versions.get('transfer', '?')))}, git commit "
            f"<code>{escape(str(environment.get('git_commit', 'unknown')))}</code>; "
            + ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in versions.items()
                        if k != "transfer")
            + f"; Python {escape(str(environment.get('python', '?')))} on "
              f"{escape(str(environment.get('device', '?')))}")
    figure = (f"<figure><img src='{report.figure_data_uri}' alt='{escape(report.key_figure)}'>"
              f"<figcaption class='small'>{escape(report.key_figure)} (all figures: "
              f"{escape(', '.join(report.figures))})</figcaption></figure>"
              if report.figure_png else "")
    claims = "" if report.claims else (
        "<p><b>This run logged no claims</b> (it was run by an older transfer, or it stopped "
        "before its summary): run the study again to evaluate them.</p>")
    return (
        f"<section id='{_anchor(report)}'><h2>{escape(report.study)}</h2>"
        f"<p class='meta'>run <code>{escape(report.run_id)}</code> ({escape(report.run_name)}), "
        f"status {escape(report.status)}, started {started} · "
        f"<a href='{escape(report.url)}'>MLflow run page</a></p>{claims}{figure}"
        f"<dl><dt>Data</dt><dd>{escape(', '.join(report.datasets) or 'not recorded')}</dd>"
        f"<dt>Code</dt><dd>{code}</dd></dl>"
        f"<details><summary>Config</summary><pre>"
        f"{escape(json.dumps(report.config, indent=2, sort_keys=True))}</pre></details></section>"
    )


def render_html(reports: list[StudyReport], store: str) -> str:
    """The whole page."""
    counts = verdict_counts(reports)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    tally = " ".join(f"<span class='verdict {v}'>{v}</span> {n}" for v, n in counts.items())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>transfer report: what causes adversarial examples?</title>"
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>"
        "<h1>What causes adversarial examples? What these runs say</h1>"
        f"<p class='meta'>{len(reports)} study run(s) from <code>{escape(store)}</code>, "
        f"report made {now}</p><p>{tally}</p>"
        "<p>Each row is a prediction of a theory of adversarial examples, the experiment that "
        "tests it, the value measured in these runs, and the verdict: <b>PASS</b> (the data "
        "support it), <b>FAIL</b> (they contradict it) or <b>INCONCLUSIVE</b> (too few points, "
        "intervals that overlap, a value between the thresholds). The theories follow the "
        "table of Dobriban's survey <i>What causes adversarial examples?</i> (2020).</p>"
        f"{_theory_table(reports)}{_headline_table(reports)}"
        f"{''.join(_study_section(r) for r in reports)}</body></html>\n"
    )


def render_markdown(reports: list[StudyReport]) -> str:
    """The verdicts as a Markdown table (for a README)."""
    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = ["| theory | study | claim | verdict | effect [95% interval] (n) | measured |",
             "|---|---|---|---|---|---|"]
    for report, claim in _rows(reports):
        lines.append(f"| {cell(claim['theory'])} | {cell(report.study)} | {cell(claim['claim'])} "
                     f"(`{claim['id']}`) | **{claim['verdict']}** | "
                     f"{cell(claim.get('effect') or _value(claim['value']))} | "
                     f"{cell(claim['evidence'])} |")
    headlines = [(report, h) for report in reports for h in report.headlines]
    if headlines:
        lines += ["", "| study | paper's headline number | paper | here |", "|---|---|---|---|"]
        lines += [f"| {cell(report.study)} | {cell(h['quantity'])} (`{h['id']}`) | "
                  f"{cell(h['paper'])}: {cell(h['paper_value'] or 'no number quoted')} | "
                  f"{cell(h['ours'])} |" for report, h in headlines]
    return "\n".join(lines) + "\n"
