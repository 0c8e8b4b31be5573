"""What adversarial training and the linear view predict about robustness, as claims (see
``Claim``): Goodfellow et al. (2014) — adversarial training lowers the white-box error, examples
transfer less to an adversarially trained model than from it, and models classify Gaussian noise
confidently; Moosavi-Dezfooli et al. (2016) — DeepFool's minimal perturbations are several times
smaller than FGSM's smallest fooling step."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Claim, Finding, Rate, every_above

from ..shared.cell_parts import parts
from .groups import NORMAL, counterparts, nearest, training_eps

SEVERAL_TIMES = 2.0  # FGSM's smallest fooling step at least this many times DeepFool's
MAJORITY = 0.5  # share of noise inputs classified with confidence above the threshold


def strongest_attack(config: Any) -> str:
    """The attack the training claims read: ``pgd`` when the config has it, else the last."""
    return next((a.label for a in config.attacks if a.name == "pgd"), config.attacks[-1].label)


def _compare(pairs: list[tuple[str, Rate, Rate]], lower: str) -> Finding:
    """PASS when every second rate lies below the first (disjoint 95% intervals), FAIL when one
    lies above; the value is the largest ratio second / first."""
    if not pairs:
        return Finding("INCONCLUSIVE", math.nan, lower)
    evidence = "; ".join(f"{what}: {a.percent()} vs {b.percent()}" for what, a, b in pairs)
    value = max(b.rate / a.rate if a.rate > 0 else math.inf for _, a, b in pairs)
    return Finding(every_above([(a, b) for _, a, b in pairs]), value, evidence)


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
    ratios = {m: b.fgsm_to_deepfool for m, b in parts(results, "white-box").items()
              if math.isfinite(b.fgsm_to_deepfool)}
    if not ratios:
        return Finding("INCONCLUSIVE", math.nan, "no point fooled by both DeepFool and FGSM")
    least = min(ratios.values())
    evidence = "mean FGSM / DeepFool L2 norm: " + ", ".join(f"{m} {q:.1f}x"
                                                            for m, q in ratios.items())
    if least >= SEVERAL_TIMES:
        return Finding("PASS", least, evidence)
    return Finding("FAIL" if least <= 1 else "INCONCLUSIVE", least, evidence)


def rubbish_everywhere(config: Any, results: Mapping[Cell, Any]) -> Finding:
    boxes = {m: b for m, b in parts(results, "white-box").items() if b.group == NORMAL}
    if not boxes:
        return Finding("INCONCLUSIVE", math.nan, "no normal (not adversarially trained) model")
    pooled = Rate.pooled([b.rubbish for b in boxes.values()])
    evidence = (f"noise inputs with confidence > {config.confidence:g}: pooled "
                f"{pooled.percent()}; " + ", ".join(f"{m} {100 * b.rubbish.rate:.0f}% (mean "
                                                    f"confidence {100 * b.rubbish_confidence:.0f}%)"
                                                    for m, b in boxes.items()))
    if pooled.ci_low > MAJORITY:
        return Finding("PASS", pooled.rate, evidence)
    return Finding("FAIL" if pooled.ci_high < MAJORITY else "INCONCLUSIVE", pooled.rate, evidence)


CLAIMS = (
    Claim("training-lowers-error",
          "Adversarial training lowers the white-box error at the eps it trained for",
          "Goodfellow et al. 2014; Madry et al. 2017",
          "error rate of the strongest attack (pgd) at the training eps, normal model vs the "
          "adversarially trained one of the same family",
          "lower for every pair, 95% intervals disjoint (FAIL: higher for one)",
          training_lowers_error),
    Claim("transfer-asymmetry",
          "Examples crafted on a normal model fool its adversarially trained twin less than the "
          "reverse", "Goodfellow et al. 2014, §6",
          "error of the transfer attack, normal → adversarially trained vs the reverse",
          "lower for every pair, 95% intervals disjoint (FAIL: higher for one)",
          transfer_asymmetry),
    Claim("deepfool-smaller-than-fgsm",
          "DeepFool's minimal perturbations are several times smaller than FGSM's smallest "
          "fooling step", "Moosavi-Dezfooli et al. 2016, Table 1",
          "mean L2 norm of FGSM's smallest fooling step / DeepFool's, per model",
          f"at least {SEVERAL_TIMES:g}x for every model (FAIL: at most 1x for one)",
          deepfool_smaller),
    Claim("rubbish-everywhere",
          "Normal models put most Gaussian noise inputs confidently in some class",
          "Goodfellow et al. 2014, §8",
          "share of x ~ N(0, I) classified with confidence above the threshold, pooled over the "
          "normal models",
          f"95% interval above {MAJORITY:.0%} (FAIL: below)", rubbish_everywhere,
          theory="Linearity in high dimension"),
)
