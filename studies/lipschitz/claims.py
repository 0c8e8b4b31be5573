"""What the Lipschitz view of adversarial examples predicts, as claims (see ``Claim``): Szegedy
et al. (2013, §4.3) bound each layer, and no adversarial example can lie inside the radius the
bound certifies (Hein & Andriushchenko 2017); where the local constant is large, adversarial
examples are close (Weng et al. 2018, CLEVER); Virmaux & Scaman (2018) show the product of layer
bounds is loose for deep networks. (That it is exact for one linear map is an identity, checked
in the unit tests, not a claim.)"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from transfer import (
    Cell,
    Claim,
    Finding,
    NotApplicable,
    all_of,
    deciding,
    one_sided,
    spearman_interval,
)

if TYPE_CHECKING:  # the study imports these claims
    from transfer import Verdict

    from .result import LipschitzResult

LINEAR_FAMILIES = ("softmax", "logreg", "linear-svm")
# "Loose": the product bound at least LOOSE times the model's constant. L_emp is the largest
# Jacobian norm found, a lower bound on the constant L, so L_upper / L_emp is an UPPER bound on
# the looseness L_upper / L: a ratio below LOOSE proves the bound is not loose for that model.
LOOSE = 1.5
MIN_CHECKS = 30  # adversarial examples checked against their radius before a PASS
MIN_PAIRS = 15  # points with both a CLEVER score and a DeepFool distance, per model


def _finished(config: Any, results: Mapping[Cell, Any]) -> dict[str, tuple[str, LipschitzResult]]:
    """Per model label: (family, result), for models with a finite certified bound."""
    family = {m.label: m.name for m in config.models}
    return {c["model"]: (family[c["model"]], r) for c, r in results.items()
            if not isinstance(r, NotApplicable) and math.isfinite(r.L_upper) and r.L_emp > 0}


def radius_respected(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """FAIL on any adversarial example inside its certified radius or any Jacobian norm above
    the certified constant (one counter-example refutes a bound); PASS with at least
    ``MIN_CHECKS`` adversarial examples checked and none inside."""
    finished = _finished(config, results)
    broken = {label: r for label, (_, r) in finished.items()
              if r.violations or not r.lower_bound_holds}
    checks = sum(r.radius_checks for _, r in finished.values())
    ratios = [q for _, r in finished.values() for q in r.perturbation_over_radius
              if math.isfinite(q)]
    smallest = min(ratios, default=math.nan)
    if broken:
        return Finding("FAIL", smallest, "bound broken: " + "; ".join(
            f"{label}: {len(r.violations)} of {r.radius_checks} examples inside the radius, "
            f"L_emp {r.L_emp:.4g} vs L_upper {r.L_upper:.4g}" for label, r in broken.items())
            + f" ({checks} adversarial examples checked on {len(finished)} models)", n=checks)
    evidence = (f"{checks} adversarial examples on {len(finished)} models, none inside the "
                f"certified radius; smallest ‖δ‖₂ / radius {smallest:.3g}")
    # no interval: the value is the smallest ratio over the examples, an extreme order statistic
    # whose sampling spread depends on the unknown tail (a bootstrap of a minimum does not
    # converge); what is tested, "no example inside", is a count of 0 violations, not this value
    return Finding("PASS" if checks >= MIN_CHECKS else "INCONCLUSIVE", smallest, evidence,
                   n=checks)


def clever_tracks_distance(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per multi-layer model, the one-sided Spearman test of a positive rank correlation
    between CLEVER's score and DeepFool's distance over the points where both exist."""
    from scipy.stats import spearmanr

    rows: list[tuple[str, float, float, int, Verdict]] = []
    intervals: dict[str, tuple[float, float]] = {}  # none where ρ is undefined and read as 0
    for label, (family, r) in _finished(config, results).items():
        if family in LINEAR_FAMILIES or len(r.layers) < 2:
            continue
        pairs = [(s, d) for s, d in zip(r.clever_score, r.deepfool_l2, strict=True)
                 if math.isfinite(s) and math.isfinite(d)]
        if len(pairs) < 3:
            rows.append((label, math.nan, math.nan, len(pairs), "INCONCLUSIVE"))
            continue
        test = spearmanr([s for s, _ in pairs], [d for _, d in pairs], alternative="greater")
        intervals[label] = spearman_interval(float(test.statistic), len(pairs))
        rho = float(test.statistic) if math.isfinite(test.statistic) else 0.0
        p = float(test.pvalue) if math.isfinite(test.pvalue) else 1.0
        rows.append((label, rho, p, len(pairs), one_sided(rho, p, len(pairs), MIN_PAIRS)))
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "needs a multi-layer model with gradients")
    evidence = "Spearman ρ of CLEVER's margin/L_local and DeepFool's ‖δ‖₂: " + "; ".join(
        f"{m} ρ = {rho:+.2f} (n = {n} points, p = {p:.2g}) {v}" for m, rho, p, n, v in rows)
    verdict = all_of([v for *_, v in rows])
    # the model that decides: of those whose own verdict is the claim's, the lowest ρ
    chosen = deciding(rows, lambda row: row[4], verdict)
    read = [row for row in chosen if math.isfinite(row[1])]
    label, value, _, n, _ = (min(read, key=lambda row: row[1]) if read
                             else min(chosen, key=lambda row: row[3]))
    low, high = intervals.get(label, (math.nan, math.nan))  # the deciding model's ρ interval
    return Finding(verdict, value, evidence, low, high, n)


