"""What the linearity view of adversarial examples predicts, as claims (see ``Claim``):
Goodfellow et al. (2014) explain them by near-linear behaviour in high dimension; Fawzi et al.
(2016) predict that a random direction needs √(d/m) times the adversarial norm."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from transfer import (
    Cell,
    Claim,
    Finding,
    Mean,
    all_of,
    bootstrap_interval,
    quotient_range,
    simultaneous_z,
    wilson_interval,
)

from ..shared.cell_parts import parts

if TYPE_CHECKING:
    from transfer import Verdict

LINEAR, CURVED = 0.9, 0.5  # mean R² of the logit curves
MANY_TIMES = 2.0  # the adversarial error at least this many times the random one
HALF = 0.5  # ... read where the adversarial error first reaches this (not where both saturate)
WITHIN = 1.5  # the measured ratio within this factor of the prediction (FAIL: beyond WITHIN²)
LINEAR_FAMILIES = ("softmax", "logreg", "linear-svm")  # R² ≡ 1 by construction: left out
RBF_FAMILIES = ("rbf-net", "rbf-svm")  # Goodfellow et al.'s nonlinear contrast
MIN_CURVE_POINTS = 10  # test points behind a model's logit curves
MIN_RATIO_POINTS = 20  # test points behind a model's minimal-norm ratios


def _families(config: Any) -> dict[str, str]:
    return {m.label: m.name for m in config.models}


def near_linear(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per deep network (neither linear nor RBF), R² of the logits along the adversarial
    direction; the RBF models are the contrast Goodfellow et al. predict to be nonlinear."""
    family = _families(config)
    curves = {m: c for m, c in parts(results, "curves").items()
              if family.get(m) not in LINEAR_FAMILIES and c.points >= MIN_CURVE_POINTS}
    deep = {m: c.r2_adversarial for m, c in curves.items() if family.get(m) not in RBF_FAMILIES}
    rbf = {m: c.r2_adversarial for m, c in curves.items() if family.get(m) in RBF_FAMILIES}
    if not deep:
        return Finding("INCONCLUSIVE", math.nan,
                       f"needs a deep network (not {', '.join(LINEAR_FAMILIES + RBF_FAMILIES)}) "
                       f"with logit curves of at least {MIN_CURVE_POINTS} points")
    weakest = min(deep, key=lambda m: deep[m])  # the least linear network decides
    least = deep[weakest]
    verdicts: list[Verdict] = ["PASS" if r2 >= LINEAR else "FAIL" if r2 < CURVED else "INCONCLUSIVE"
                for r2 in deep.values()]
    contrast = [m for m, r2 in rbf.items() if r2 >= least]
    evidence = ("R² of straight-line fits along the adversarial direction: " + ", ".join(
        f"{m} {v:.2f}" for m, v in deep.items())
        + ("; RBF contrast: " + ", ".join(f"{m} {v:.2f}" for m, v in rbf.items()) if rbf
           else "; no RBF model to contrast")
        + (f" (not less linear than the least linear network: {', '.join(contrast)})"
           if contrast else ""))
    verdict = "FAIL" if contrast else all_of(verdicts)
    # the deciding network's mean R² with its t interval over the points (none for a result
    # written before the per-point R² was kept)
    per_point = curves[weakest].r2_adversarial_points
    mean = Mean.of(per_point) if per_point else None
    return Finding(verdict, least, evidence, mean.ci_low if mean else math.nan,
                   mean.ci_high if mean else math.nan, curves[weakest].points)


def _where_half(curves: Any) -> int:
    """The index of the smallest eps > 0 at which the adversarial error reaches 50% (the last
    eps when it never does): beyond it both errors saturate and the ratio says nothing."""
    return next((i for i, (eps, error) in enumerate(zip(curves.eps, curves.error_adversarial,
                                                         strict=True))
                 if eps > 0 and error >= HALF), len(curves.eps) - 1)


def adversarial_beats_noise(config: Any, results: Mapping[Cell, Any]) -> Finding:
    curves = parts(results, "curves")
    if not curves:
        return Finding("INCONCLUSIVE", math.nan, "no logit curves (models without gradients?)")
    at = {m: _where_half(c) for m, c in curves.items()}
    gains = {m: (c.error_adversarial[at[m]] - c.clean_error,
                 max(c.error_random[at[m]] - c.clean_error, 0.0)) for m, c in curves.items()}
    ratios = {m: a / r if r > 0 else math.inf if a > 0 else math.nan
              for m, (a, r) in gains.items()}
    evidence = ("extra error, adversarial vs random, where the adversarial error first reaches "
                f"{HALF:.0%}: " + ", ".join(
                    f"{m} at eps {curves[m].eps[at[m]]:.2g}: {100 * a:.0f}% vs {100 * r:.0f}%"
                    for m, (a, r) in gains.items()))
    read = [m for m, q in ratios.items() if not math.isnan(q)]
    if not read:
        return Finding("INCONCLUSIVE", math.nan, evidence)
    weakest = min(read, key=lambda m: ratios[m])  # the model that decides the verdict
    least, n = ratios[weakest], curves[weakest].points
    interval = (*_gain_interval(curves[weakest], at[weakest]), n)
    if all(q >= MANY_TIMES for q in ratios.values()):
        return Finding("PASS", least, evidence, *interval)
    return Finding("FAIL" if least <= 1 else "INCONCLUSIVE", least, evidence, *interval)


