"""What Liu et al. (2017, "Delving into transferable adversarial examples") predict for ensemble
sources, as claims (see ``Claim``).

Each leave-one-out cell compares, for one target, the ensemble of the other models with each of
them alone. "Most targets" is a two-sided sign test over those cells (ties left out, p < 0.05).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from transfer import Cell, Claim, Finding, NotApplicable, Rate, every_above

if TYPE_CHECKING:  # the study imports these claims
    from .result import EnsembleResult

ALPHA = 0.05


def leave_one_out(results: Mapping[Cell, Any], targeted: bool) -> list[EnsembleResult]:
    return [r for r in results.values()
            if not isinstance(r, NotApplicable) and r.kind == "leave-one-out"
            and r.ensemble is not None and r.singles
            and (r.ensemble_matching is not None) == targeted]


def _sign_test(cells: list[EnsembleResult], single: Callable[[list[float]], float],
               what: str) -> Finding:
    """Does the ensemble beat ``single`` (the best or the mean single-source rate) for most
    targets?"""
    from scipy.stats import binomtest

    pairs = [(c.ensemble.rate, single([r.rate for r in c.singles.values()]))
             for c in cells if c.ensemble is not None]
    wins = sum(ensemble > alone for ensemble, alone in pairs)
    losses = sum(ensemble < alone for ensemble, alone in pairs)
    if wins + losses == 0:
        return Finding("INCONCLUSIVE", math.nan, "no untargeted leave-one-out cell to compare")
    p = binomtest(wins, wins + losses, 0.5).pvalue
    evidence = (f"the ensemble beats the {what} single source in {wins} of {wins + losses} "
                f"(target, attack, eps) cells, loses in {losses} (sign test p = {p:.2g})")
    share = wins / (wins + losses)
    if p < ALPHA:
        return Finding("PASS" if wins > losses else "FAIL", share, evidence)
    return Finding("INCONCLUSIVE", share, evidence)


def beats_mean(config: Any, results: Mapping[Cell, Any]) -> Finding:
    return _sign_test(leave_one_out(results, targeted=False),
                      lambda rates: sum(rates) / len(rates), "mean")


def beats_best(config: Any, results: Mapping[Cell, Any]) -> Finding:
    return _sign_test(leave_one_out(results, targeted=False), max, "best")


def targeted_needs_ensemble(config: Any, results: Mapping[Cell, Any]) -> Finding:
    cells = leave_one_out(results, targeted=True)
    if not cells:
        return Finding("INCONCLUSIVE", math.nan, "needs a targeted attack (target = random or "
                                                 "least-likely) in the config")
    ensemble = Rate.pooled([c.ensemble_matching for c in cells if c.ensemble_matching])
    singles = Rate.pooled([r for c in cells for r in c.singles_matching.values()])
    evidence = (f"the target predicts the attack's target class for {ensemble.percent()} of "
                f"the ensemble's examples, {singles.percent()} of single sources'")
    margin = ensemble.ci_low - singles.ci_high
    verdict = every_above([(ensemble, singles)])
    return Finding(verdict, margin,
                   evidence + (" (intervals overlap)" if verdict == "INCONCLUSIVE" else ""))


CLAIMS = (
    Claim("beats-mean",
          "An ensemble of the other models transfers better than a single source, for most "
          "targets", "Liu et al. 2017",
          "per (target, attack, eps): ensemble transfer rate vs the mean single-source rate",
          "two-sided sign test over the cells, p < 0.05", beats_mean,
          control="the mean single-source transfer rate into the same target, attack and eps",
          minimum="6 cells with a winner (6 of 6 is the fewest that can reach p < 0.05)"),
    Claim("beats-best",
          "The ensemble transfers better than even the best single source, for most targets",
          "Liu et al. 2017",
          "per (target, attack, eps): ensemble transfer rate vs the best single-source rate",
          "two-sided sign test over the cells, p < 0.05", beats_best,
          control="the best single-source transfer rate into the same target, attack and eps",
          minimum="6 cells with a winner (6 of 6 is the fewest that can reach p < 0.05)"),
    Claim("targeted-needs-ensemble",
          "Targeted examples rarely keep their target label on another model, unless crafted on "
          "an ensemble", "Liu et al. 2017",
          "share of examples the target labels as the attack's target class, pooled over cells",
          "the ensemble's 95% Wilson interval above the single sources'",
          targeted_needs_ensemble,
          control="the single sources' matching rate on the same cells",
          minimum="one targeted leave-one-out cell"),
)
