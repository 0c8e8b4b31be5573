"""What Liu et al. (2017, "Delving into transferable adversarial examples") predict for ensemble
sources, as claims (see ``Claim``).

Each leave-one-out cell compares, for one target, the ensemble of the other models with each of
them alone. The cells of one target (its attacks and eps) share the target and the test points,
so they are not independent votes: "most targets" is a one-sided sign test over the targets, each
target one vote (its cells' trials pooled). Matching rates pooled over cells are resampled by test
point (``clustered_difference`` on each cell's per-point outcomes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from transfer import (
    Cell,
    Claim,
    Finding,
    NotApplicable,
    Rate,
    Verdict,
    clustered_difference,
    one_sided,
    pooled_by_point,
    wilson_interval,
)

MIN_TARGETS = 5  # targets with a winner: 5 of 5 is the fewest that reach one-sided p < 0.05
MIN_POINTS = 30  # test points with a trial on both sides of the matching comparison
# "Rarely": Liu et al.'s single sources keep the target label on another model for 0-4% of the
# examples (Tables 2-3, top-1 matching): at most 5%, the paper's largest rounded up. Stated after
# a default run had shown the single sources at 14.3%: this half was not tested before, and its
# threshold is the paper's, not the data's.
RARELY = 0.05


def leave_one_out(results: Mapping[Cell, Any], targeted: bool) -> list[tuple[str, Any]]:
    """(target, result) of the finished leave-one-out cells of targeted or untargeted attacks."""
    return [(c["target"], r) for c, r in results.items()
            if not isinstance(r, NotApplicable) and r.kind == "leave-one-out"
            and r.ensemble is not None and r.singles
            and (r.ensemble_matching is not None) == targeted]


def _sign_test(cells: list[tuple[str, Any]], single: Callable[[list[float]], float],
               what: str) -> Finding:
    """Does the ensemble beat ``single`` (the best or the mean single-source rate) for most
    targets? One vote per target, its cells pooled."""
    from scipy.stats import binomtest

    by_target: dict[str, list[Any]] = {}
    for target, result in cells:
        by_target.setdefault(target, []).append(result)
    wins = losses = 0
    for results in by_target.values():
        ensemble = Rate.pooled([r.ensemble for r in results]).rate
        members = {m for r in results for m in r.singles}
        alone = [Rate.pooled([r.singles[m] for r in results if m in r.singles]).rate
                 for m in members]
        alone = [rate for rate in alone if not math.isnan(rate)]
        if math.isnan(ensemble) or not alone:
            continue
        wins += ensemble > single(alone)
        losses += ensemble < single(alone)
    decided = wins + losses
    if decided == 0:
        return Finding("INCONCLUSIVE", math.nan,
                       "no untargeted leave-one-out cell to compare" if not by_target else
                       f"the ensemble ties the {what} single source for all {len(by_target)} "
                       "targets")
    p = binomtest(wins, decided, 0.5, alternative="greater").pvalue
    evidence = (f"the ensemble beats the {what} single source for {wins} of {decided} targets, "
                f"loses for {losses} (one-sided sign test p = {p:.2g}; {len(cells)} cells of "
                f"{len(by_target)} targets, each target's cells pooled)")
    low, high = wilson_interval(wins, decided)  # the share of the targets with a winner
    return Finding(one_sided(wins - losses, p, decided, MIN_TARGETS), wins / decided, evidence,
                   low, high, decided)


def beats_mean(config: Any, results: Mapping[Cell, Any]) -> Finding:
    return _sign_test(leave_one_out(results, targeted=False),
                      lambda rates: sum(rates) / len(rates), "mean")


def beats_best(config: Any, results: Mapping[Cell, Any]) -> Finding:
    return _sign_test(leave_one_out(results, targeted=False), max, "best")


def targeted_needs_ensemble(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """The ensemble's matching rate pooled over the targeted cells minus the single sources',
    resampling the test points (every cell and member evaluates the same points)."""
    cells = [r for _, r in leave_one_out(results, targeted=True)]
    if not cells:
        return Finding("INCONCLUSIVE", math.nan, "needs a targeted attack (target = random or "
                                                 "least-likely) in the config")
    ensemble = [r.ensemble_matching_points for r in cells if r.ensemble_matching_points]
    singles = [o for r in cells for o in r.singles_matching_points.values() if o]
    if len(ensemble) < len(cells) or not singles:
        return Finding("INCONCLUSIVE", math.nan, "no per-point outcomes (results of an older "
                                                 "version: run the study again)")
    (sa, ta), (sb, tb) = pooled_by_point(ensemble), pooled_by_point(singles)
    difference = clustered_difference(sa, ta, sb, tb)
    single = difference.b
    rare = ("rarely" if single.ci_high < RARELY else "not rarely" if single.ci_low > RARELY
            else "undecided")
    evidence = ("the target predicts the attack's target class, ensemble vs single sources: "
                f"{difference.text()}; the single sources' rate: {rare} (at most "
                f"{100 * RARELY:.0f}%, the second)")
    points = min(difference.a.points, difference.b.points)
    verdict: Verdict
    if points < MIN_POINTS:
        verdict = "INCONCLUSIVE"
    elif single.ci_low > RARELY:  # single sources' examples keep their target label often
        return Finding("FAIL", single.rate, evidence, low=single.ci_low, high=single.ci_high,
                       n=single.points)
    elif difference.difference <= 0:
        verdict = "FAIL"
    else:
        verdict = "PASS" if difference.ci_low > 0 and rare == "rarely" else "INCONCLUSIVE"
    return Finding(verdict, difference.difference, evidence, low=difference.ci_low,
                   high=difference.ci_high, n=points)


CLAIMS = (
    Claim("beats-mean",
          "An ensemble of the other models transfers better than a single source, for most "
          "targets", "Liu et al. 2017",
          "per target (its attacks and eps pooled): the ensemble's transfer rate vs the mean "
          "single-source rate",
          "one-sided sign test over the targets, p < 0.05 (FAIL: no more wins than losses)",
          beats_mean,
          control="the mean single-source transfer rate into the same target, cells and points",
          minimum=f"{MIN_TARGETS} targets with a winner (5 of 5 is the fewest that can reach "
                  "p < 0.05)"),
    Claim("beats-best",
          "The ensemble transfers better than even the best single source, for most targets",
          "Liu et al. 2017",
          "per target (its attacks and eps pooled): the ensemble's transfer rate vs the best "
          "single-source rate",
          "one-sided sign test over the targets, p < 0.05 (FAIL: no more wins than losses)",
          beats_best,
          control="the best single-source transfer rate into the same target, cells and points",
          minimum=f"{MIN_TARGETS} targets with a winner (5 of 5 is the fewest that can reach "
                  "p < 0.05)"),
    Claim("targeted-needs-ensemble",
          "Targeted examples rarely keep their target label on another model, unless crafted on "
          "an ensemble", "Liu et al. 2017",
          "share of examples the target labels as the attack's target class, pooled over the "
          "targeted cells: the single sources' (\"rarely\": at most "
          f"{100 * RARELY:.0f}%, Liu et al.'s 0-4%), and the ensemble's minus theirs, each with "
          "a 95% bootstrap interval over the test points",
          f"the single sources' interval below {100 * RARELY:.0f}% and the difference's above 0 "
          f"(FAIL: the single sources' interval above {100 * RARELY:.0f}%, or a difference at "
          "or below 0)", targeted_needs_ensemble,
          control="the single sources' matching rate on the same cells and points",
          minimum=f"{MIN_POINTS} test points with a trial on both sides"),
)
