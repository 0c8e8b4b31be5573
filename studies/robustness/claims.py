"""What adversarial training and the linear view predict about robustness, as claims (see
``Claim``): Goodfellow et al. (2014) — adversarial training lowers the white-box error, examples
transfer less to an adversarially trained model than from it, and normal models classify Gaussian
noise confidently where an RBF network does not; Moosavi-Dezfooli et al. (2016) — DeepFool's
minimal perturbations are several times smaller than FGSM's, ρ_adv measured the paper's way
(``fgsm_reach``)."""

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
from .result import Rubbish

if TYPE_CHECKING:
    from transfer import Verdict

SEVERAL_TIMES = 2.0  # FGSM's ρ_adv (at its 90% eps) at least this many times DeepFool's
MIN_POINTS = 50  # test points behind a model's two ρ_adv
# rubbish-everywhere, fixed before any run: PASS when the normal models' pooled 95% Wilson
# interval of the share of noise inputs classified with confidence above the threshold lies above
# MAJORITY and every contrast model's (an RBF network) lies below it; FAIL when the normal pooled
# interval lies below MAJORITY or some contrast model's lies above it (the contrast is fooled
# too, so the noise result does not single out linear models); else INCONCLUSIVE, also when no
# contrast cell ran.
MAJORITY = 0.5
# The contrast's guard, fixed before any run: a contrast model counts only when its units are
# confident on its own clean evaluation points, i.e. the 95% Wilson interval of the share of the
# study's n_points clean test points whose largest confidence exceeds the threshold lies above
# CONFIDENT_ON_DATA. A contrast never confident on real data says nothing about noise: one that
# fails the guard (or whose clean share was not measured, results stored before it) can make the
# claim neither PASS nor FAIL, only INCONCLUSIVE.
CONFIDENT_ON_DATA = MAJORITY


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


def _side(rate: Rate, above: bool) -> Verdict:
    """PASS when ``rate``'s 95% interval lies on the predicted side of ``MAJORITY`` (above, or
    below), FAIL when it lies on the other, else INCONCLUSIVE."""
    if (rate.ci_low > MAJORITY) if above else (rate.ci_high < MAJORITY):
        return "PASS"
    return "FAIL" if ((rate.ci_high < MAJORITY) if above else (rate.ci_low > MAJORITY)) \
        else "INCONCLUSIVE"


def _count(rate: Rate) -> str:
    return f"{rate.percent()} ({rate.count}/{rate.n})"


def _confident_on_data(contrast: Rubbish) -> bool:
    """The guard stated at ``CONFIDENT_ON_DATA``."""
    clean = contrast.clean_confident
    return clean is not None and clean.ci_low > CONFIDENT_ON_DATA


def _against(model: str, contrast: Rubbish) -> str:
    """A contrast model's noise share and its clean share (counts, mean confidences), saying
    why it does not count when it fails the guard."""
    text = (f"{model} noise {_count(contrast.rubbish)} (mean confidence "
            f"{100 * contrast.rubbish_confidence:.0f}%)")
    clean = contrast.clean_confident
    if clean is None:
        return f"{text}; {model}'s confidence on clean test points was not measured: its units " \
               "cannot be checked"
    on_data = f"{_count(clean)} (mean confidence {100 * (contrast.clean_confidence or 0):.0f}%)"
    if _confident_on_data(contrast):
        return f"{text}, clean test points {on_data}"
    return (f"{text}; {model} is confident on {on_data} of clean test points: its units say "
            "nothing about noise")


def rubbish_everywhere(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """The rule stated at ``MAJORITY``, with the guard stated at ``CONFIDENT_ON_DATA``. The
    value is the normal models' pooled share, unless a contrast model that passes the guard
    decides the verdict (the highest noise share among those that do)."""
    boxes = {m: b for m, b in parts(results, "white-box").items() if b.group == NORMAL}
    if not boxes:
        return Finding("INCONCLUSIVE", math.nan, "no normal (not adversarially trained) model")
    pooled = Rate.pooled([b.rubbish for b in boxes.values()])
    contrast = parts(results, "contrast")
    normal = ", ".join(f"{m} {100 * b.rubbish.rate:.0f}% ({b.rubbish.count}/{b.rubbish.n}, "
                       f"mean confidence {100 * b.rubbish_confidence:.0f}%)"
                       for m, b in boxes.items())
    against = ", ".join(_against(m, c) for m, c in contrast.items())
    evidence = (f"noise inputs with confidence > {config.confidence:g}: pooled {_count(pooled)}; "
                f"{normal}; " + (f"RBF contrast: {against}" if contrast else "no RBF contrast"))
    # the normal pool first, then each contrast model with its own verdict (INCONCLUSIVE when it
    # fails the guard), and whether its noise share is read
    rows = [(pooled, _side(pooled, above=True), True)] + [
        (c.rubbish, _side(c.rubbish, above=False), True) if _confident_on_data(c)
        else (c.rubbish, "INCONCLUSIVE", False) for c in contrast.values()]
    verdict = all_of([v for _, v, _ in rows])
    if not contrast and verdict != "FAIL":
        verdict = "INCONCLUSIVE"
    chosen = [row for row in deciding(rows, lambda row: row[1], verdict) if row[2]]
    rate = pooled if not chosen or chosen[0] is rows[0] else max((r for r, *_ in chosen),
                                                                 key=lambda r: r.rate)
    return Finding(verdict, rate.rate, evidence, rate.ci_low, rate.ci_high, rate.n)


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
          "Normal models put most Gaussian noise inputs confidently in some class; an RBF network "
          "does not", "Goodfellow et al. 2014, §8",
          "share of x ~ N(0, I) whose largest class confidence (softmax; for an RBF network its "
          "unnormalised RBF unit) exceeds the threshold, pooled over the normal models, and per "
          "contrast model",
          f"normal pooled 95% interval above {MAJORITY:.0%} and every contrast model's below "
          f"(FAIL: the normal interval below, or a contrast model's above); a contrast model "
          f"counts only when confident on over {CONFIDENT_ON_DATA:.0%} of the clean test points "
          f"(95% interval)", rubbish_everywhere,
          control="the contrast models (an RBF network with units trained one-vs-rest by "
                  "default) on the same noise inputs; INCONCLUSIVE without one, or with one "
                  "unconfident on the clean test points",
          minimum="one normal model and one contrast model confident on the data",
          theory="Linearity in high dimension"),
)
