"""Tables, figures and the terminal summary of the manifold study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Mean, NotApplicable, Summary, Table, status_of

from .config import ManifoldConfig
from .result import ManifoldResult


def summarize(config: ManifoldConfig, cells: list[Cell],
              results: Mapping[Cell, ManifoldResult | NotApplicable]) -> Summary:
    summary = Summary()
    done = {c["model"]: r for c, r in results.items() if isinstance(r, ManifoldResult)}
    left_out = [(c["model"], results.get(c)) for c in cells if c["model"] not in done]
    models = [m.label for m in config.models if m.label in done]
    if models:
        rows = [_row(done[m]) for m in models]
        table: dict[str, list[Any]] = {"model": models}
        table.update({key: [row[key] for row in rows] for key in rows[0]})
        summary.tables["manifold"] = Table(table, "per model: DeepFool's r* against the local "
                                                  "tangent plane T (local PCA) and a random plane")
        summary.tables["points"] = Table(_points(done, models), "per point and model")
        summary.figures["restricted_ratios"] = ratio_figure(done, models)
        summary.figures["tangent_share"] = share_figure(done, models)
        summary.key_figure = "restricted_ratios"
        first = done[models[0]]
        summary.terminal.append(Table(
            {"model": models, "r*": [f"{r['fooled']}/{r['correct']}" for r in rows],
             "share T": [done[m].share().text(2) for m in models],
             "m/d": [f"{r['expected_share']:.3f}" for r in rows],
             "r_T/r*": [_two(r["tangent_ratio_median"]) for r in rows],
             "r_S/r*": [_two(r["random_ratio_median"]) for r in rows],
             "no flip T/S": [f"{r['tangent_no_flip']}/{r['random_no_flip']}" for r in rows],
             "var. T": [f"{100 * r['explained_mean']:.0f}%" for r in rows],
             "leave": [_two(r["leaving_median"]) for r in rows]},
            f"local tangent planes (m = {config.dimension} of d = {first.d}, "
            f"{config.neighbours} neighbours): share T = mean ‖P_T r*‖²/‖r*‖²; medians of "
            f"‖r_T‖/‖r*‖ and ‖r_S‖/‖r*‖ (√(d/m) = {first.predicted_ratio:.2f}; no flip = ∞); "
            "var. T: neighbours' variance in T; leave: median rise of the distance to the plane "
            "/ ‖r*‖", keys=1))
    if left_out:
        summary.terminal.append(Table(
            {"model": [m for m, _ in left_out],
             "why": [r.reason if isinstance(r, NotApplicable) else status_of(r)
                     for _, r in left_out]}, "cells left out"))
    return summary


def _two(value: float) -> str:
    return "n/a" if math.isnan(value) else "∞" if math.isinf(value) else f"{value:.2f}"


def _row(result: ManifoldResult) -> dict[str, Any]:
    metrics = result.metrics()
    share: Mean = result.share()
    return {"d": result.d, "m": result.dimension, "neighbours": result.neighbours,
            "points": result.points, "correct": result.correct, "fooled": result.fooled,
            "explained_mean": metrics["explained_mean"],
            "tangent_share_mean": share.mean, "tangent_share_ci_low": share.ci_low,
            "tangent_share_ci_high": share.ci_high,
            "tangent_share_median": metrics["tangent_share_median"],
            "expected_share": result.expected_share,
            "tangent_ratio_median": metrics["tangent_ratio_median"],
            "random_ratio_median": metrics["random_ratio_median"],
            "predicted_ratio": result.predicted_ratio,
            "tangent_no_flip": result.no_flip("tangent"),
            "random_no_flip": result.no_flip("random"),
            "clean_distance_ratio_median": metrics["clean_distance_ratio_median"],
            "leaving_median": metrics["leaving_median"]}


def _points(done: dict[str, ManifoldResult], models: list[str]) -> dict[str, list[Any]]:
    names = ("index", "deepfool_norm", "tangent_share", "tangent_ratio", "random_ratio",
             "explained", "clean_distance", "adversarial_distance")
    columns: dict[str, list[Any]] = {"model": [], **{name: [] for name in names}}
    for model in models:
        result = done[model]
        columns["model"] += [model] * result.fooled
        for name in names:
            columns[name] += list(getattr(result, name))
    return columns


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def ratio_figure(done: dict[str, ManifoldResult], models: list[str]) -> Any:
    """Per model, the distributions of ‖r_T‖/‖r*‖ (tangent plane) and ‖r_S‖/‖r*‖ (random plane
    of the same dimension) over the points where each flipped, √(d/m) dashed; the points where
    a restricted DeepFool never flipped are counted above their box."""
    figure = _figure(max(5.0, 1.6 * len(models) + 2), 4.2)
    axes = figure.add_subplot()
    colours = {"tangent": "C3", "random": "C7"}
    ticks, labels = [], []
    top = 1.0
    for i, model in enumerate(models):
        result = done[model]
        for offset, kind in ((-0.2, "tangent"), (0.2, "random")):
            values = [v for v in getattr(result, f"{kind}_ratio") if math.isfinite(v)]
            where = 1 + i + offset
            if values:
                box = axes.boxplot([values], positions=[where], widths=0.32, patch_artist=True,
                                   showfliers=True, flierprops={"markersize": 2})
                box["boxes"][0].set_facecolor(colours[kind])
                box["boxes"][0].set_alpha(0.6)
                top = max(top, max(values))
            missing = result.no_flip(kind)
            if missing:
                axes.annotate(f"{missing} ∞", (where, 1), xycoords=("data", "axes fraction"),
                              ha="center", va="bottom", fontsize=7)
        ticks.append(1 + i)
        labels.append(model)
    first = done[models[0]]
    axes.axhline(first.predicted_ratio, color="black", ls="--", lw=1,
                 label=f"√(d/m) = {first.predicted_ratio:.2f}")
    axes.axhline(1.0, color="black", ls=":", lw=1, label="‖r*‖ (full space)")
    for kind, colour in colours.items():
        axes.fill_between([], [], color=colour, alpha=0.6, label=f"restricted to the {kind} "
                          f"{first.dimension}-plane")
    axes.set_yscale("log")
    axes.set_ylim(0.8, max(top, first.predicted_ratio) * 1.5)
    axes.set_xticks(ticks, labels)
    axes.set_ylabel("‖r‖ / ‖r*‖ (DeepFool, restricted / full)")
    axes.set_title(f"on-manifold (local PCA, m = {first.dimension}) vs random {first.dimension}-"
                   f"plane: the norm a label change needs", fontsize=10)
    axes.legend(fontsize=7, loc="upper left")
    axes.grid(alpha=0.3, axis="y")
    return figure


def share_figure(done: dict[str, ManifoldResult], models: list[str]) -> Any:
    """Per model, the share of DeepFool's energy in the tangent plane, m/d dotted (a random
    direction's expectation), and how far x + r* lies from the plane compared with x."""
    figure = _figure(max(7.0, 2.4 * len(models) + 2), 3.8)
    share_axes, leave_axes = figure.subplots(1, 2)
    positions = list(range(1, len(models) + 1))
    shares = [done[m].tangent_share or [math.nan] for m in models]
    share_axes.boxplot(shares, positions=positions, widths=0.5, flierprops={"markersize": 2})
    expected = done[models[0]].expected_share
    share_axes.axhline(expected, color="black", ls=":", label=f"m/d = {expected:.3f}")
    share_axes.set_xticks(positions, models)
    share_axes.set_ylim(0, 1)
    share_axes.set_ylabel("‖P_T r*‖² / ‖r*‖²")
    share_axes.set_title("share of DeepFool's energy in the tangent plane", fontsize=9)
    share_axes.legend(fontsize=7)
    leaving = [done[m].leaving() or [math.nan] for m in models]
    leave_axes.boxplot(leaving, positions=positions, widths=0.5, flierprops={"markersize": 2})
    leave_axes.axhline(0, color="black", lw=0.8)
    leave_axes.set_xticks(positions, models)
    leave_axes.set_ylabel("(dist(x + r*, plane) − dist(x, plane)) / ‖r*‖")
    leave_axes.set_title("how far r* takes the point off the local plane", fontsize=9)
    return figure
