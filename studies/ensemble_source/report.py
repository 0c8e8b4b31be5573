"""Tables, grouped bar charts and the terminal summary of the ensemble-source study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table, status_of

from .config import EnsembleSourceConfig
from .result import EnsembleResult

COLUMNS = ("best_single_rate", "mean_single_rate", "ensemble_transfer_rate")
MATCHING = ("best_single_matching_rate", "mean_single_matching_rate", "ensemble_matching_rate")


def summarize(
    config: EnsembleSourceConfig,
    cells: list[Cell],
    results: Mapping[Cell, EnsembleResult | NotApplicable],
) -> Summary:
    rows: dict[str, list[Any]] = {name: [] for name in (
        "attack", "eps", "target", "status", "members", *COLUMNS, "ensemble_ci_low",
        "ensemble_ci_high", "ensemble_n", "ensemble_minus_best", "ensemble_minus_mean", *MATCHING,
        "reason")}
    whitebox: dict[str, list[Any]] = {"attack": [], "eps": [], "member": [], "whitebox_rate": []}
    groups: dict[tuple[str, float], list[tuple[str, list[float]]]] = {}
    summary = Summary()
    for cell in cells:
        result = results.get(cell)
        done = result if isinstance(result, EnsembleResult) else None
        status = status_of(result)
        if cell["kind"] == "whitebox":
            if done is not None:
                for member, entry in done.whitebox.items():
                    whitebox["attack"].append(cell["attack"])
                    whitebox["eps"].append(cell["eps"])
                    whitebox["member"].append(member)
                    whitebox["whitebox_rate"].append(entry.rate)
            continue
        metrics = done.metrics() if done is not None else {}
        rows["attack"].append(cell["attack"])
        rows["eps"].append(cell["eps"])
        rows["target"].append(cell["target"])
        rows["status"].append(status)
        rows["members"].append(" ".join(done.members) if done is not None else "")
        for name in (*COLUMNS, "ensemble_minus_best", "ensemble_minus_mean", *MATCHING):
            rows[name].append(metrics.get(name, math.nan))
        ensemble = done.ensemble if done is not None else None
        rows["ensemble_ci_low"].append(ensemble.ci_low if ensemble else math.nan)
        rows["ensemble_ci_high"].append(ensemble.ci_high if ensemble else math.nan)
        rows["ensemble_n"].append(ensemble.n if ensemble else 0)
        rows["reason"].append(result.reason if isinstance(result, NotApplicable)
                              else "" if result is not None else "cell did not finish")
        if done is not None:
            groups.setdefault((cell["attack"], cell["eps"]), []).append(
                (cell["target"], [metrics[c] for c in COLUMNS]))
    summary.tables["ensemble_source"] = Table(rows, "leave-one-out ensemble vs single sources")
    if whitebox["member"]:
        summary.tables["whitebox"] = Table(whitebox, "ensemble of all sources on each member")
    for (attack, eps), bars in groups.items():
        summary.figures[f"bars_{attack}_eps{eps:g}"] = grouped_bars(
            bars, f"transfer rate: {attack}, eps = {eps:g}")
        gains = [v[2] - v[1] for _, v in bars if v[2] == v[2] and v[1] == v[1]]
        if gains:
            summary.metrics[f"mean_gain_over_mean_single.{attack}.eps{eps:g}"] = (
                sum(gains) / len(gains))

    targeted = any(m == m for m in rows["ensemble_matching_rate"])
    terminal: dict[str, list[Any]] = {"attack": [], "eps": [], "target": [], "best single": [],
                                      "mean single": [], "ensemble": [], "Δ vs mean": []}
    if targeted:
        terminal.update({"match: best": [], "match: ensemble": []})
    for i in range(len(rows["target"])):
        if rows["status"][i] != "ok":
            continue
        terminal["attack"].append(rows["attack"][i])
        terminal["eps"].append(f"{rows['eps'][i]:g}")
        terminal["target"].append(rows["target"][i])
        terminal["best single"].append(_percent(rows["best_single_rate"][i]))
        terminal["mean single"].append(_percent(rows["mean_single_rate"][i]))
        terminal["ensemble"].append(_percent(rows["ensemble_transfer_rate"][i]))
        terminal["Δ vs mean"].append(_percent(rows["ensemble_minus_mean"][i], signed=True))
        if targeted:
            terminal["match: best"].append(_percent(rows["best_single_matching_rate"][i]))
            terminal["match: ensemble"].append(_percent(rows["ensemble_matching_rate"][i]))
    summary.terminal.append(Table(terminal, "transfer rate (%) to each target: single sources "
                                            "vs their leave-one-out ensemble"))
    return summary


def _percent(value: float, signed: bool = False) -> str:
    if value != value:
        return "–"
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"


def grouped_bars(bars: list[tuple[str, list[float]]], title: str) -> Any:
    """Per target: best single source, mean single source and ensemble, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    labels = [target for target, _ in bars]
    values = np.array([v for _, v in bars], dtype=float)
    figure = Figure(figsize=(max(5.0, 1.0 * len(labels) + 2), 3.8))
    axes = figure.add_subplot()
    width = 0.27
    positions = np.arange(len(labels))
    for k, name in enumerate(("best single source", "mean single source", "ensemble")):
        axes.bar(positions + (k - 1) * width, np.nan_to_num(values[:, k]), width, label=name)
    axes.set_xticks(positions, labels, rotation=45, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("transfer rate")
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure
