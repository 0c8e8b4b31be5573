"""What the boundary-tilting perspective predicts, as claims (Tanay & Griffin 2016, the
regularisation experiments on linear classifiers of MNIST 3 vs 7): regularisation reduces the
deviation angle θ between the weight vector w and the nearest-centroid direction
w_nc = μ₁ − μ₀; a less tilted boundary leaves adversarial examples farther from the data; and
the untilting costs little accuracy.

A value of the sweep whose classifier puts every test point in one class (a constant classifier:
its boundary lies outside the data, so it has no tilt to read and no adversarial example to
measure) is left out of every claim and named in the evidence; this rule was stated before the
default sweep was run with it (its strongest value, C = 1e-4, had given such a classifier)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import (
    Cell,
    Claim,
    Finding,
    Verdict,
    one_sided,
    paired_difference,
    paired_rates,
    spearman_interval,
)

from .config import BoundaryTiltingConfig
from .result import TiltResult, constant_values, sweep

MIN_VALUES = 5  # sweep values below which the rank correlation is undecided
MIN_POINTS = 30  # points correct under both models below which the distances are undecided
MIN_ACCURACY_POINTS = 100  # paired test points below which the accuracy comparison is undecided
TOLERANCE = 0.03  # "little accuracy": three points of test accuracy


def _at(config: BoundaryTiltingConfig, result: TiltResult) -> str:
    return f"{config.param} = {result.value:g}"


def _left_out(config: BoundaryTiltingConfig, results: Mapping[Cell, Any]) -> str:
    """``; left out: C = 0.0001 (...)`` for the constant classifiers of the sweep, or ``""``."""
    values = constant_values(config, results)
    return ("; left out: " + ", ".join(f"{config.param} = {v:g}" for v in values)
            + " (every test point in one class: no boundary among the data)") if values else ""


def regularisation_untilts(config: BoundaryTiltingConfig, results: Mapping[Cell, Any]
                           ) -> Finding:
    """The one-sided Spearman test that θ grows as the regularisation weakens."""
    from scipy.stats import spearmanr

    done = sweep(config, results)
    if len(done) < 2:
        return Finding("INCONCLUSIVE", math.nan, f"{len(done)} finished value(s) of the sweep")
    weakness = [r.value if config.stronger == "smaller" else -r.value for r in done]
    test = spearmanr(weakness, [r.theta for r in done], alternative="greater")
    rho = float(test.statistic) if math.isfinite(test.statistic) else 0.0
    p = float(test.pvalue) if math.isfinite(test.pvalue) else 1.0
    evidence = ("θ from the strongest regularisation to the weakest: "
                + ", ".join(f"{_at(config, r)} {r.theta:.1f}°" for r in done)
                + f"; Spearman ρ = {rho:+.2f} between weakness and θ, one-sided p = {p:.2g} "
                  f"(n = {len(done)} values)" + _left_out(config, results))
    # the interval of ρ; none where ρ is undefined (a constant θ) and read as 0
    low, high = spearman_interval(float(test.statistic), len(done))
    return Finding(one_sided(rho, p, len(done), MIN_VALUES), rho, evidence, low, high,
                   len(done))


def tilting_shrinks_distance(config: BoundaryTiltingConfig, results: Mapping[Cell, Any]
                             ) -> Finding:
    """Per point correct under both, the relative distance to the boundary of the most
    regularised model minus the least regularised one's: one-sided Wilcoxon, mean > 0."""
    done = sweep(config, results)
    if len(done) < 2:
        return Finding("INCONCLUSIVE", math.nan, f"{len(done)} finished value(s) of the sweep")
    most, least = done[0], done[-1]
    if most.points != least.points:
        return Finding("INCONCLUSIVE", math.nan, "the two models were tested on different points")
    both = [a and b for a, b in zip(most.correct, least.correct, strict=True)]
    first = [d for d, keep in zip(most.relative(), both, strict=True) if keep]
    second = [d for d, keep in zip(least.relative(), both, strict=True) if keep]
    difference = paired_difference(first, second)
    means = (f"{sum(first) / len(first):.4f} vs {sum(second) / len(second):.4f}" if first
             else "no point")
    evidence = (f"‖δ‖₂/‖x‖ to the boundary, {_at(config, most)} (θ = {most.theta:.1f}°) vs "
                f"{_at(config, least)} (θ = {least.theta:.1f}°), on the points both classify "
                f"correctly: mean {means}; difference {difference.text()}"
                + _left_out(config, results))
    verdict = one_sided(difference.mean, difference.p_greater, difference.n, MIN_POINTS)
    return Finding(verdict, difference.mean, evidence, low=difference.ci_low,
                   high=difference.ci_high, n=difference.n)


