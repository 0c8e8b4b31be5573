"""What adversarial training and the linear view predict about robustness, as claims (see
``Claim``): Goodfellow et al. (2014) — adversarial training lowers the white-box error, examples
transfer less to an adversarially trained model than from it, and models classify Gaussian noise
confidently; Moosavi-Dezfooli et al. (2016) — DeepFool's minimal perturbations are several times
smaller than FGSM's, ρ_adv measured the paper's way (``fgsm_reach``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from transfer import (
    Cell,
    Claim,
    Finding,
    Rate,
    all_of,
    deciding,
    every_above,
    quotient_range,
    simultaneous_z,
    wilson_interval,
)

from ..shared.cell_parts import parts
from .groups import NORMAL, counterparts, nearest, training_eps

if TYPE_CHECKING:
    from transfer import Verdict

SEVERAL_TIMES = 2.0  # FGSM's ρ_adv (at its 90% eps) at least this many times DeepFool's
MIN_POINTS = 50  # test points behind a model's two ρ_adv
MAJORITY = 0.5  # share of noise inputs classified with confidence above the threshold


def strongest_attack(config: Any) -> str:
    """The attack the training claims read: ``pgd`` when the config has it, else the last."""
    return next((a.label for a in config.attacks if a.name == "pgd"), config.attacks[-1].label)


def _compare(pairs: list[tuple[str, Rate, Rate]], lower: str) -> Finding:
    """PASS when every second rate lies below the first (disjoint 95% intervals), FAIL when one
    lies above; the value is the ratio second / first of the pair that decides (the largest of
    the pairs whose own verdict is the claim's: the failing ones for a FAIL), ``n`` the fewer
    trials of its two rates, and its interval ``_ratio_interval``."""
    if not pairs:
        return Finding("INCONCLUSIVE", math.nan, lower)
    evidence = "; ".join(f"{what}: {a.percent()} vs {b.percent()} (n = {a.n}, {b.n})"
                         for what, a, b in pairs)
    verdict = every_above([(a, b) for _, a, b in pairs])
    value, n, a, b = max(((b.rate / a.rate if a.rate > 0 else math.inf, min(a.n, b.n), a, b)
                          for a, b in deciding([(a, b) for _, a, b in pairs],
                                               lambda pair: every_above([pair]), verdict)),
                         key=lambda row: row[:2])
    return Finding(verdict, value, evidence, *_ratio_interval(b, a), n)


def _ratio_interval(numerator: Rate, denominator: Rate) -> tuple[float, float]:
    """The 95% interval of the ratio of two rates from their simultaneous Wilson intervals
    (each at 97.5%, Bonferroni): valid whatever the dependence of the two on their shared test
    points, which the stored counts (no per-point outcomes) do not say."""
    z = simultaneous_z(2)
    return quotient_range(wilson_interval(numerator.count, numerator.n, z),
                          wilson_interval(denominator.count, denominator.n, z))


def training_lowers_error(config: Any, results: Mapping[Cell, Any]) -> Finding:
    boxes, attack = parts(results, "white-box"), strongest_attack(config)
    pairs = []
    for normal, trained in counterparts(config):
        if normal.label in boxes and trained.label in boxes:
            i = nearest(config.eps, training_eps(trained) or 0.0)
            pairs.append((f"{attack} error at eps {config.eps[i]:g}, {normal.label} vs "
                          f"{trained.label}", boxes[normal.label].errors[attack][i],
                          boxes[trained.label].errors[attack][i]))
    return _compare(pairs, "needs an adversarially trained model (with eps) and a normal model "
                           "of the same family")


def transfer_asymmetry(config: Any, results: Mapping[Cell, Any]) -> Finding:
    rows = parts(results, "transfer")
    pairs = [(f"{trained.label} → {normal.label} vs {normal.label} → {trained.label}",
              rows[trained.label][normal.label], rows[normal.label][trained.label])
             for normal, trained in counterparts(config)
             if normal.label in rows and trained.label in rows]
    return _compare(pairs, "needs an adversarially trained model (with eps) and a normal model "
                           "of the same family")


def deepfool_smaller(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """Per model, FGSM's ρ_adv at its 90% eps over DeepFool's ρ_adv: PASS when the bootstrap
    interval lies at or above ``SEVERAL_TIMES``, FAIL when the ratio itself is below it."""
    rows: list[tuple[str, Any, Verdict]] = []
    for model, box in parts(results, "white-box").items():
        reach = box.fgsm_reach
        verdict: Verdict
        if reach.points < MIN_POINTS or not math.isfinite(reach.ratio):
            verdict = "INCONCLUSIVE"
        elif reach.ratio < SEVERAL_TIMES:
            verdict = "FAIL"
        else:
            verdict = "PASS" if reach.ratio_ci_low >= SEVERAL_TIMES else "INCONCLUSIVE"
        rows.append((model, reach, verdict))
    if not rows:
        return Finding("INCONCLUSIVE", math.nan, "no white-box cell")
    evidence = "; ".join(f"{m}: {r.text()} {v}" for m, r, v in rows)
    verdict = all_of([v for *_, v in rows])
    # the model that decides: of those whose own verdict is the claim's, the smallest ratio
    chosen = [r for _, r, _ in deciding(rows, lambda row: row[2], verdict)]
    read = [r for r in chosen if not math.isnan(r.ratio)]
    if not read:
        return Finding(verdict, math.nan, evidence, n=min(r.points for r in chosen))
    least = min(read, key=lambda r: r.ratio)
    return Finding(verdict, least.ratio, evidence, least.ratio_ci_low, least.ratio_ci_high,
                   least.points)


def rubbish_everywhere(config: Any, results: Mapping[Cell, Any]) -> Finding:
    boxes = {m: b for m, b in parts(results, "white-box").items() if b.group == NORMAL}
    if not boxes:
        return Finding("INCONCLUSIVE", math.nan, "no normal (not adversarially trained) model")
    pooled = Rate.pooled([b.rubbish for b in boxes.values()])
    evidence = (f"noise inputs with confidence > {config.confidence:g}: pooled "
                f"{pooled.percent()}; " + ", ".join(f"{m} {100 * b.rubbish.rate:.0f}% (mean "
                                                    f"confidence {100 * b.rubbish_confidence:.0f}%)"
                                                    for m, b in boxes.items()))
    interval = (pooled.ci_low, pooled.ci_high, pooled.n)
    if pooled.ci_low > MAJORITY:
        return Finding("PASS", pooled.rate, evidence, *interval)
    return Finding("FAIL" if pooled.ci_high < MAJORITY else "INCONCLUSIVE", pooled.rate, evidence,
                   *interval)


CLAIMS = (
    Claim("training-lowers-error",
          "Adversarial training lowers the white-box error at the eps it trained for",
          "Goodfellow et al. 2014; Madry et al. 2017",
          "error rate of the strongest attack (pgd) at the training eps, normal model vs the "
          "adversarially trained one of the same family",
          "lower for every pair, 95% intervals disjoint (FAIL: higher for one)",
          training_lowers_error,
          control="the normal model of the same family, on the same test points",
          minimum="one (normal, trained) pair (disjoint Wilson intervals, unpaired)"),
    Claim("transfer-asymmetry",
          "Examples crafted on a normal model fool its adversarially trained twin less than the "
          "reverse", "Goodfellow et al. 2014, §6",
          "error of the transfer attack, normal → adversarially trained vs the reverse",
          "lower for every pair, 95% intervals disjoint (FAIL: higher for one)",
          transfer_asymmetry,
          control="the reverse direction, trained → normal, on the same test points",
          minimum="one (normal, trained) pair (disjoint Wilson intervals, unpaired)"),
    Claim("deepfool-smaller-than-fgsm",
          "DeepFool's minimal perturbations are several times smaller than FGSM's",
          "Moosavi-Dezfooli et al. 2016, Table 1",
          "ρ_adv of FGSM at the smallest eps that misclassifies 90% of the test points / "
          "DeepFool's ρ_adv = mean ‖r*‖₂/‖x‖₂, per model, with a 95% bootstrap interval over "
          "the test points",
          f"the interval at or above {SEVERAL_TIMES:g}x for every model (FAIL: one ratio below "
          f"{SEVERAL_TIMES:g}x)", deepfool_smaller,
          control="DeepFool's ρ_adv on the same points (the ratio's denominator)",
          minimum=f"{MIN_POINTS} test points per model"),
    Claim("rubbish-everywhere",
          "Normal models put most Gaussian noise inputs confidently in some class",
          "Goodfellow et al. 2014, §8",
          "share of x ~ N(0, I) classified with confidence above the threshold, pooled over the "
          "normal models",
          f"95% interval above {MAJORITY:.0%} (FAIL: below)", rubbish_everywhere,
          control="a fixed majority (no RBF model is tested as the paper's contrast)",
          minimum="one normal model",
          theory="Linearity in high dimension"),
)
