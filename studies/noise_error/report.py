"""Tables, figures and the terminal summary of the noise-error study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from transfer import Cell, NotApplicable, Summary, Table

from .config import NoiseErrorConfig
from .result import NoiseErrorResult


def summarize(config: NoiseErrorConfig,
              results: Mapping[Cell, NoiseErrorResult | NotApplicable]) -> Summary:
    summary = Summary()
    by_model = {c["model"]: r for c, r in results.items()}
    labels = [m.label for m in config.models]
    done = {m: r for m, r in by_model.items() if isinstance(r, NoiseErrorResult)}
    table: dict[str, list[Any]] = {"model": labels, "status": [_status(by_model.get(m))
                                                               for m in labels]}
    metrics = [done[m].metrics() if m in done else {} for m in labels]
    for key in ("correct", "predicted", "no_prediction", "deepfool_fooled", "paired",
                "d_pred_median", "d_deepfool_median", "log2_ratio_median", "within_factor_2"):
        table[key] = [row.get(key, math.nan) for row in metrics]
    for sigma in config.sigmas:
        table[f"noise_error.sigma{sigma:g}"] = [row.get(f"noise_error.sigma{sigma:g}", math.nan)
                                                for row in metrics]
    summary.tables["noise_error"] = Table(table, "per model: error in Gaussian noise, the "
                                                 "predicted and the measured distances")
    shown = [m for m in labels if m in done]
    if not shown:
        return summary
    summary.tables["noise_error_curves"] = Table(_curves(done, shown),
                                                 "mean noise error μ(σ) over the correct points")
    summary.tables["points"] = Table(_points(done, shown), "per point: the σ the prediction is "
                                     "read at, μ there, d_pred and DeepFool's distance")
    summary.figures["distance_vs_prediction"] = distance_figure(done, shown)
    summary.figures["noise_error_curves"] = curves_figure(config, done, shown)
    summary.key_figure = "distance_vs_prediction"
    rows = {m: done[m].metrics() for m in shown}
    summary.terminal.append(Table(
        {"model": shown,
         "points": [f"{rows[m]['paired']}/{rows[m]['correct']}" for m in shown],
         "d_pred": [_three(rows[m]["d_pred_median"]) for m in shown],
         "d_DeepFool": [_three(rows[m]["d_deepfool_median"]) for m in shown],
         "log2 ratio": [f"{rows[m]['log2_ratio_median']:+.2f}" for m in shown],
         "within ×2": [_percent(rows[m]["within_factor_2"]) for m in shown],
         **{f"μ σ={s:g}": [_percent(done[m].noise_error[i].mean) for m in shown]
            for i, s in enumerate(config.sigmas)}},
        "per model: points with both distances / correct points, medians of d_pred = "
        "−σ·Φ⁻¹(μ) and of DeepFool's ‖r*‖₂, median log2(d_DeepFool / d_pred), the share within "
        "a factor 2, and the mean noise error μ at each σ", keys=1))
    missing = sum(done[m].correct - done[m].predicted for m in shown)
    if missing:
        summary.notes.append(
            f"{missing} correct points (all models) have no prediction: no σ of the grid gives "
            f"them a noise error in [{config.min_error:g}, 0.5)")
    return summary


def _status(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return f"n/a: {result.reason}"
    return "failed" if result is None else "ok"


def _three(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def _curves(done: dict[str, NoiseErrorResult], models: list[str]) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {"model": [], "sigma": [], "noise_error": [], "ci_low": [],
                                  "ci_high": [], "n": []}
    for m in models:
        for sigma, error in zip(done[m].sigmas, done[m].noise_error, strict=True):
            for key, value in (("model", m), ("sigma", sigma), ("noise_error", error.mean),
                               ("ci_low", error.ci_low), ("ci_high", error.ci_high),
                               ("n", error.n)):
                rows[key].append(value)
    return rows


def _points(done: dict[str, NoiseErrorResult], models: list[str]) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {"model": [], "index": [], "sigma": [], "mu": [], "d_pred": [],
                                  "d_deepfool": []}
    for m in models:
        result = done[m]
        for i, point in enumerate(result.index):
            sigma = result.sigma_chosen[i]
            mu = (math.nan if math.isnan(sigma)
                  else result.mu[i][result.sigmas.index(sigma)])
            for key, value in (("model", m), ("index", point), ("sigma", sigma), ("mu", mu),
                               ("d_pred", result.d_pred[i]),
                               ("d_deepfool", result.d_deepfool[i])):
                rows[key].append(value)
    return rows


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def distance_figure(done: dict[str, NoiseErrorResult], models: list[str]) -> Any:
    """DeepFool's measured distance against d_pred, per point, log-log: one colour per model,
    the diagonal (the half-space model) and the band of a factor 2 either way."""
    figure = _figure(6.0, 5.0)
    axes = figure.subplots()
    pairs = {m: done[m].paired() for m in models}
    every = np.concatenate([np.concatenate(p) for p in pairs.values()])
    every = every[np.isfinite(every) & (every > 0)]
    low, high = (every.min() / 1.5, every.max() * 1.5) if len(every) else (0.01, 10.0)
    line = np.geomspace(low, high, 50)
    axes.fill_between(line, line / 2, line * 2, color="0.9", label="within a factor 2")
    axes.plot(line, line, "--", color="black", lw=1, label="d = d_pred (half-space)")
    for i, m in enumerate(models):
        predicted, measured = pairs[m]
        axes.scatter(predicted, measured, s=9, alpha=0.6, color=f"C{i}",
                     label=f"{m} (n = {len(predicted)})")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_xlabel("predicted distance d_pred = −σ·Φ⁻¹(μ)")
    axes.set_ylabel("DeepFool distance ‖r*‖₂")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=7)
    axes.set_title("distance to the nearest error: measured vs predicted from noise error",
                   fontsize=9)
    return figure


def curves_figure(config: NoiseErrorConfig, done: dict[str, NoiseErrorResult],
                  models: list[str]) -> Any:
    """The mean noise error μ(σ) over the correct points per model, with 95% intervals."""
    figure = _figure(6.0, 4.2)
    axes = figure.subplots()
    for i, m in enumerate(models):
        errors = done[m].noise_error
        means = np.array([e.mean for e in errors])
        axes.errorbar(done[m].sigmas, means,
                      yerr=[means - np.array([e.ci_low for e in errors]),
                            np.array([e.ci_high for e in errors]) - means],
                      marker="o", ms=3, capsize=2, color=f"C{i}", label=m)
    axes.axhline(config.min_error, ls=":", color="0.4", lw=1,
                 label=f"min_error {config.min_error:g}")
    axes.set_xlabel("σ (Gaussian noise, input units, unclipped)")
    axes.set_ylabel("mean noise error μ")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    axes.set_title("error in Gaussian noise per model", fontsize=9)
    return figure
