"""Tables, figures and the terminal summary of the boundary-tilting study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table

from .config import BoundaryTiltingConfig
from .result import TiltResult, sweep


def summarize(config: BoundaryTiltingConfig,
              results: Mapping[Cell, TiltResult | NotApplicable]) -> Summary:
    summary = Summary()
    by_value = {c["value"]: r for c, r in results.items()}
    columns: dict[str, list[Any]] = {config.param: [], "status": []}
    fields = ("theta", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "train_accuracy",
              "relative_distance", "relative_distance_ci_low", "relative_distance_ci_high",
              "relative_distance_n", "relative_distance_nc", "relative_distance_nc_ci_low",
              "relative_distance_nc_ci_high", "accuracy_nc", "w_norm", "b")
    columns.update({f: [] for f in fields})
    for value in config.by_strength(list(config.values)):
        result = by_value.get(value)
        columns[config.param].append(value)
        done = result if isinstance(result, TiltResult) else None
        columns["status"].append("ok" if done is not None else f"n/a: {result.reason}"
                                 if isinstance(result, NotApplicable) else "failed")
        metrics = done.metrics() if done is not None else {}
        for f in fields:
            columns[f].append(metrics.get(f, math.nan))
    summary.tables["sweep"] = Table(columns, f"tilt θ, accuracy and relative distance to the "
                                             f"boundary along the sweep of {config.param}")
    done_list = sweep(config, results)
    if not done_list:
        return summary
    summary.terminal.append(Table(
        {config.param: [f"{r.value:g}" for r in done_list],
         "θ (°)": [f"{r.theta:.1f}" for r in done_list],
         "accuracy": [r.accuracy.percent() for r in done_list],
         "‖δ‖/‖x‖": [r.relative_distance.text() for r in done_list]},
        f"{config.model.label} on classes {config.classes[0]} vs {config.classes[1]}: the angle θ "
        f"between w and μ₁ − μ₀, test accuracy, mean minimal L2 perturbation relative to ‖x‖ "
        f"(correct points), strongest regularisation first", keys=1))
    first = done_list[0]
    summary.notes.append(
        f"nearest-centroid classifier: accuracy {first.accuracy_nc.percent()}, mean ‖δ‖/‖x‖ "
        f"{first.relative_distance_nc.text()}")
    summary.metrics.update({"theta.strongest": first.theta, "theta.weakest": done_list[-1].theta})
    summary.figures["tilt"] = tilt_figure(config, done_list)
    summary.key_figure = "tilt"
    shape = first.input_shape
    if len(shape) == 2 or (len(shape) == 3 and shape[0] == 1):
        summary.figures["weights"] = weights_figure(config, done_list)
    return summary


def tilt_figure(config: BoundaryTiltingConfig, done: list[TiltResult]) -> Any:
    """θ, the mean relative distance to the boundary (the nearest-centroid classifier's
    dashed) and the test accuracy against the swept parameter, on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12.6, 3.6), layout="constrained")
    angle, distance, accuracy = figure.subplots(1, 3)
    values = [r.value for r in done]
    angle.plot(values, [r.theta for r in done], "o-", color="C3")
    angle.set_ylabel("θ = ∠(w, μ₁ − μ₀) (degrees)")
    angle.set_ylim(bottom=0)
    angle.set_title("tilt of the boundary", fontsize=9)
    means = [r.relative_distance for r in done]
    distance.errorbar(values, [m.mean for m in means],
                      yerr=[[m.mean - m.ci_low for m in means],
                            [m.ci_high - m.mean for m in means]],
                      fmt="o-", color="C0", capsize=3, label=config.model.label)
    distance.axhline(done[0].relative_distance_nc.mean, ls="--", color="C7",
                     label="nearest centroid")
    distance.set_ylabel("mean ‖δ‖₂/‖x‖ to the boundary")
    distance.set_ylim(bottom=0)
    distance.set_title("minimal adversarial perturbation (correct points)", fontsize=9)
    distance.legend(fontsize=7)
    rates = [r.accuracy for r in done]
    accuracy.errorbar(values, [r.rate for r in rates],
                      yerr=[[r.rate - r.ci_low for r in rates],
                            [r.ci_high - r.rate for r in rates]],
                      fmt="o-", color="C2", capsize=3, label=config.model.label)
    accuracy.axhline(done[0].accuracy_nc.rate, ls="--", color="C7", label="nearest centroid")
    accuracy.set_ylabel("test accuracy (95% Wilson)")
    accuracy.set_title("accuracy", fontsize=9)
    accuracy.legend(fontsize=7)
    for axes in (angle, distance, accuracy):
        axes.set_xscale("log")
        axes.set_xlabel(f"{config.param} ({'smaller' if config.stronger == 'smaller' else 'larger'}"
                        f": stronger L2)")
        axes.grid(alpha=0.3)
    figure.suptitle(f"boundary tilting: {config.model.label} on classes {config.classes[0]} vs "
                    f"{config.classes[1]}", fontsize=10)
    return figure


def weights_figure(config: BoundaryTiltingConfig, done: list[TiltResult]) -> Any:
    """w_nc = μ₁ − μ₀ and w of the most and the least regularised models, as images (each
    scaled to its largest absolute weight; red: towards the second class)."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    side = done[0].input_shape[-2:]
    panels = [("nearest centroid μ₁ − μ₀", done[0].w_nc)]
    panels += [(f"{config.param} = {r.value:g} (θ = {r.theta:.1f}°)", r.w)
               for r in (done[0], done[-1])]
    figure = Figure(figsize=(3.2 * len(panels), 3.4), layout="constrained")
    for axes, (title, vector) in zip(figure.subplots(1, len(panels)), panels, strict=True):
        image = np.asarray(vector).reshape(side)
        scale = float(np.abs(image).max()) or 1.0
        shown = axes.imshow(image / scale, cmap="RdBu_r", vmin=-1, vmax=1)
        axes.set_title(title, fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    figure.colorbar(shown, ax=figure.axes, shrink=0.8, label="weight / max |weight|")
    figure.suptitle(f"weight vectors, classes {config.classes[0]} (blue) vs "
                    f"{config.classes[1]} (red): most and least regularised", fontsize=10)
    return figure
