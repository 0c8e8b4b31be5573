"""What the linearity view of adversarial examples predicts, as claims (see ``Claim``):
Goodfellow et al. (2014) explain them by near-linear behaviour in high dimension; Fawzi et al.
(2016) predict that a random direction needs √(d/m) times the adversarial norm."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Claim, Finding

from ..shared.cell_parts import parts

LINEAR, CURVED = 0.9, 0.5  # mean R² of the logit curves
MANY_TIMES = 2.0  # the adversarial error at least this many times the random one
HALF = 0.5  # ... read where the adversarial error first reaches this (not where both saturate)
WITHIN = 1.5  # the measured ratio within this factor of the prediction (FAIL: beyond WITHIN²)


def near_linear(config: Any, results: Mapping[Cell, Any]) -> Finding:
    curves = parts(results, "curves")
    if not curves:
        return Finding("INCONCLUSIVE", math.nan, "no logit curves (models without gradients?)")
    r2 = {m: (c.r2_adversarial + c.r2_random) / 2 for m, c in curves.items()}
    mean = sum(r2.values()) / len(r2)
    evidence = "R² of straight-line fits: " + ", ".join(f"{m} {v:.2f}" for m, v in r2.items())
    if mean >= LINEAR:
        return Finding("PASS", mean, evidence)
    return Finding("FAIL" if mean < CURVED else "INCONCLUSIVE", mean, evidence)


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
    least = min((q for q in ratios.values() if not math.isnan(q)), default=math.nan)
    if math.isnan(least):
        return Finding("INCONCLUSIVE", least, evidence)
    if all(q >= MANY_TIMES for q in ratios.values()):
        return Finding("PASS", least, evidence)
    return Finding("FAIL" if least <= 1 else "INCONCLUSIVE", least, evidence)


def sqrt_d_over_m(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Fawzi et al.'s law holds for classifiers of small curvature: models whose logit curves
    are visibly curved (mean R² below ``LINEAR``) are outside it and named in the evidence."""
    curves = parts(results, "curves")
    curved = sorted(m for m, c in curves.items()
                    if (c.r2_adversarial + c.r2_random) / 2 < LINEAR)
    outside = f"; outside the law's hypothesis (R² < {LINEAR:g}): {', '.join(curved)}" if curved \
        else ""
    rows = [(m, row) for m, part in parts(results, "minimal-norm").items() for row in part.rows
            if math.isfinite(row.median) and row.linear_median > 0 and m not in curved]
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "no minimal-norm ratios of a near-linear model"
                       + outside)
    off = {(m, row.m): row.median / row.linear_median for m, row in rows}
    worst = max(off, key=lambda key: abs(math.log(off[key])))
    factor = max(off[worst], 1 / off[worst])
    evidence = (f"measured / predicted median ratio, worst: {worst[0]} at m = {worst[1]}: "
                f"{off[worst]:.2f} (over {len(off)} (model, m) pairs){outside}")
    if factor <= WITHIN:
        return Finding("PASS", factor, evidence)
    return Finding("FAIL" if factor > WITHIN**2 else "INCONCLUSIVE", factor, evidence)


CLAIMS = (
    Claim("near-linear",
          "Logits change almost linearly along adversarial and random directions",
          "Goodfellow et al. 2014", "mean R² of straight-line fits to the logit curves",
          f"at least {LINEAR:g} (FAIL: below {CURVED:g})", near_linear),
    Claim("adversarial-beats-noise",
          "At the same eps, the adversarial direction adds many times more error than random "
          "noise", "Goodfellow et al. 2014",
          "error added along the sign of the gradient / along random signs, at the smallest eps "
          f"where the adversarial error reaches {HALF:.0%} (else eps_max)",
          f"at least {MANY_TIMES:g}x for every model (FAIL: at most 1x for one)",
          adversarial_beats_noise),
    Claim("sqrt-d-over-m",
          "A random m-dimensional subspace needs about √(d/m) times the adversarial norm",
          "Fawzi et al. 2016",
          "median ‖r_S‖/‖r*‖ / the linear-model prediction, per near-linear model and m",
          f"within a factor {WITHIN:g} for every model with logit R² ≥ {LINEAR:g} (FAIL: beyond "
          f"{WITHIN**2:g})", sqrt_d_over_m,
          theory="Noise vs adversarial directions"),
)
