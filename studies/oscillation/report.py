"""Tables, figures and the terminal summary of the oscillation study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table

from .claims import cells, measured_sizes
from .config import OscillationConfig
from .result import OscillationResult


def style(series: list[OscillationResult]) -> str:
    """Solid: interpolates at every size; dashed: at none; dash-dotted: at some."""
    flags = {cell.interpolates for cell in series}
    return "-" if flags == {True} else "--" if flags == {False} else "-."


def summarize(config: OscillationConfig,
              results: Mapping[Cell, OscillationResult | NotApplicable]) -> Summary:
    summary = Summary()
    done = cells(results)
    sizes = measured_sizes(config, done)
    clean = cells(results, control=True)
    rows = [(m.label, False, done[(m.label, s)]) for m in config.models for s in sizes
            if (m.label, s) in done]
    if not rows:
        return summary
    # the label-noise-0 control's cells follow (control True; on the terminal "model*")
    rows += [(m.label, True, clean[(m.label, s)]) for m in config.models for s in config.sizes
             if (m.label, s) in clean]
    table: dict[str, list[Any]] = {key: [] for key in (
        "model", "size", "control", "interpolates", "label_noise", "train_error", "test_error",
        "error_distance_mean", "error_distance_ci_low", "error_distance_ci_high",
        "error_distance_relative", "error_points", "reach_median", "reached_within_budget",
        "reached_ci_low", "reached_ci_high", "scale", "gradients", "gradients_minimum",
        "queries", "queries_minimum")}
    for label, control, cell in rows:
        mean = cell.error_mean()
        reached = cell.pooled_reached()
        values = (label, cell.size, control, cell.interpolates, cell.label_noise,
                  cell.train_error.rate, cell.test_error.rate, mean.mean, mean.ci_low,
                  mean.ci_high, mean.mean / cell.scale, mean.n, cell.reach_median(), reached.rate,
                  reached.ci_low, reached.ci_high, cell.scale, cell.gradients,
                  cell.gradients_minimum, cell.queries, cell.queries_minimum)
        for key, value in zip(table, values, strict=True):
            table[key].append(value)
    summary.tables["oscillation"] = Table(table, "per model and training-set size; control: "
                                                 "the label-noise-0 cells")
    classes: dict[str, list[Any]] = {"model": [], "size": [], "class": [], "median": [],
                                     "relative": [], "reached": [], "ci_low": [],
                                     "ci_high": []}
    for label, _, cell in (row for row in rows if not row[1]):
        for c, (median, rate) in enumerate(zip(cell.reach_medians(), cell.reached(),
                                               strict=True)):
            for key, value in (("model", label), ("size", cell.size), ("class", c),
                               ("median", median), ("relative", median / cell.scale),
                               ("reached", rate.rate), ("ci_low", rate.ci_low),
                               ("ci_high", rate.ci_high)):
                classes[key].append(value)
    summary.tables["noise_to_class"] = Table(
        classes, "from uniform noise to a confident prediction of each class")
    series = {m.label: [done[(m.label, s)] for s in sizes if (m.label, s) in done]
              for m in config.models}
    series = {label: cells_ for label, cells_ in series.items() if cells_}
    controls = {m.label: [clean[(m.label, s)] for s in config.sizes if (m.label, s) in clean]
                for m in config.models}
    summary.figures["error_distance"] = distance_figure(series, controls)
    summary.figures["noise_to_class"] = noise_figure(config, series)
    summary.key_figure = "error_distance"
    summary.terminal.append(Table(
        {"model": [f"{r[0]}*" if r[1] else r[0] for r in rows],
         "n": [r[2].size for r in rows],
         "train": [_percent(r[2].train_error.rate) for r in rows],
         "test": [_percent(r[2].test_error.rate) for r in rows],
         "d(error)": [r[2].error_mean().text(2) for r in rows],
         "/scale": [f"{r[2].error_mean().mean / r[2].scale:.3f}" for r in rows],
         "noise": [f"{r[2].reach_median() / r[2].scale:.2f}" for r in rows],
         "reached": [_percent(r[2].pooled_reached().rate) for r in rows],
         "grads/min": [f"{_k(r[2].gradients)}/{_k(r[2].gradients_minimum)}" for r in rows],
         "queries/min": [f"{_k(r[2].queries)}/{_k(r[2].queries_minimum)}" for r in rows]},
        "train and test error; distance to the nearest error (L2, mean [95% CI], and / data "
        "scale); noise → confident class (median / scale) and share reached within "
        f"{config.budget:g} × scale; gradients and queries spent / the minimum", keys=2))
    scale = rows[0][2].scale
    summary.notes.append(
        f"data scale: median L2 distance between test points of different classes = "
        f"{scale:.3f}; label noise {config.label_noise:g} (model*: the control, label noise 0 on "
        "the same points); distances are upper bounds (line searches along candidate "
        "directions); train err 0% = the model interpolates")
    return summary


def _k(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)


def _percent(rate: float) -> str:
    return "n/a" if math.isnan(rate) else f"{100 * rate:.1f}%"


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def distance_figure(series: dict[str, list[OscillationResult]],
                    controls: dict[str, list[OscillationResult]] | None = None) -> Any:
    """Mean distance to the nearest error against n (log x, 95% intervals), and the training
    and test errors against n; interpolating solid, non-interpolating dashed; the label-noise-0
    control's cells (``controls``) as open squares of the model's colour."""
    figure = _figure(11, 4.3)
    left, right = figure.subplots(1, 2)
    scale = next(iter(series.values()))[0].scale
    marked = False  # one legend entry for every model's label-noise-0 squares
    for k, (label, cells_) in enumerate(series.items()):
        n = [c.size for c in cells_]
        means = [c.error_mean() for c in cells_]
        colour = f"C{k % 10}"
        left.errorbar(n, [m.mean for m in means],
                      yerr=[[m.mean - m.ci_low for m in means], [m.ci_high - m.mean
                                                                 for m in means]],
                      ls=style(cells_), marker="o", ms=3, capsize=2, color=colour, label=label)
        control = (controls or {}).get(label, [])
        if control:
            left.plot([c.size for c in control], [c.error_mean().mean for c in control],
                      ls="none", marker="s", ms=6, mfc="none", color=colour,
                      label="_" if marked else "label noise 0 (same colour)")
            marked = True
        right.plot(n, [c.train_error.rate for c in cells_], ls=style(cells_), marker="o", ms=3,
                   color=colour, label=f"{label} train")
        right.plot(n, [c.test_error.rate for c in cells_], ls=":", marker="x", ms=4,
                   color=colour, label=f"{label} test")
    left.set_xscale("log")
    left.set_xlabel("training points n (log)")
    left.set_ylabel("mean L2 distance to the nearest error")
    left.secondary_yaxis("right", functions=(lambda v: v / scale, lambda v: v * scale)
                         ).set_ylabel("/ data scale")
    left.set_title("distance to the nearest error (95% CI); solid: training error 0 at every n, "
                   "dashed: never", fontsize=9)
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    right.set_xscale("log")
    right.set_xlabel("training points n (log)")
    right.set_ylabel("error rate")
    right.set_title("training error (0: interpolation) and test error (dotted)", fontsize=9)
    right.grid(alpha=0.3)
    right.legend(fontsize=6, ncol=2)
    return figure


def noise_figure(config: OscillationConfig, series: dict[str, list[OscillationResult]]) -> Any:
    """Per class, the median distance from noise to a confident prediction (/ data scale) at
    the largest size, and the share reached within the budget against n."""
    figure = _figure(11, 4.3)
    left, right = figure.subplots(1, 2)
    for k, (label, cells_) in enumerate(series.items()):
        last = cells_[-1]
        medians = [m / last.scale for m in last.reach_medians()]
        colour = f"C{k % 10}"
        left.plot(range(len(medians)), medians, ls=style(cells_), marker="o", ms=3,
                  color=colour, label=f"{label} (n = {last.size})")
        right.plot([c.size for c in cells_], [c.pooled_reached().rate for c in cells_],
                   ls=style(cells_), marker="o", ms=3, color=colour, label=label)
    left.axhline(config.budget, color="grey", lw=1, ls=":", label=f"budget {config.budget:g}")
    left.set_xlabel("class")
    left.set_ylabel("median distance from noise / data scale")
    left.set_title(f"noise → confident class (≥ {config.confidence:g}), largest n", fontsize=9)
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    right.set_xscale("log")
    right.set_ylim(0, 1)
    right.set_xlabel("training points n (log)")
    right.set_ylabel(f"share of (image, class) within {config.budget:g} × scale")
    right.set_title("noise images reaching a class within the budget", fontsize=9)
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    return figure
