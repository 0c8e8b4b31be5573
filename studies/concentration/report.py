"""Tables, figures and the terminal summary of the concentration study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table

from .claims import FACTOR, real_cells, synthetic_cells
from .config import ConcentrationConfig
from .result import ConcentrationResult


def summarize(config: ConcentrationConfig,
              results: Mapping[Cell, ConcentrationResult | NotApplicable]) -> Summary:
    summary = Summary()
    synthetic = synthetic_cells(results)
    rows = [(label, p) for label, parts in synthetic.items() for p in parts]
    if rows:
        summary.tables["synthetic"] = Table({
            "data": [label for label, _ in rows], "d": [p.d for _, p in rows],
            "scale": [p.scale for _, p in rows], "error_rate": [p.error.rate for _, p in rows],
            "error_ci_low": [p.error.ci_low for _, p in rows],
            "error_ci_high": [p.error.ci_high for _, p in rows],
            "distance": [p.distance.mean for _, p in rows],
            "distance_ci_low": [p.distance.ci_low for _, p in rows],
            "distance_ci_high": [p.distance.ci_high for _, p in rows],
            "bound": [p.bound for _, p in rows], "bound_low": [p.bound_low for _, p in rows],
            "bound_high": [p.bound_high for _, p in rows], "ratio": [p.ratio for _, p in rows],
            "ratio_low": [p.ratio_low for _, p in rows],
            "ratio_high": [p.ratio_high for _, p in rows],
            "relative_distance": [p.relative(p.distance.mean) for _, p in rows],
            "relative_bound": [p.relative(p.bound) for _, p in rows],
            "found_share": [p.found.rate for _, p in rows],
            "fallback_share": [p.fallback.rate for _, p in rows],
            "means": [p.means for _, p in rows], "test_error": [p.test_error for _, p in rows],
            "vjps": [p.vjps for _, p in rows], "vjps_minimum": [p.vjps_minimum for _, p in rows],
            "queries": [p.queries for _, p in rows]},
            "distance to the nearest error vs the isoperimetric bound, per (dataset, d)")
        summary.figures["distance_vs_dimension"] = dimension_figure(synthetic)
        summary.key_figure = "distance_vs_dimension"
        summary.terminal.append(Table({
            "data": [label for label, _ in rows], "d": [str(p.d) for _, p in rows],
            "μ (error)": [p.error.percent() for _, p in rows],
            "distance / norm": [f"{p.relative(p.distance.mean):.4f}" for _, p in rows],
            "bound / norm": [f"{p.relative(p.bound):.4f}" for _, p in rows],
            "measured / bound": [f"{p.ratio:.2f} [{p.ratio_low:.2f}, {p.ratio_high:.2f}]"
                                 for _, p in rows],
            "attack found": [f"{100 * p.found.rate:.0f}%" for _, p in rows]},
            f"class {config.class_index}: mean distance to the nearest error (0 for errors) and "
            "the largest any error set of measure μ allows, relative to the norm (r, √d)",
            keys=2))
        estimated = sorted({label for label, p in rows if p.means == "estimated"})
        if estimated:
            summary.notes.append("class means estimated from the samples (the dataset's recipe "
                                 "could not be reproduced): " + ", ".join(estimated))
    real = real_cells(results)
    if real:
        summary.tables["real"] = Table({
            "model": [m for m, _, _ in real], "eps": [e for _, e, _ in real],
            "norm": [p.norm for _, _, p in real], "alpha": [p.alpha.rate for _, _, p in real],
            "adversarial_risk": [p.risk.rate for _, _, p in real],
            "risk_ci_low": [p.risk.ci_low for _, _, p in real],
            "risk_ci_high": [p.risk.ci_high for _, _, p in real],
            "concentration": [p.concentration.rate for _, _, p in real],
            "concentration_ci_low": [p.concentration.ci_low for _, _, p in real],
            "concentration_ci_high": [p.concentration.ci_high for _, _, p in real],
            "coverage": [p.coverage.rate for _, _, p in real], "gap": [p.gap for _, _, p in real],
            "train_coverage": [p.train_coverage for _, _, p in real],
            "train_expansion": [p.train_expansion for _, _, p in real],
            "balls_used": [len(p.radii) for _, _, p in real],
            "gradients": [p.gradients for _, _, p in real],
            "gradients_minimum": [p.gradients_minimum for _, _, p in real],
            "distance_evaluations": [p.distance_evaluations for _, _, p in real]},
            "adversarial risk vs the empirical concentration lower bound, per (model, eps)")
        summary.figures["real_data"] = real_figure(config, real)
        summary.key_figure = summary.key_figure or "real_data"
        summary.terminal.append(Table({
            "model": [m for m, _, _ in real], "eps": [f"{e:g}" for _, e, _ in real],
            "α (error)": [f"{100 * p.alpha.rate:.1f}%" for _, _, p in real],
            "PGD risk": [p.risk.percent() for _, _, p in real],
            "concentration": [p.concentration.percent() for _, _, p in real],
            "gap": [f"{100 * p.gap:+.1f}" for _, _, p in real],
            "cover (α)": [f"{100 * p.coverage.rate:.1f}%" for _, _, p in real]},
            f"{config.dataset.label}, {config.norm}: adversarial risk (PGD-{config.pgd_steps}) vs "
            "the concentration lower bound for the model's error α (held-out points)", keys=2))
    return summary


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def dimension_figure(synthetic: dict[str, list[Any]]) -> Any:
    """Per synthetic dataset, the measured mean distance (with its 95% interval) and the bound
    (band: μ's interval) relative to the norm against d, log-log, with a d^(−1/2) guide; last
    panel: measured / bound against d."""
    figure = _figure(4.4 * (len(synthetic) + 1), 4.2)
    axes_list = figure.subplots(1, len(synthetic) + 1, squeeze=False)[0]
    for axes, (label, parts) in zip(axes_list, synthetic.items(), strict=False):
        parts = [p for p in parts if math.isfinite(p.distance.mean) and p.bound > 0]
        if not parts:
            continue
        d = [p.d for p in parts]
        measured = [p.relative(p.distance.mean) for p in parts]
        errors = [[max(m - p.relative(p.distance.ci_low), 0) for m, p in zip(measured, parts,
                                                                              strict=True)],
                  [p.relative(p.distance.ci_high) - m for m, p in zip(measured, parts,
                                                                      strict=True)]]
        axes.errorbar(d, measured, yerr=errors, marker="o", ms=4, capsize=3, color="C0",
                      label="measured (model's nearest error)")
        axes.plot(d, [p.relative(p.bound) for p in parts], color="C3", label="bound for μ")
        axes.fill_between(d, [p.relative(p.bound_low) for p in parts],
                          [p.relative(min(p.bound_high, 1e6)) for p in parts], color="C3",
                          alpha=0.15, lw=0)
        first = parts[0].relative(parts[0].bound)
        axes.plot(d, [first * (x / d[0]) ** -0.5 for x in d], ls=":", color="gray",
                  label="∝ d^(−1/2)")
        for x, y, p in zip(d, measured, parts, strict=True):
            axes.annotate(f"μ={100 * p.error.rate:.1f}%", (x, y), textcoords="offset points",
                          xytext=(4, 6), fontsize=7)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("dimension d")
        axes.set_ylabel("mean distance to nearest error / " + ("r" if parts[0].kind == "spheres"
                                                                else "√d"))
        axes.set_title(f"{label}: " + ("on the sphere (cap bound)" if parts[0].kind == "spheres"
                                       else "ambient (half-space bound)"), fontsize=9)
        axes.grid(alpha=0.3, which="both")
        axes.legend(fontsize=7)
    ratio_axes = axes_list[-1]
    for k, (label, parts) in enumerate(synthetic.items()):
        parts = [p for p in parts if math.isfinite(p.ratio)]
        if parts:
            ratio_axes.errorbar([p.d for p in parts], [p.ratio for p in parts],
                                yerr=[[max(p.ratio - p.ratio_low, 0) for p in parts],
                                      [max(p.ratio_high - p.ratio, 0) for p in parts]],
                                marker="o", ms=4, capsize=3, color=f"C{k % 10}", label=label)
    ratio_axes.axhline(1.0, color="black", lw=1)
    ratio_axes.axhspan(1 / FACTOR, FACTOR, color="green", alpha=0.08,
                       label=f"within {FACTOR:g}x of the bound")
    ratio_axes.set_xscale("log")
    ratio_axes.set_yscale("log")
    ratio_axes.set_xlabel("dimension d")
    ratio_axes.set_ylabel("measured / bound (true distance ≤ 1)")
    ratio_axes.set_title("measured / bound (1: as far as the extremal set)", fontsize=9)
    ratio_axes.grid(alpha=0.3, which="both")
    ratio_axes.legend(fontsize=7)
    return figure


def real_figure(config: ConcentrationConfig, real: list[tuple[str, float, Any]]) -> Any:
    """Adversarial risk (PGD, solid) and the concentration lower bound for the model's error α
    (dashed) against eps, one colour per model; α dotted."""
    figure = _figure(6.0, 4.4)
    axes = figure.add_subplot()
    models = list(dict.fromkeys(m for m, _, _ in real))
    for k, model in enumerate(models):
        cells = [(e, p) for m, e, p in real if m == model]
        eps = [e for e, _ in cells]
        color = f"C{k % 10}"
        for rate, style, what in (("risk", "-", "PGD adversarial risk"),
                                  ("concentration", "--", "concentration bound")):
            values = [getattr(p, rate) for _, p in cells]
            axes.errorbar(eps, [v.rate for v in values],
                          yerr=[[v.rate - v.ci_low for v in values],
                                [v.ci_high - v.rate for v in values]],
                          ls=style, marker="o", ms=4, capsize=3, color=color,
                          label=f"{model}: {what}")
        axes.axhline(cells[0][1].alpha.rate, ls=":", color=color, lw=1)
    axes.set_ylim(0, 1)
    axes.set_xlabel(f"eps ({config.norm})")
    axes.set_ylabel("share of held-out points")
    axes.set_title(f"{config.dataset.label}: risk vs what concentration forces (dotted: α)",
                   fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    return figure
