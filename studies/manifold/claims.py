"""What the low-dimensional-manifold view of adversarial examples predicts, as claims (Gilmer et
al. 2018; Khoury & Hadfield-Menell 2018; Stutz, Hein & Schiele 2019): the data lie near an
m-dimensional manifold of the d-dimensional input space; the minimal adversarial perturbation
points off it (the d − m normal directions), a perturbation kept on it needs a larger norm, and yet
on-manifold adversarial examples exist.

The thresholds below were fixed before any run of the study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from transfer import Cell, Claim, Finding, Rate, all_of, one_sided, paired_difference

from .result import ManifoldResult

if TYPE_CHECKING:
    from transfer import Verdict

MIN_POINTS = 30  # points per model (with r*, or with both restricted flips) below: undecided
ON_MANIFOLD_BUDGET = 5.0  # an on-manifold example counts when ‖r_T‖ ≤ this × ‖r*‖
MAJORITY = 0.5  # ... for more than this share of the points


def _done(results: Mapping[Cell, Any]) -> list[tuple[str, ManifoldResult]]:
    return [(cell["model"], r) for cell, r in results.items() if isinstance(r, ManifoldResult)]


def _none() -> Finding:
    return Finding("INCONCLUSIVE", math.nan, "no model with DeepFool perturbations")


def _deciding(rows: list[tuple[Verdict, float, float, float, int]], evidence: str,
              highest: bool) -> Finding:
    """``all_of`` the models' verdicts, with the numbers (value, 95% interval, points) of the
    model that decides it: among the models with that verdict, the weakest value (the
    ``highest``, else the lowest; models without a point left out)."""
    verdict = all_of([row[0] for row in rows])
    candidates = [row for row in rows if row[0] == verdict and row[4]]
    if not candidates:
        return Finding(verdict, math.nan, evidence)
    _, value, low, high, n = (max if highest else min)(candidates, key=lambda row: row[1])
    return Finding(verdict, value, evidence, low, high, n)


def off_manifold_direction(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per model, a one-sided one-sample t-test that the mean share of r*'s energy in the tangent
    plane lies below m/d, its exact expectation for a uniformly random direction."""
    rows = []
    for model, result in _done(results):
        share, expected = result.share(), result.expected_share
        p_below = 1 - share.p_above(expected)  # the lower tail: t.cdf = 1 − t.sf
        rows.append((model, share, expected, p_below,
                     one_sided(expected - share.mean, p_below, share.n, MIN_POINTS)))
    if not rows:
        return _none()
    evidence = "mean ‖P_T r*‖²/‖r*‖² of DeepFool vs m/d exactly: " + "; ".join(
        f"{m} {s.text()} vs {e:.3f} (n = {s.n}, t-test p = {p:.2g}) {v}"
        for m, s, e, p, v in rows)
    # the value: the mean share / m/d, with the mean's interval on the same scale
    return _deciding([(v, s.mean / e, s.ci_low / e, s.ci_high / e, s.n)
                      for _, s, e, _, v in rows], evidence, highest=True)


