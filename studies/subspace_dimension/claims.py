"""What Tramèr et al. (2017, "The space of transferable adversarial examples") predict about
adversarial subspaces, as claims (see ``Claim``).

The number of adversarial directions of a point is Tramèr et al.'s: the most of the k orthogonal
directions that fool the source, over every k tried (averaged over points). The share that
transfers is read at each source's largest L2 budget, at the k where the mean number of
adversarial directions peaks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from transfer import (
    Cell,
    Claim,
    Finding,
    Mean,
    NotApplicable,
    all_of,
    paired_difference,
    wilson_interval,
)

if TYPE_CHECKING:  # the study imports these claims
    from transfer import Verdict

    from .result import SubspaceResult

MANY, FEW = 5.0, 2.0  # directions: "many" at or above MANY, "few" below FEW
LARGE, SMALL = 0.5, 0.2  # share of directions that transfer
ALPHA = 0.05  # one-sided Wilcoxon level, gradient-aligned vs random directions
MIN_POINTS = 30  # points at the largest L2 eps below which many-directions is undecided


def largest_l2(results: Mapping[Cell, Any]) -> dict[str, tuple[float, SubspaceResult]]:
    """Per source, its largest L2 budget and the result there."""
    chosen: dict[str, tuple[float, SubspaceResult]] = {}
    for cell, result in results.items():
        if isinstance(result, NotApplicable) or cell["norm"] != "l2" or not result.dimension:
            continue
        if cell["source"] not in chosen or cell["eps"] > chosen[cell["source"]][0]:
            chosen[cell["source"]] = (cell["eps"], result)
    return chosen


def _largest_l2(results: Mapping[Cell, Any]) -> dict[str, SubspaceResult]:
    return {source: result for source, (_, result) in largest_l2(results).items()}


def _peak(result: SubspaceResult) -> int:
    return max(range(len(result.k)), key=lambda i: result.adversarial_mean[i])


def _found(result: SubspaceResult) -> float:
    return sum(result.found) / len(result.found)


def many_directions(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per source at its largest L2 eps: many directions (mean at least ``MANY``) and more than
    random orthogonal directions of the same norm find on the same points (one-sided Wilcoxon)."""
    rows: list[tuple[str, float, Any, Verdict]] = []
    means: dict[str, Mean] = {}
    for source, result in _largest_l2(results).items():
        found = _found(result)
        means[source] = Mean.of(result.found)
        if len(result.random_found) != len(result.found):
            rows.append((source, found, None, "INCONCLUSIVE"))
            continue
        difference = paired_difference(result.found, result.random_found)
        verdict: Verdict
        if len(result.found) < MIN_POINTS:
            verdict = "INCONCLUSIVE"
        elif found < FEW or difference.mean <= 0:
            verdict = "FAIL"
        elif found >= MANY and difference.p_greater < ALPHA:
            verdict = "PASS"
        else:
            verdict = "INCONCLUSIVE"
        rows.append((source, found, difference, verdict))
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "needs an L2 budget (l2_eps)")
    evidence = "mean directions found per point, gradient-aligned vs random (the control): " + \
        "; ".join(f"{s} {v:.1f} vs " + (f"{v - d.mean:.1f}, difference {d.text()}" if d else
                                        "no random control (an older result: run again)")
                  + f" {verdict}" for s, v, d, verdict in rows)
    verdict = all_of([v for *_, v in rows])
    # the source that decides: the fewest directions among those with the claim's verdict;
    # the interval is its mean's (Student t over its points)
    source, found, _, _ = min((row for row in rows if verdict == "PASS" or row[3] == verdict),
                              key=lambda row: row[1])
    mean = means[source]
    return Finding(verdict, found, evidence, mean.ci_low, mean.ci_high, mean.n)


def large_share_transfers(config: Any, results: Mapping[Cell, Any]) -> Finding:
    shares = {}
    for source, result in _largest_l2(results).items():
        i = _peak(result)
        if result.adversarial_mean[i] > 0 and result.transferred_mean:
            transferred = [t[i] for target, t in result.transferred_mean.items()
                           if target != source]
            if transferred:
                shares[source] = sum(transferred) / len(transferred) / result.adversarial_mean[i]
    if not shares:
        return Finding("INCONCLUSIVE", math.nan, "no source found adversarial directions")
    share = sum(shares.values()) / len(shares)
    # no interval: each source's share is a ratio of means over its points whose per-point
    # counts are not stored (``transferred_mean``), and the sources share their points and
    # targets, so their shares are not independent units for an interval over the sources
    evidence = "share transferring (mean over targets): " + ", ".join(
        f"{s} {100 * v:.0f}%" for s, v in shares.items())
    if share >= LARGE:
        return Finding("PASS", share, evidence, n=len(shares))
    return Finding("FAIL" if share < SMALL else "INCONCLUSIVE", share, evidence, n=len(shares))


def grows_with_eps(config: Any, results: Mapping[Cell, Any]) -> Finding:
    by_source: dict[str, list[tuple[float, float]]] = {}
    for cell, result in results.items():
        if not isinstance(result, NotApplicable) and cell["norm"] == "l2" and result.dimension:
            by_source.setdefault(cell["source"], []).append((cell["eps"], _found(result)))
    curves = {s: [v for _, v in sorted(points)] for s, points in by_source.items()
              if len(points) > 1}
    if not curves:
        return Finding("INCONCLUSIVE", math.nan, "needs at least two L2 budgets")
    falls = {s: c for s, c in curves.items() if any(b < a for a, b in zip(c, c[1:], strict=False))}
    evidence = "; ".join(f"{s}: " + " → ".join(f"{v:.1f}" for v in c) for s, c in curves.items())
    # the value counts the sources whose curve never falls: its interval is the Wilson interval
    # of that share of the sources, in sources
    n, growing = len(curves), len(curves) - len(falls)
    low, high = wilson_interval(growing, n)
    return Finding("FAIL" if falls else "PASS", float(growing), evidence, n * low, n * high, n)


CLAIMS = (
    Claim("many-directions",
          "Adversarial examples fill a subspace: a point has many orthogonal adversarial "
          "directions", "Tramèr et al. 2017",
          "orthogonal directions that fool the source per point (the most over every k), mean "
          "over points, at its largest L2 eps, and its per-point difference from random "
          "orthogonal directions of the same norm",
          f"for every source: a mean of at least {MANY:g} and more than the random directions, "
          f"one-sided Wilcoxon p < {ALPHA:g} (FAIL: a mean below {FEW:g}, or no more than the "
          "random directions, for one)",
          many_directions,
          control="k uniformly random orthonormal directions of the same L2 norm, on the same "
                  "points (the same count, the most over every k)",
          minimum=f"{MIN_POINTS} points per source at its largest L2 eps"),
    Claim("large-share-transfers",
          "A large share of those adversarial directions also fool other models",
          "Tramèr et al. 2017",
          "directions that also fool a target / directions that fool the source, mean over "
          "targets and sources", f"at least {LARGE:.0%} (FAIL: below {SMALL:.0%})",
          large_share_transfers,
          control="none measured: a fixed threshold (random orthogonal directions of the same "
                  "norm are not run)",
          minimum="one source and one target"),
    Claim("grows-with-eps",
          "A larger budget finds more adversarial directions", "Tramèr et al. 2017",
          "the mean number of adversarial directions found along the L2 budgets, per source",
          "never decreases as eps grows, for every source", grows_with_eps,
          control="the same source at the smaller L2 eps",
          minimum="one source at two L2 eps"),
)