def _gain_interval(curves: Any, i: int) -> tuple[float, float]:
    """The 95% interval of (adversarial − clean error) / (random − clean error) at eps index
    ``i``: the three rates share their points, but only the rates are stored (no per-point
    flags), so each gets a Wilson interval at which the three hold together (Bonferroni,
    whatever their dependence; the random error, a mean over the random directions per point,
    conservatively as a binomial share of the points) and the ratio ranges over them."""
    z, n = simultaneous_z(3), curves.points
    adversarial, random, clean = (wilson_interval(rate * n, n, z) for rate in (
        curves.error_adversarial[i], curves.error_random[i], curves.clean_error))
    return quotient_range((adversarial[0] - clean[1], adversarial[1] - clean[0]),
                          (random[0] - clean[1], random[1] - clean[0]))


def median_counting_misses(row: Any) -> float:
    """The median of ‖r_S‖/‖r*‖ over every point, a subspace that never flipped the point within
    the search counted as an infinite ratio (dropping them would bias the median low)."""
    missing = round(len(row.ratios) * row.no_flip_share / max(1 - row.no_flip_share, 1e-12))
    values = sorted(row.ratios) + [math.inf] * missing
    if not values:
        return math.nan
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def sqrt_d_over_m(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Every model with gradients (Fawzi et al. tested deep networks): the median ratio over
    every point, against √(d/m)."""
    off, thin = {}, []
    minimal = parts(results, "minimal-norm")
    for m, part in minimal.items():
        for row in part.rows:
            if part.points < MIN_RATIO_POINTS:
                thin.append(m)
                continue
            off[(m, row.m)] = median_counting_misses(row) / row.predicted
    if not off:
        return Finding("INCONCLUSIVE", math.nan, "no minimal-norm ratios of at least "
                       f"{MIN_RATIO_POINTS} points" + (f" ({', '.join(set(thin))})" if thin
                                                       else ""))
    factors = {key: max(q, 1 / q) if q > 0 else math.inf for key, q in off.items()}
    worst = max(factors, key=lambda key: factors[key])
    evidence = ("median ‖r_S‖/‖r*‖ over √(d/m), per (model, m): " + ", ".join(
        f"{m} m={k} {off[(m, k)]:.2f}" for m, k in off)
        + f"; worst {worst[0]} at m = {worst[1]}")
    factor, n = factors[worst], minimal[worst[0]].points  # the worst (model, m) decides
    row = next(r for r in minimal[worst[0]].rows if r.m == worst[1])
    interval = (*_factor_interval(row), n)
    if thin:
        evidence += f"; fewer than {MIN_RATIO_POINTS} points: {', '.join(sorted(set(thin)))}"
    if factor > WITHIN**2:
        return Finding("FAIL", factor, evidence, *interval)
    return Finding("PASS" if factor <= WITHIN and not thin else "INCONCLUSIVE", factor, evidence,
                   *interval)


def _factor_interval(row: Any) -> tuple[float, float]:
    """The 95% interval of max(q, 1/q), q = the median ratio (misses infinite) / √(d/m): the
    percentile bootstrap of q over the points, folded at 1 (an interval of q on one side of 1
    maps to one of the factor; one that straddles 1 to [1, the farther end's factor])."""
    import numpy as np

    missing = round(len(row.ratios) * row.no_flip_share / max(1 - row.no_flip_share, 1e-12))
    low, high = bootstrap_interval(lambda r: np.median(r, axis=1) / row.predicted,
                                   list(row.ratios) + [math.inf] * missing)
    if math.isnan(low):
        return math.nan, math.nan

    def fold(q: float) -> float:
        return max(q, 1 / q) if q > 0 else math.inf

    if low >= 1 or high <= 1:
        return min(fold(low), fold(high)), max(fold(low), fold(high))
    return 1.0, max(fold(low), fold(high))


CLAIMS = (
    Claim("near-linear",
          "Deep networks' logits change almost linearly along the adversarial direction; RBF "
          "networks' do not", "Goodfellow et al. 2014",
          "R² of straight-line fits to the logit curves along the sign of the gradient, per "
          "deep network (linear models left out: R² is 1 by construction)",
          f"at least {LINEAR:g} for every deep network, and every RBF model below the least "
          f"linear network (FAIL: a network below {CURVED:g}, or an RBF model not below)",
          near_linear,
          control="the RBF models (rbf-net, rbf-svm), predicted to be nonlinear",
          minimum=f"one deep network with curves of {MIN_CURVE_POINTS} test points"),
    Claim("adversarial-beats-noise",
          "At the same eps, the adversarial direction adds many times more error than random "
          "noise", "Goodfellow et al. 2014",
          "error added along the sign of the gradient / along random signs, at the smallest eps "
          f"where the adversarial error reaches {HALF:.0%} (else eps_max)",
          f"at least {MANY_TIMES:g}x for every model (FAIL: at most 1x for one)",
          adversarial_beats_noise,
          control="random sign directions of the same L-inf (and so the same L2) norm",
          minimum="one model with logit curves"),
    Claim("sqrt-d-over-m",
          "A random m-dimensional subspace needs about √(d/m) times the adversarial norm",
          "Fawzi et al. 2016",
          "median over the test points of ‖r_S‖/‖r*‖ (a subspace that never flips a point counts "
          "as infinite) / √(d/m), per model with gradients and m",
          f"within a factor {WITHIN:g} for every (model, m) (FAIL: one beyond {WITHIN**2:g})",
          sqrt_d_over_m,
          control="DeepFool's ‖r*‖ on the same point (the ratio's denominator)",
          minimum=f"{MIN_RATIO_POINTS} test points per model",
          theory="Noise vs adversarial directions"),
)
