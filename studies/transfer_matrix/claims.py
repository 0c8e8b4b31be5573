"""What the transferability papers predict for a transfer matrix, as claims (see ``Claim``).

Every cell evaluates the same test points, so a rate pooled over (source, target) pairs, attacks
and eps is pooled point by point (each cell's ``transferred`` outcomes) and its interval comes
from resampling the points (``clustered_rate``), not the trials; two pooled rates on the same
points are compared by the paired resample of their difference (``clustered_difference``). The
noise attack of the config is the control (for a minimal attack, ``beats-noise`` reads the noise
of its own size that its cells measured): without one, the claims that need it are
INCONCLUSIVE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from transfer import (
    Cell,
    Claim,
    ClusteredDifference,
    Finding,
    NotApplicable,
    all_of,
    clustered_difference,
    pooled_by_point,
)

if TYPE_CHECKING:  # the study imports these claims
    from transfer import Verdict

    from .config import TransferMatrixConfig
    from .result import TransferMatrixResult

LOCAL_FAMILIES = ("knn", "rbf-net", "rbf-svm")  # decisions made from nearby training points
SAME_SIZE = 0.5  # an attack whose mean L2 perturbation is below this share of the noise's is
# a minimal-perturbation attack: the noise at eps is no control for it (a minimal attack's
# cells measure their own size-matched noise; a user's attack that does not say so is left out)
MIN_POINTS = 30  # test points with a trial on both sides of a comparison
# Papernot et al.'s model families; a model name not listed here is a family of its own
FAMILIES = {"mlp": "network", "cnn": "network", "maxout": "network", "checkpoint": "network",
            "substitute": "network", "softmax": "linear", "logreg": "linear",
            "linear-svm": "svm", "rbf-svm": "svm", "rbf-net": "rbf", "decision-tree": "tree",
            "random-forest": "forest", "knn": "knn"}

Done = dict[tuple[str, str, float], "TransferMatrixResult"]


def family_of(name: str) -> str:
    """The model family of a registered model name (``timm:*`` models are networks)."""
    return "network" if name.startswith("timm:") else FAMILIES.get(name, name)


def _done(results: Mapping[Cell, TransferMatrixResult | NotApplicable]) -> Done:
    return {(c["source"], c["attack"], c["eps"]): r for c, r in results.items()
            if not isinstance(r, NotApplicable)}


def _noise(config: TransferMatrixConfig) -> str | None:
    return next((a.label for a in config.attacks if a.name == "noise"), None)


def _outcomes(done: Done, attack: str | None = None, eps: float | None = None,
              pairs: set[tuple[str, str]] | None = None, targets: set[str] | None = None,
              exclude: str | None = None, of: str = "transferred") -> list[str]:
    """The per-point transfer outcomes of the cells and targets selected (``of``:
    ``"matched_transferred"``, the same on a minimal attack's size-matched noise)."""
    return [getattr(outcome, of)
            for (source, label, at), result in done.items()
            if (attack is None or label == attack) and (eps is None or at == eps)
            and label != exclude
            for target, outcome in result.targets.items()
            if (pairs is None or (source, target) in pairs)
            and (targets is None or target in targets) and getattr(outcome, of)]


def compare(a: list[str], b: list[str], level: float = 0.95) -> ClusteredDifference | None:
    """Pooled rate of outcomes ``a`` minus that of ``b``, resampling the shared points; None
    when either side has no outcome."""
    if not a or not b:
        return None
    (sa, ta), (sb, tb) = pooled_by_point(a), pooled_by_point(b)
    return clustered_difference(sa, ta, sb, tb, level=level)


def decide(difference: ClusteredDifference) -> Verdict:
    """PASS when the interval lies above 0, FAIL when the difference is 0 or below (a point
    estimate on the wrong side), INCONCLUSIVE otherwise or with fewer than ``MIN_POINTS``."""
    if min(difference.a.points, difference.b.points) < MIN_POINTS or math.isnan(
            difference.difference):
        return "INCONCLUSIVE"
    if difference.difference <= 0:
        return "FAIL"
    return "PASS" if difference.ci_low > 0 else "INCONCLUSIVE"


def points(difference: ClusteredDifference) -> int:
    """The test points behind a comparison: those with a trial on the thinner side (what
    ``MIN_POINTS`` reads)."""
    return min(difference.a.points, difference.b.points)


def finding(verdict: Verdict, difference: ClusteredDifference, evidence: str) -> Finding:
    """The finding of a comparison: its difference, interval and points."""
    return Finding(verdict, difference.difference, evidence, low=difference.ci_low,
                   high=difference.ci_high, n=points(difference))


def _size(done: Done, attack: str, eps: float, sources: set[str]) -> float:
    """The mean L2 norm of ``attack``'s perturbations at ``eps`` from these sources."""
    sizes = [r.perturbation_l2 for (s, a, at), r in done.items()
             if a == attack and at == eps and s in sources]
    return sum(sizes) / len(sizes) if sizes else math.nan


def beats_noise(config: TransferMatrixConfig,
                results: Mapping[Cell, TransferMatrixResult | NotApplicable]) -> Finding:
    """Per (attack, eps), the attack's pooled transfer minus its control's on the same points: a
    minimal attack's own size-matched noise where its cells measured it, else the noise attack
    at eps on the same pairs (left out when the attack is much smaller than that noise)."""
    noise, done = _noise(config), _done(results)
    compared, smaller = [], {}
    for attack in (a.label for a in config.attacks if a.label != noise):
        for eps in config.eps:
            sources = {s for s, a, at in done if a == attack and at == eps}
            pairs = {(s, t) for s in sources for t in config.target_labels()}
            matched = _outcomes(done, attack, eps, of="matched_transferred")
            if matched:
                difference = compare(_outcomes(done, attack, eps), matched)
                control = "its size-matched noise"
            elif noise is None:
                continue
            else:
                difference = compare(_outcomes(done, attack, eps),
                                     _outcomes(done, noise, eps, pairs))
                control = "the noise at eps from the same sources"
                size, noise_size = (_size(done, attack, eps, sources),
                                    _size(done, noise, eps, sources))
                if difference is not None and size < SAME_SIZE * noise_size:
                    smaller[attack] = f"{attack} (L2 {size:.2f} vs {noise_size:.2f} at eps {eps:g})"
                    continue
            if difference is not None:
                compared.append((attack, eps, difference, decide(difference), control))
    left_out = (f"; left out as much smaller than the noise: {', '.join(smaller.values())}"
                if smaller else "")
    if not compared:
        return Finding("INCONCLUSIVE", math.nan,
                       "no attack ran with a noise control of its size" + left_out)
    verdict = all_of([row[3] for row in compared])
    # the (attack, eps) that decides: the lowest interval among those with the claim's verdict
    worst = min((row for row in compared if verdict == "PASS" or row[3] == verdict),
                key=lambda row: row[2].ci_low)
    passed = sum(row[3] == "PASS" for row in compared)
    own = sorted({row[0] for row in compared if row[4] == "its size-matched noise"})
    against = f"; against noise of their own L2 size: {', '.join(own)}" if own else ""
    evidence = (f"{passed} of {len(compared)} (attack, eps) above their noise control; closest: "
                f"{worst[0]} at eps {worst[1]:g}: {worst[2].text()} (control: {worst[4]})"
                f"{against}{left_out}")
    return finding(verdict, worst[2], evidence)


def cross_family(config: TransferMatrixConfig,
                 results: Mapping[Cell, TransferMatrixResult | NotApplicable]) -> Finding:
    """Per attack, its cross-family pairs (sources that ran it) against the noise on the same
    pairs at the largest eps; PASS when one attack's interval lies above 0 at the Bonferroni
    level 1 − 0.05/k over the k attacks, FAIL when every attack's difference is ≤ 0."""
    noise, done = _noise(config), _done(results)
    if noise is None:
        return Finding("INCONCLUSIVE", math.nan, "needs the noise attack as a control")
    family = {m.label: family_of(m.name) for m in config.models}
    eps = max(config.eps)
    attacks = [a.label for a in config.attacks if a.label != noise]
    rows = []
    for attack in attacks:
        pairs = {(s, t) for s, a, at in done if a == attack and at == eps
                 for t in config.target_labels() if family[s] != family[t]}
        difference = compare(_outcomes(done, attack, eps, pairs),
                             _outcomes(done, noise, eps, pairs), level=1 - 0.05 / len(attacks))
        if difference is not None:
            rows.append((attack, len(pairs), difference, decide(difference)))
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "no pair of different families ran")
    verdict: Verdict
    if any(v == "PASS" for *_, v in rows):
        verdict = "PASS"
    elif all(v == "FAIL" for *_, v in rows):
        verdict = "FAIL"
    else:
        verdict = "INCONCLUSIVE"
    # the attack that decides: the highest interval (among the passing ones for a PASS); its
    # interval is the Bonferroni one the test reads (simultaneous 95% over the k attacks)
    best = max((row for row in rows if verdict != "PASS" or row[3] == "PASS"),
               key=lambda row: row[2].ci_low)
    evidence = (f"{best[0]} at eps {eps:g}, {best[1]} cross-family (source, target) pairs: "
                f"{best[2].text()} vs noise; {sum(v == 'PASS' for *_, v in rows)} of {len(rows)} "
                "attacks above the noise")
    return finding(verdict, best[2], evidence)


