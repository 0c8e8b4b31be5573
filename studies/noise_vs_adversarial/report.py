"""Tables, figures and the terminal summary of the noise-vs-adversarial study."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table

from .config import NoiseVsAdversarialConfig
from .result import Curves, MinimalNorm, NoiseVsAdversarialResult, Sweep

CURVE_METRICS = ("r2_adversarial", "r2_random", "slope_ratio", "clean_error",
                 "error_adversarial_at_eps_max", "error_random_at_eps_max")
SWEEP_METRICS = ("dimension", "clean_error", "attack_error", "first_layer_l1", "eps_times_l1",
                 "ratio_median")


def summarize(
    config: NoiseVsAdversarialConfig,
    cells: list[Cell],
    results: Mapping[Cell, NoiseVsAdversarialResult | NotApplicable],
) -> Summary:
    summary = Summary()
    done = {c: r for c, r in results.items() if isinstance(r, NoiseVsAdversarialResult)}
    curves: dict[str, Curves] = {c["model"]: r.curves for c, r in done.items() if r.curves}
    minimal: dict[str, MinimalNorm] = {c["model"]: r.minimal_norm for c, r in done.items()
                                       if r.minimal_norm}
    sweep: list[tuple[Cell, Sweep]] = [(c, r.sweep) for c, r in done.items() if r.sweep]
    skipped = [(c, results.get(c)) for c in cells if c not in done]

    if curves:
        table: dict[str, list[Any]] = {"model": list(curves)}
        table.update({m: [r.metrics()[m] for r in curves.values()] for m in CURVE_METRICS})
        summary.tables["curves"] = Table(table, "linearity along adversarial vs random directions")
        errors: dict[str, list[Any]] = {"model": [], "eps": [], "error_adversarial": [],
                                        "error_random": []}
        for model, result in curves.items():
            for i, eps in enumerate(result.eps):
                errors["model"].append(model)
                errors["eps"].append(eps)
                errors["error_adversarial"].append(result.error_adversarial[i])
                errors["error_random"].append(result.error_random[i])
            summary.figures[f"curves_{model}"] = curve_figure(model, result)
        summary.tables["error_curves"] = Table(errors, "error rate along each direction")
        summary.terminal.append(Table(
            {"model": list(curves), **{m: [f"{r.metrics()[m]:.3f}" for r in curves.values()]
                                       for m in CURVE_METRICS}},
            f"logit curves along x + eps·direction, |eps| ≤ {config.eps_max:g}"))
    if minimal:
        rows: dict[str, list[Any]] = {"model": [], "d": [], "m": [], "ratio_median": [],
                                      "sqrt_d_over_m": [], "linear_median": []}
        for model, part in minimal.items():
            for row in part.rows:
                rows["model"].append(model)
                rows["d"].append(part.d)
                rows["m"].append(row.m)
                rows["ratio_median"].append(row.median)
                rows["sqrt_d_over_m"].append(row.predicted)
                rows["linear_median"].append(row.linear_median)
        summary.tables["minimal_norm"] = Table(rows, "‖r_S‖/‖r*‖: random subspace vs DeepFool")
        summary.figures["minimal_norm"] = ratio_figure(rows)
        summary.terminal.append(Table(
            {k: [f"{v:.2f}" if isinstance(v, float) else str(v) for v in values]
             for k, values in rows.items()},
            "minimal-norm ratio ‖r_S‖/‖r*‖ (m = 1: a random direction)"))
    if sweep:
        table = {"model": [c["model"] for c, _ in sweep],
                 "dataset": [describe(config.sweep_datasets[c["data"]]) for c, _ in sweep]}
        table.update({m: [r.metrics()[m] for _, r in sweep] for m in SWEEP_METRICS})
        summary.tables["sweep"] = Table(table, "the same family at growing input dimension")
        summary.figures["sweep"] = sweep_figure(table)
        shown = {k: [f"{v:.3g}" if isinstance(v, float) else str(v) for v in values]
                 for k, values in table.items()}
        shown["dimension"] = [str(int(d)) for d in table["dimension"]]
        summary.terminal.append(Table(
            shown,
            f"dimension sweep (attack eps = {config.sweep_eps:g})"))
    if skipped:
        summary.terminal.append(Table(
            {"part": [c["part"] for c, _ in skipped], "model": [c["model"] for c, _ in skipped],
             "why": [r.reason if isinstance(r, NotApplicable) else "did not finish"
                     for _, r in skipped]},
            "cells left out"))
    return summary


def describe(spec: Any) -> str:
    """``digits size=16``: a dataset spec in a few words."""
    return " ".join([spec.name, *(f"{k}={v}" for k, v in spec.params.items())])


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def curve_figure(model: str, curves: Curves) -> Any:
    """Goodfellow et al. 2014, Fig. 4: logits along the adversarial and a random direction for a
    few points, and the error rates along both."""
    data = curves.model_dump()
    shown = len(data["logits_adversarial"])
    figure = _figure(4 * (shown + 1), 6.5)
    grid = figure.subplots(2, shown + 1, squeeze=False)
    eps = data["eps"]
    for i in range(shown):
        for row, key, name in ((0, "logits_adversarial", "adversarial"),
                               (1, "logits_random", "random sign")):
            axes = grid[row][i]
            for c, curve in enumerate(data[key][i]):
                axes.plot(eps, curve, lw=2 if c == data["labels"][i] else 0.8)
            axes.set_title(f"point {i} (label {data['labels'][i]}): {name}", fontsize=9)
            axes.set_xlabel("eps")
    errors = grid[0][shown]
    errors.plot(eps, data["error_adversarial"], label="adversarial")
    errors.plot(eps, data["error_random"], label="random sign")
    errors.set_ylim(0, 1)
    errors.set_title(f"{model}: error rate")
    errors.legend(fontsize=8)
    grid[1][shown].axis("off")
    figure.tight_layout()
    return figure


def ratio_figure(rows: dict[str, list[Any]]) -> Any:
    figure = _figure(5.5, 4.5)
    axes = figure.add_subplot()
    for model in dict.fromkeys(rows["model"]):
        picks = [i for i, m in enumerate(rows["model"]) if m == model]
        axes.plot([rows["sqrt_d_over_m"][i] for i in picks],
                  [rows["ratio_median"][i] for i in picks], "o-", label=model)
    top = max([v for v in rows["sqrt_d_over_m"] if v == v] + [1.0])
    axes.plot([1, top], [1, top], "k--", lw=1, label="√(d/m)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("predicted √(d/m)")
    axes.set_ylabel("measured median ‖r_S‖/‖r*‖")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def sweep_figure(table: dict[str, list[Any]]) -> Any:
    figure = _figure(13, 4)
    panels = figure.subplots(1, 3)
    for model in dict.fromkeys(table["model"]):
        picks = sorted((table["dimension"][i], i) for i, m in enumerate(table["model"])
                       if m == model)
        dims = [d for d, _ in picks]
        for axes, metric in zip(panels, ("attack_error", "eps_times_l1", "ratio_median"),
                                strict=True):
            axes.plot(dims, [table[metric][i] for _, i in picks], "o-", label=model)
            axes.set_xscale("log")
            axes.set_xlabel("input dimension d")
            axes.set_title(metric)
    for axes in panels:
        axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