def accuracy_kept(config: BoundaryTiltingConfig, results: Mapping[Cell, Any]) -> Finding:
    """The most regularised model's test accuracy against the sweep's best, on the same points:
    PASS when Newcombe's interval of the difference lies above −TOLERANCE, FAIL when the
    difference itself is below it."""
    done = sweep(config, results)
    if not done:
        return Finding("INCONCLUSIVE", math.nan, "no finished value of the sweep")
    most = done[0]
    best = max(done, key=lambda r: r.accuracy.rate)  # ties: the most regularised of them
    if most.points != best.points:
        return Finding("INCONCLUSIVE", math.nan, "the two models were tested on different points")
    paired = paired_rates(most.correct, best.correct)
    verdict: Verdict
    evidence = (f"test accuracy at the strongest regularisation {_at(config, most)} vs the "
                f"sweep's best {_at(config, best)}: {paired.text()}; tolerance "
                f"−{100 * TOLERANCE:.0f} points" + _left_out(config, results))
    if paired.n < MIN_ACCURACY_POINTS:
        verdict = "INCONCLUSIVE"
    elif paired.ci_low > -TOLERANCE:
        verdict = "PASS"
    elif paired.difference < -TOLERANCE:
        verdict = "FAIL"
    else:
        verdict = "INCONCLUSIVE"
    return Finding(verdict, paired.difference, evidence, low=paired.ci_low, high=paired.ci_high,
                   n=paired.n)


CLAIMS = (
    Claim("regularisation-untilts",
          "Regularisation reduces the tilt of a linear boundary: the angle θ between the weight "
          "vector w and the nearest-centroid direction μ₁ − μ₀ shrinks as L2 regularisation "
          "grows",
          "Tanay & Griffin 2016 (L2 regularisation of linear classifiers, MNIST 3 vs 7)",
          "θ = ∠(w, μ₁ − μ₀) in degrees at each value of the sweep (means of the training set), "
          "and Spearman's ρ between the weakness of the regularisation (C) and θ",
          "one-sided Spearman test ρ > 0 at p < 0.05 (FAIL: ρ ≤ 0)",
          regularisation_untilts,
          control="no trend: θ independent of the regularisation's rank (ρ = 0)",
          minimum=f"{MIN_VALUES} finished values of the sweep"),
    Claim("tilting-shrinks-distance",
          "A more tilted boundary leaves adversarial examples closer to the data: the "
          "strongest regularisation's minimal perturbations are longer, relative to ‖x‖, than "
          "the weakest's",
          "Tanay & Griffin 2016 (adversarial strength and the deviation angle)",
          "per test point classified correctly by both models, the exact L2 distance "
          "|wᵀx + b|/‖w‖ to the boundary divided by ‖x‖, most regularised minus least "
          "regularised; mean difference with its 95% t interval",
          "one-sided Wilcoxon signed-rank test of the differences at p < 0.05 with a positive "
          "mean (FAIL: mean difference ≤ 0)",
          tilting_shrinks_distance,
          control="the same points' distance to the boundary of the least regularised model "
                  "(largest C) of the sweep",
          minimum=f"{MIN_POINTS} test points classified correctly by both models"),
    Claim("accuracy-kept",
          "Untilting the boundary costs little accuracy: Tanay & Griffin's \"without affecting "
          "accuracy\", read at the sweep's strongest regularisation (constant classifiers left "
          "out)",
          "Tanay & Griffin 2016 (regularisation without affecting accuracy)",
          "test accuracy of the most regularised model minus the best test accuracy of the "
          "sweep, on the same points, with Newcombe's 95% interval for paired proportions",
          f"PASS: the interval lies above −{100 * TOLERANCE:.0f} points; FAIL: the difference "
          f"itself is below −{100 * TOLERANCE:.0f} points; else INCONCLUSIVE",
          accuracy_kept,
          control="the best test accuracy over the sweep, on the same test points",
          minimum=f"{MIN_ACCURACY_POINTS} paired test points"),
)