def _tightness(config: Any, results: Mapping[Cell, Any], linear: bool) -> dict[str, float]:
    return {label: r.L_upper / r.L_emp for label, (family, r) in _finished(config, results).items()
            if (family in LINEAR_FAMILIES) == linear and (linear or len(r.layers) > 1)}


def loose_for_deep(config: Any, results: Mapping[Cell, Any]) -> Finding:
    ratios = _tightness(config, results, linear=False)
    if not ratios:
        return Finding("INCONCLUSIVE", math.nan, "needs a deep model with a finite bound")
    least, n = min(ratios.values()), len(ratios)  # the unit: a deep model (its one ratio)
    # no interval: each ratio divides an exact bound by L_emp, the LARGEST Jacobian norm found
    # over the test points (an extreme, with no sampling interval; it only bounds the true
    # constant from below), and the deep models are too few (n = 3 by default) to be the unit
    within = [m for m, v in ratios.items() if v < LOOSE]
    evidence = (f"L_upper / L_emp (at least the looseness L_upper / L) of {n} deep models: "
                + ", ".join(f"{m} {v:.3g}" for m, v in ratios.items())
                + (f"; within {LOOSE:g}x of its constant: {', '.join(within)}" if within else ""))
    return Finding("FAIL" if within else "PASS", least, evidence, n=n)


CLAIMS = (
    Claim("radius-respected",
          "No adversarial example lies inside the radius the Lipschitz bound certifies",
          "Szegedy et al. 2013; Hein & Andriushchenko 2017",
          "each adversarial example's ‖δ‖₂ / (margin / (√2·L_upper)), DeepFool and PGD, and "
          "L_emp / L_upper",
          "FAIL on one example below 1 (up to float rounding) or one L_emp above L_upper; PASS "
          "when none is", radius_respected,
          control="the certified radius margin/(√2·L_upper) of each point",
          minimum=f"{MIN_CHECKS} adversarial examples checked"),
    Claim("clever-tracks-distance",
          "Where the local Lipschitz constant is large, adversarial examples are close: CLEVER's "
          "margin/L_local ranks the points as DeepFool's distance does",
          "Weng et al. 2018; Hein & Andriushchenko 2017",
          "Spearman rank correlation between CLEVER's score and DeepFool's ‖δ‖₂ over the first "
          "clever_points points, per multi-layer model",
          "one-sided Spearman test ρ > 0 at p < 0.05 for every model (FAIL: ρ ≤ 0 for one)",
          clever_tracks_distance,
          control="no association (ρ = 0): a local constant that says nothing about the distance",
          minimum=f"{MIN_PAIRS} points with both numbers per model"),
    Claim("loose-for-deep",
          "The product-of-layers bound is loose for deep networks", "Virmaux & Scaman 2018",
          "L_upper / L_emp of each multi-layer model with a finite bound (L_emp ≤ L, so the "
          "ratio is at least the looseness L_upper / L)",
          f"at least {LOOSE:g} for every deep model, as Virmaux & Scaman read it against a "
          f"lower estimate of L (FAIL: one below {LOOSE:g}: that bound is provably within "
          f"{LOOSE:g}x of its constant)", loose_for_deep,
          control="an exact bound (ratio 1), which one linear layer attains",
          minimum="one multi-layer model with a finite bound"),
)