def local_targets_hardest(config: TransferMatrixConfig,
                          results: Mapping[Cell, TransferMatrixResult | NotApplicable]
                          ) -> Finding:
    """The hardest other target's pooled transfer rate minus the easiest local target's, on
    the same points (every source, non-noise attack and eps)."""
    noise, done = _noise(config), _done(results)
    family = {m.label: m.name for m in config.models}
    into = {t: _outcomes(done, targets={t}, exclude=noise) for t in config.target_labels()}
    rates = {t: pooled_by_point(o) for t, o in into.items() if o}
    share = {t: sum(s) / sum(n) for t, (s, n) in rates.items() if sum(n)}
    local = [t for t in share if family[t] in LOCAL_FAMILIES]
    other = [t for t in share if family[t] not in LOCAL_FAMILIES]
    if not local or not other:
        return Finding("INCONCLUSIVE", math.nan,
                       f"needs a target of {', '.join(LOCAL_FAMILIES)} and one of another family")
    easiest_local = max(local, key=lambda t: share[t])
    hardest_other = min(other, key=lambda t: share[t])
    difference = compare(into[hardest_other], into[easiest_local])
    assert difference is not None  # both have outcomes
    evidence = (f"hardest other target {hardest_other} vs easiest local target "
                f"{easiest_local}: {difference.text()}")
    return finding(decide(difference), difference, evidence)