def on_manifold_needs_more(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per model, log ‖r_T‖ − log ‖r_S‖ over the points where both restricted DeepFools flipped
    the label: the mean with its interval, a one-sided Wilcoxon signed-rank test of > 0."""
    rows = []
    for model, result in _done(results):
        both = [(math.log(t), math.log(s)) for t, s in zip(result.tangent_ratio,
                                                            result.random_ratio, strict=True)
                if math.isfinite(t) and math.isfinite(s) and t > 0 and s > 0]
        difference = paired_difference([t for t, _ in both], [s for _, s in both])
        verdict = one_sided(difference.mean, difference.p_greater, difference.n, MIN_POINTS)
        rows.append((model, result, difference, verdict))
    if not rows:
        return _none()
    evidence = "log ‖r_T‖ − log ‖r_S‖ (tangent vs random m-plane) where both flipped: " + \
        "; ".join(f"{m} {d.text()}, ratio ×{math.exp(d.mean):.2f}, no flip: tangent "
                  f"{r.no_flip('tangent')}, random {r.no_flip('random')} of {r.fooled} {v}"
                  for m, r, d, v in rows)
    # the value: the geometric mean of ‖r_T‖/‖r_S‖, exp of the mean log difference and of its
    # interval
    return _deciding([(v, math.exp(d.mean), math.exp(d.ci_low), math.exp(d.ci_high), d.n)
                      for _, _, d, v in rows], evidence, highest=False)


def _majority(rate: Rate) -> Verdict:
    if rate.n < MIN_POINTS:
        return "INCONCLUSIVE"
    if rate.rate < MAJORITY:
        return "FAIL"
    return "PASS" if rate.ci_low > MAJORITY else "INCONCLUSIVE"


def on_manifold_exists(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per model, the share of points (with r*) where DeepFool restricted to the tangent plane
    flipped the label within ON_MANIFOLD_BUDGET × ‖r*‖, with its Wilson interval."""
    rows = []
    for model, result in _done(results):
        within = torch.tensor([t <= ON_MANIFOLD_BUDGET for t in result.tangent_ratio],
                              dtype=torch.bool)
        rate = Rate.of(within, torch.ones_like(within))
        rows.append((model, rate, _majority(rate)))
    if not rows:
        return _none()
    evidence = (f"share of points flipped in the tangent plane within {ON_MANIFOLD_BUDGET:g}×‖r*‖ "
                f"(majority: > {MAJORITY:.0%}): " + "; ".join(
                    f"{m} {r.percent()} ({r.count}/{r.n}) {v}" for m, r, v in rows))
    return _deciding([(v, r.rate, r.ci_low, r.ci_high, r.n) for _, r, v in rows], evidence,
                     highest=False)


CLAIMS = (
    Claim("off-manifold-direction",
          "The minimal adversarial perturbation avoids the data's local tangent plane: less of "
          "its energy lies in it than a random direction's",
          "Gilmer et al. 2018; Khoury & Hadfield-Menell 2018 (high codimension)",
          "mean share ‖P_T r*‖²/‖r*‖² of DeepFool's r* in the local tangent plane T (top m "
          "principal directions of the point's nearest training points), per model",
          "one-sided one-sample t-test below m/d at p < 0.05 for every model (FAIL: one model's "
          "mean at or above m/d)",
          off_manifold_direction,
          control="m/d exactly: the expected share of a uniformly random direction in any "
                  "m-dimensional plane",
          minimum=f"{MIN_POINTS} points with r* per model"),
    Claim("on-manifold-needs-more",
          "A perturbation restricted to the tangent plane needs a larger norm than one restricted "
          "to a random plane of the same dimension",
          "Stutz, Hein & Schiele 2019; Gilmer et al. 2018",
          "per point, log ‖r_T‖ − log ‖r_S‖ of DeepFool restricted to the tangent plane T and to "
          "a random m-plane S, over the points where both changed the label, per model",
          "mean above 0 with a one-sided Wilcoxon signed-rank p < 0.05 for every model (FAIL: "
          "one model's mean at or below 0)",
          on_manifold_needs_more,
          control="DeepFool restricted to a uniformly random m-dimensional plane at the same "
                  "points (Fawzi et al. 2016's semi-random noise, ‖r_S‖ ≈ √(d/m)‖r*‖)",
          minimum=f"{MIN_POINTS} points per model where both restricted DeepFools flipped"),
    Claim("on-manifold-exists",
          "On-manifold adversarial examples exist: the tangent plane alone holds a label change "
          f"within {ON_MANIFOLD_BUDGET:g}× the minimal norm",
          "Stutz, Hein & Schiele 2019",
          f"share of points with r* whose tangent-restricted DeepFool flipped the label within "
          f"{ON_MANIFOLD_BUDGET:g}×‖r*‖ (a non-flip counts as beyond), with its Wilson interval",
          f"every model's lower 95% bound above {MAJORITY:.0%} (FAIL: one model's share below "
          f"{MAJORITY:.0%})",
          on_manifold_exists,
          control=f"a majority ({MAJORITY:.0%}) of the points, at a budget stated before the run",
          minimum=f"{MIN_POINTS} points with r* per model"),
)
