"""What the transferability papers predict for a transfer matrix, as claims (see ``Claim``).

Rates are pooled over pairs (summed counts and trials, a new 95% Wilson interval); "above" means
the two intervals are disjoint. The noise attack of the config is the control: without one, the
claims that need it are INCONCLUSIVE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from transfer import Cell, Claim, Finding, NotApplicable, Rate, every_above

if TYPE_CHECKING:  # the study imports these claims
    from .config import TransferMatrixConfig
    from .result import TransferMatrixResult

LOCAL_FAMILIES = ("knn", "rbf-net", "rbf-svm")  # decisions made from nearby training points
SAME_SIZE = 0.5  # an attack whose mean L2 perturbation is below this share of the noise's is
# a minimal-perturbation attack (tree, forest, ...): the noise at eps is no control for it


def _done(results: Mapping[Cell, TransferMatrixResult | NotApplicable]
          ) -> dict[tuple[str, str, float], TransferMatrixResult]:
    return {(c["source"], c["attack"], c["eps"]): r for c, r in results.items()
            if not isinstance(r, NotApplicable)}


def _noise(config: TransferMatrixConfig) -> str | None:
    return next((a.label for a in config.attacks if a.name == "noise"), None)


def _pool(done: dict[tuple[str, str, float], TransferMatrixResult], attack: str, eps: float,
          pairs: set[tuple[str, str]] | None = None) -> Rate:
    """The transfer rate of ``attack`` at ``eps`` pooled over (source, target) pairs."""
    return Rate.pooled([
        outcome.transfer_rate
        for (source, label, at), result in done.items() if label == attack and at == eps
        for target, outcome in result.targets.items()
        if pairs is None or (source, target) in pairs
    ])


def _size(done: dict[tuple[str, str, float], TransferMatrixResult], attack: str, eps: float,
          sources: set[str]) -> float:
    """The mean L2 norm of ``attack``'s perturbations at ``eps`` from these sources."""
    sizes = [r.perturbation_l2 for (s, a, at), r in done.items()
             if a == attack and at == eps and s in sources]
    return sum(sizes) / len(sizes) if sizes else math.nan


def beats_noise(config: TransferMatrixConfig,
                results: Mapping[Cell, TransferMatrixResult | NotApplicable]) -> Finding:
    noise, done = _noise(config), _done(results)
    if noise is None:
        return Finding("INCONCLUSIVE", math.nan, "needs the noise attack as a control")
    compared, smaller = [], {}
    for attack in (a.label for a in config.attacks if a.label != noise):
        for eps in config.eps:
            sources = {s for s, a, at in done if a == attack and at == eps}
            pairs = {(s, t) for s in sources for t in config.target_labels()}
            adversarial, control = _pool(done, attack, eps), _pool(done, noise, eps, pairs)
            if not adversarial.n or not control.n:
                continue
            size, noise_size = _size(done, attack, eps, sources), _size(done, noise, eps, sources)
            if size < SAME_SIZE * noise_size:  # a minimal perturbation, not "the same size"
                smaller[attack] = f"{attack} (L2 {size:.2f} vs {noise_size:.2f} at eps {eps:g})"
            else:
                compared.append((attack, eps, adversarial, control))
    left_out = (f"; left out as much smaller than the noise: {', '.join(smaller.values())}"
                if smaller else "")
    if not compared:
        return Finding("INCONCLUSIVE", math.nan,
                       "no attack and noise of the same size ran at the same eps" + left_out)
    margin = min(a.ci_low - c.ci_high for _, _, a, c in compared)
    worst = min(compared, key=lambda row: row[2].ci_low - row[3].ci_high)
    evidence = (f"closest: {worst[0]} at eps {worst[1]:g}: {worst[2].percent()} vs noise "
                f"{worst[3].percent()} from the same sources{left_out}")
    verdict = every_above([(a, c) for _, _, a, c in compared])
    return Finding(verdict, margin,
                   evidence + (" (intervals overlap)" if verdict == "INCONCLUSIVE" else ""))