CLAIMS = (
    Claim("beats-noise",
          "Adversarial examples transfer more than random noise of the same size, at every eps",
          "Szegedy et al. 2013; Papernot et al. 2016",
          "transfer rate pooled over (source, target) pairs, per attack and eps, minus the noise "
          "attack's on the same pairs, with a 95% bootstrap interval over the test points",
          "interval above 0 for every attack and eps (FAIL: a difference at or below 0 for "
          "one); an attack without its own noise control and with a mean L2 below "
          f"{SAME_SIZE:.0%} of the noise's is left out",
          beats_noise,
          control="the noise attack (random signs at the same L-inf eps: the largest L2 in the "
                  "ball) on the same (source, target) pairs and points; for a minimal attack "
                  "(tree, forest, neighbors, DeepFool, ...), a random direction of each point's "
                  "own perturbation L2 norm, on the same cells",
          minimum=f"{MIN_POINTS} test points with a trial on both sides"),
    Claim("cross-family",
          "Adversarial examples transfer between model families (e.g. a network to a tree)",
          "Papernot et al. 2016",
          "per attack at the largest eps, the transfer rate pooled over the (source, target) "
          "pairs of different families (network, linear, svm, rbf, tree, forest, knn) minus the "
          "noise attack's on the same pairs",
          "for some attack, the bootstrap interval at 1 − 0.05/k (k attacks) above 0 (FAIL: "
          "every attack's difference at or below 0)", cross_family,
          control="the noise attack at the largest eps on the same cross-family pairs and points",
          minimum=f"{MIN_POINTS} test points with a trial on both sides"),
    Claim("local-targets-hardest",
          "Targets deciding from nearby training points (kNN, RBF) are the hardest to transfer to",
          "Papernot et al. 2016; Goodfellow et al. 2014",
          "transfer rate into each target, pooled over sources, attacks (not noise) and eps; the "
          "hardest other target's minus the easiest kNN/RBF target's, on the same points",
          "bootstrap interval of the difference above 0 (FAIL: at or below 0)",
          local_targets_hardest,
          control="the other targets (neither kNN nor RBF), pooled the same way",
          minimum=f"{MIN_POINTS} test points with a trial on both sides"),
)
