"""What the view of adversarial examples as test error in noise predicts, as claims (Ford,
Gilmer, Carlini & Cubuk 2019, "Adversarial examples are a natural consequence of test error in
noise": §3, the half-space model d = −σ·Φ⁻¹(μ); §4–5, models more robust to noise are farther
from their errors)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import (
    Cell,
    Claim,
    Finding,
    Verdict,
    all_of,
    deciding,
    one_sided,
    spearman_interval,
)

from .half_space import bootstrap_median
from .result import NoiseErrorResult

MIN_POINTS = 30  # points with both d_pred and DeepFool's distance, per model
FACTOR_LOG2 = 1.0  # "close to the prediction": within a factor 2^1 either way
RESAMPLES = 2000  # bootstrap resamples of the points
MIN_MODELS = 5  # models below which the across-model rank correlation stays undecided


def _done(config: Any, results: Mapping[Cell, Any]) -> list[tuple[str, NoiseErrorResult]]:
    """The finished models' results, in the config's order."""
    done = {c["model"]: r for c, r in results.items() if isinstance(r, NoiseErrorResult)}
    return [(m.label, done[m.label]) for m in config.models if m.label in done]


def band_verdict(n: int, median: float, low: float, high: float) -> Verdict:
    """INCONCLUSIVE below ``MIN_POINTS``; PASS when the 95% interval of the median log2 ratio
    lies inside [−1, 1], FAIL when the median itself lies outside, else INCONCLUSIVE."""
    if n < MIN_POINTS or math.isnan(median):
        return "INCONCLUSIVE"
    if abs(median) > FACTOR_LOG2:
        return "FAIL"
    return "PASS" if -FACTOR_LOG2 <= low and high <= FACTOR_LOG2 else "INCONCLUSIVE"


def half_space_distance(config: Any, results: Mapping[Cell, Any]) -> Finding:
    rows = []
    for model, result in _done(config, results):
        ratios = result.log2_ratios()
        median, low, high = bootstrap_median(ratios, RESAMPLES, config.seed)
        rows.append((model, result, len(ratios), median, low, high,
                     band_verdict(len(ratios), median, low, high)))
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "no model measured")
    evidence = ("median log2(d_DeepFool / d_pred) [95% bootstrap interval over the points, "
                f"{RESAMPLES} resamples] (0: the half-space prediction, ±1: a factor 2): " +
                "; ".join(f"{m} {med:+.2f} [{lo:+.2f}, {hi:+.2f}] (n = {n} of {r.correct} "
                          f"correct, {r.correct - r.predicted} without a prediction) {v}"
                          for m, r, n, med, lo, hi, v in rows))
    verdict = all_of([v for *_, v in rows])
    # the model that decides: of those whose own verdict is the claim's, the farthest from 0
    chosen = deciding(rows, lambda row: row[-1], verdict)
    read = [row for row in chosen if not math.isnan(row[3])]
    if not read:
        return Finding(verdict, math.nan, evidence, n=min(row[2] for row in chosen))
    _, _, n, median, low, high, _ = max(read, key=lambda row: abs(row[3]))
    return Finding(verdict, median, evidence, low, high, n)


def noise_error_ranks_distance(config: Any, results: Mapping[Cell, Any]) -> Finding:
    from scipy.stats import spearmanr  # scipy.stats when used, not when the studies are listed

    rows = []
    for model, result in _done(config, results):
        predicted, measured = result.paired()
        n = len(predicted)
        rho, p = (spearmanr(predicted, measured, alternative="greater") if n >= 3
                  else (math.nan, math.nan))
        rows.append((model, n, float(rho), float(p),
                     one_sided(float(rho), float(p), n, MIN_POINTS)))
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "no model measured")
    evidence = "Spearman ρ of d_pred and d_DeepFool over the points (one-sided p): " + "; ".join(
        f"{m} ρ = {rho:+.2f} (n = {n}, p = {p:.2g}) {v}" for m, n, rho, p, v in rows)
    verdict = all_of([v for *_, v in rows])
    # the model that decides: of those whose own verdict is the claim's, the lowest ρ
    chosen = deciding(rows, lambda row: row[-1], verdict)
    read = [row for row in chosen if not math.isnan(row[2])]
    _, n, rho, _, _ = (min(read, key=lambda row: row[2]) if read
                       else min(chosen, key=lambda row: row[1]))
    return Finding(verdict, rho, evidence, *spearman_interval(rho, n), n)


def noise_robust_models_farther(config: Any, results: Mapping[Cell, Any]) -> Finding:
    from scipy.stats import spearmanr

    sigma = config.middle_sigma
    rows = [(m, r.noise_error_at(sigma), r.median_deepfool()) for m, r in _done(config, results)]
    rows = [row for row in rows if not (math.isnan(row[1]) or math.isnan(row[2]))]
    n = len(rows)
    rho, p = math.nan, math.nan
    if n >= 3:
        rho, p = (float(v) for v in spearmanr([r[1] for r in rows], [r[2] for r in rows],
                                               alternative="less"))
    verdict = one_sided(-rho, p, n, MIN_MODELS)
    evidence = (f"across {n} models, Spearman ρ of the mean noise error at σ = {sigma:g} and "
                f"the median DeepFool distance = {rho:+.2f} (one-sided p = {p:.2g}; predicted "
                "negative): " + "; ".join(f"{m} {e:.1%} / {d:.3f}" for m, e, d in rows))
    # the unit is a model: the interval of ρ over the n models
    return Finding(verdict, rho, evidence, *spearman_interval(rho, n), n)


CLAIMS = (
    Claim("half-space-distance",
          "The distance to the nearest error is what the point's error rate in Gaussian noise "
          "predicts for a half-space error set, within a factor 2",
          "Ford, Gilmer, Carlini & Cubuk 2019, §3",
          "per model, the median over the correctly classified points of log2(d_DeepFool / "
          "d_pred), d_pred = −σ·Φ⁻¹(μ_x) at the smallest σ with μ_x in [min_error, 1/2), with "
          f"its 95% percentile bootstrap interval over the points ({RESAMPLES} resamples)",
          f"PASS when every model's interval lies inside [−{FACTOR_LOG2:g}, {FACTOR_LOG2:g}] "
          f"(within a factor {2 ** FACTOR_LOG2:g}); FAIL when one model's median lies outside",
          half_space_distance,
          control="0: the exact half-space model, under which d_DeepFool = d_pred (DeepFool's "
                  "exact distance on a linear model); the band ±1 is a factor 2 either way",
          minimum=f"{MIN_POINTS} points with both numbers per model"),
    Claim("noise-error-ranks-distance",
          "Points with more error in noise are closer to an error: the predicted and the "
          "measured distances rank the points alike",
          "Ford, Gilmer, Carlini & Cubuk 2019, §3",
          "per model, Spearman's rank correlation ρ of d_pred and d_DeepFool over the points",
          "one-sided Spearman test of ρ > 0 at p < 0.05 for every model (FAIL: one model's "
          "ρ ≤ 0)",
          noise_error_ranks_distance,
          control="ρ = 0: no relation between a point's error in noise and its distance to the "
                  "nearest error",
          minimum=f"{MIN_POINTS} points with both numbers per model"),
    Claim("noise-robust-models-farther",
          "Models more robust to Gaussian noise have larger adversarial distances",
          "Ford, Gilmer, Carlini & Cubuk 2019, §4–5",
          "across models, Spearman's ρ of the mean noise error at the middle σ of the grid and "
          "the median DeepFool distance",
          "one-sided Spearman test of ρ < 0 at p < 0.05 (FAIL: ρ ≥ 0)",
          noise_robust_models_farther,
          control="ρ = 0: a model's noise error says nothing about its adversarial distance",
          minimum=f"{MIN_MODELS} models with both numbers"),
)