def cross_family(config: TransferMatrixConfig,
                 results: Mapping[Cell, TransferMatrixResult | NotApplicable]) -> Finding:
    noise, done = _noise(config), _done(results)
    if noise is None:
        return Finding("INCONCLUSIVE", math.nan, "needs the noise attack as a control")
    family = {m.label: m.name for m in config.models}
    pairs = {(s, t) for s, _, _ in done for t in config.target_labels() if family[s] != family[t]}
    eps = max(config.eps)
    rows = [(attack, _pool(done, attack, eps, pairs), _pool(done, noise, eps, pairs))
            for attack in (a.label for a in config.attacks if a.label != noise)]
    rows = [row for row in rows if row[1].n and row[2].n]
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "no pair of different families ran")
    best = max(rows, key=lambda row: row[1].ci_low - row[2].ci_high)
    evidence = (f"{best[0]} at eps {eps:g}, {len(pairs)} cross-family pairs: "
                f"{best[1].percent()} vs noise {best[2].percent()}")
    margin = best[1].ci_low - best[2].ci_high
    if best[1].above(best[2]):
        return Finding("PASS", margin, evidence)
    if all(control.above(rate) for _, rate, control in rows):
        return Finding("FAIL", margin, evidence)
    return Finding("INCONCLUSIVE", margin, evidence + " (intervals overlap)")


def local_targets_hardest(config: TransferMatrixConfig,
                          results: Mapping[Cell, TransferMatrixResult | NotApplicable]
                          ) -> Finding:
    noise, done = _noise(config), _done(results)
    family = {m.label: m.name for m in config.models}
    into = {target: Rate.pooled([result.targets[target].transfer_rate
                                 for (_, attack, _), result in done.items()
                                 if attack != noise and target in result.targets])
            for target in config.target_labels()}
    into = {t: r for t, r in into.items() if r.n}
    local = {t: r for t, r in into.items() if family[t] in LOCAL_FAMILIES}
    other = {t: r for t, r in into.items() if family[t] not in LOCAL_FAMILIES}
    if not local or not other:
        return Finding("INCONCLUSIVE", math.nan,
                       f"needs a target of {', '.join(LOCAL_FAMILIES)} and one of another family")
    easiest_local = max(local, key=lambda t: local[t].rate)
    hardest_other = min(other, key=lambda t: other[t].rate)
    a, b = local[easiest_local], other[hardest_other]
    evidence = (f"easiest local target {easiest_local} {a.percent()}; hardest other "
                f"{hardest_other} {b.percent()}")
    if b.above(a):
        return Finding("PASS", b.ci_low - a.ci_high, evidence)
    if a.above(b):
        return Finding("FAIL", b.ci_low - a.ci_high, evidence)
    return Finding("INCONCLUSIVE", b.ci_low - a.ci_high, evidence + " (intervals overlap)")


CLAIMS = (
    Claim("beats-noise",
          "Adversarial examples transfer more than random noise of the same size, at every eps",
          "Szegedy et al. 2013; Papernot et al. 2016",
          "transfer rate pooled over (source, target) pairs, per attack and eps; the noise "
          "control pooled over the same sources",
          "95% Wilson interval above the noise's at the same eps, for every attack and eps "
          f"whose mean L2 perturbation is at least {SAME_SIZE:.0%} of the noise's",
          beats_noise),
    Claim("cross-family",
          "Adversarial examples transfer between model families (e.g. a network to a tree)",
          "Papernot et al. 2016",
          "transfer rate pooled over pairs of different families, at the largest eps",
          "for some attack, 95% Wilson interval above the noise attack's on the same pairs",
          cross_family),
    Claim("local-targets-hardest",
          "Targets deciding from nearby training points (kNN, RBF) are the hardest to transfer to",
          "Papernot et al. 2016; Goodfellow et al. 2014",
          "transfer rate into each target, pooled over sources, attacks (not noise) and eps",
          "even the easiest kNN/RBF target's interval lies below the hardest other target's",
          local_targets_hardest),
)
