"""What the large-Lipschitz-constant explanation predicts about the direction of adversarial
perturbations, as claims (Dobriban 2020, §"Lipschitz": "is the adversarial example aligned with
the top singular vector? does it appear with large singular values?"; Szegedy et al. 2013)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import (
    Cell,
    Claim,
    Finding,
    Mean,
    NotApplicable,
    all_of,
    deciding,
    every_above,
    one_sided,
    quotient_range,
    simultaneous_z,
    t_interval,
)

ATTACK = "deepfool"  # the minimal perturbation: the direction the model is most sensitive to
MIN_POINTS = 30  # DeepFool directions per model below which a model's test is undecided


def _pairs(results: Mapping[Cell, Any], field: str, control: str
           ) -> list[tuple[str, Mean, Mean]]:
    pairs = []
    for cell, result in results.items():
        if isinstance(result, NotApplicable):
            continue
        if field == "first_layer_top" and result.first_layer_rank <= result.rank + 1:
            continue  # a first layer of rank ≤ K (a linear model's logit layer) holds (nearly)
            # every direction the model sees: DeepFool's share there is ~1 by construction
        attack, baseline = result.kinds[ATTACK], result.kinds[control]
        ours, theirs = getattr(attack, field), getattr(baseline, field)
        if ours is not None and theirs is not None and ours.n > 1 and theirs.n > 1:
            pairs.append((cell["model"], ours, theirs))
    return pairs


def _ratio_interval(a: Mean, b: Mean) -> tuple[float, float]:
    """The 95% interval of a.mean / b.mean from the two means' simultaneous intervals (each a
    t interval at 97.5%, Bonferroni): valid whatever the correlation of the two on the shared
    points, which the stored means (no per-point values) do not say."""
    z = simultaneous_z(2)
    return quotient_range(t_interval(a.mean, a.sd, a.n, z), t_interval(b.mean, b.sd, b.n, z))


def _above(pairs: list[tuple[str, Mean, Mean]], what: str, missing: str) -> Finding:
    """PASS when every model's DeepFool mean lies above its control (disjoint 95% intervals),
    FAIL when one lies below; the value is the ratio of the two means of the model that decides
    (the smallest of the models whose own verdict is the claim's: the failing ones for a FAIL)
    with its interval (``_ratio_interval``), ``n`` the fewer points of its two means."""
    if not pairs:
        return Finding("INCONCLUSIVE", math.nan, missing)
    evidence = f"{what}, DeepFool vs control: " + "; ".join(
        f"{m} {a.text()} vs {b.text()} (n = {a.n}, {b.n})" for m, a, b in pairs)
    verdict = every_above([(a, b) for _, a, b in pairs])
    value, n, a, b = min(((a.mean / b.mean if b.mean > 0 else math.inf, min(a.n, b.n), a, b)
                          for a, b in deciding([(a, b) for _, a, b in pairs],
                                               lambda pair: every_above([pair]), verdict)),
                         key=lambda row: row[:2])
    return Finding(verdict, value, evidence, *_ratio_interval(a, b), n)


def top_singular_alignment(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per model, a one-sample t-test of the mean ⟨u, v₁⟩² against its exact value 1/(K−1) for
    a uniformly random unit direction of the (K−1)-dimensional row space (the share of one
    coordinate is Beta(1/2, (K−2)/2)); PASS when every model's mean is significantly above."""
    rows = []
    for cell, result in results.items():
        if isinstance(result, NotApplicable):
            continue
        share, expected = result.kinds[ATTACK].top_share, 1 / result.rank
        p = share.p_above(expected)
        rows.append((cell["model"], share, expected, p,
                     one_sided(share.mean - expected, p, share.n, MIN_POINTS)))
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "no model with DeepFool perturbations")
    evidence = "mean ⟨u, v₁⟩² of DeepFool vs 1/(K−1) exactly: " + "; ".join(
        f"{m} {s.text()} vs {e:.3f} (n = {s.n}, t-test p = {p:.2g}) {v}"
        for m, s, e, p, v in rows)
    verdict = all_of([v for *_, v in rows])
    # the model that decides: of those whose own verdict is the claim's, the smallest mean /
    # (1/(K−1)); 1/(K−1) is exact, so the mean's interval divided by it is the ratio's
    chosen = [(s, e) for _, s, e, _, _ in deciding(rows, lambda row: row[4], verdict)]
    read = [row for row in chosen if not math.isnan(row[0].mean)] or chosen
    share, expected = min(read, key=lambda row: row[0].mean / row[1])
    return Finding(verdict, share.mean / expected, evidence, share.ci_low / expected,
                   share.ci_high / expected, share.n)


def large_singular_values(config: Any, results: Mapping[Cell, Any]) -> Finding:
    return _above(_pairs(results, "gain", "random-row-space"), "mean gain ‖Ju‖/σ₁",
                  "no model with DeepFool perturbations")


def first_layer_top_subspace(config: Any, results: Mapping[Cell, Any]) -> Finding:
    return _above(_pairs(results, "first_layer_top", "random"),
                  "share of the energy in the first layer's top-(K−1) subspace",
                  "no model whose first layer could be read (a linear or convolutional layer "
                  "after affine maps only)")


CLAIMS = (
    Claim("top-singular-alignment",
          "Adversarial perturbations align with the top singular vector of the local Jacobian",
          "Dobriban 2020 (the test of Szegedy et al. 2013's explanation)",
          "mean ⟨u, v₁⟩² of DeepFool's direction u and the top right singular vector v₁ of the "
          "centred-logit Jacobian, per model",
          "one-sided one-sample t-test above 1/(K−1) at p < 0.05 for every model (FAIL: one "
          "model's mean at or below 1/(K−1))",
          top_singular_alignment,
          control="1/(K−1) exactly: the expected ⟨u, v₁⟩² of a uniformly random unit direction "
                  "of the Jacobian's (K−1)-dimensional row space",
          minimum=f"{MIN_POINTS} DeepFool directions per model"),
    Claim("large-singular-values",
          "Adversarial perturbations appear with large singular values of the local Jacobian",
          "Dobriban 2020 (the test of Szegedy et al. 2013's explanation)",
          "mean gain ‖Ju‖/σ₁ of DeepFool's direction u (1: stretched as much as the model can), "
          "against a random direction of the Jacobian's row space",
          "above the control for every model, 95% intervals disjoint (FAIL: below for one)",
          large_singular_values,
          control="the same gain of a uniformly random unit direction of the Jacobian's row "
                  "space, drawn per point",
          minimum="2 directions of each kind per model (a mean with an interval)"),
    Claim("first-layer-top-subspace",
          "Adversarial perturbations concentrate on the first layer's large singular values",
          "Dobriban 2020; Szegedy et al. 2013, §4.3",
          "share of DeepFool's energy in the span of the first layer's top K−1 right singular "
          "vectors, against a random direction of the input space (expected (K−1)/d); a first "
          "layer of rank at most K (a linear model's only layer, which holds every direction "
          "the model sees) is left out",
          "above the control for every model, 95% intervals disjoint (FAIL: below for one)",
          first_layer_top_subspace,
          control="the same share of a uniformly random direction of the input space, drawn "
                  "per point (expected (K−1)/d)",
          minimum="2 directions of each kind per model (a mean with an interval)"),
)
