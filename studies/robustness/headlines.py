"""The papers' robustness numbers, measured their way on the study's models: Goodfellow et al.'s
FGSM error before and after adversarial training and their transfer between the two maxout
networks, and DeepFool's ρ_adv."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Headline, Measured

from .claims import parts
from .groups import NORMAL, counterparts, nearest, training_eps

PAPER_FAMILY = "maxout"  # Goodfellow et al.'s adversarially trained network


def _pair(config: Any, method: str = "fgsm") -> tuple[Any, Any] | None:
    """The paper's pair: a normal model and its FGSM-trained twin, maxout first."""
    pairs = [(n, t) for n, t in counterparts(config) if t.params["adversarial"]["method"] == method]
    return next((p for p in pairs if p[0].name == PAPER_FAMILY), pairs[0] if pairs else None)


def fgsm_error_after_training(config: Any, results: Mapping[Cell, Any]) -> Measured:
    pair, boxes = _pair(config), parts(results, "white-box")
    fgsm = next((a.label for a in config.attacks if a.name == "fgsm"), None)
    if pair is None or fgsm is None or not {p.label for p in pair} <= set(boxes):
        return Measured(math.nan, "needs an fgsm attack, a normal model and its FGSM-trained "
                                  "twin")
    normal, trained = pair
    i = nearest(config.eps, training_eps(trained) or 0.0)
    before, after = boxes[normal.label].errors[fgsm][i], boxes[trained.label].errors[fgsm][i]
    return Measured(after.rate, f"FGSM error at eps {config.eps[i]:g}: {normal.label} "
                                f"{before.percent()} → {trained.label} {after.percent()}")


def transfer_to_trained(config: Any, results: Mapping[Cell, Any]) -> Measured:
    pair, rows = _pair(config), parts(results, "transfer")
    if pair is None or not {p.label for p in pair} <= set(rows):
        return Measured(math.nan, "needs a normal model and its FGSM-trained twin")
    normal, trained = pair
    forward, backward = rows[normal.label][trained.label], rows[trained.label][normal.label]
    return Measured(forward.rate, f"{config.transfer_attack.label} at eps {config.transfer_eps:g}: "
                                  f"{normal.label} → {trained.label} {forward.percent()}, "
                                  f"{trained.label} → {normal.label} {backward.percent()}")


def rho_adv_normal(config: Any, results: Mapping[Cell, Any]) -> Measured:
    boxes = {m: b for m, b in parts(results, "white-box").items() if b.group == NORMAL}
    if not boxes:
        return Measured(math.nan, "no normal model")
    first = next(iter(boxes))
    text = ", ".join(f"{m} {b.rho_adv:.3f} (FGSM {b.fgsm_reach.rho_fgsm:.3f})"
                     for m, b in boxes.items())
    return Measured(boxes[first].rho_adv, "ρ_adv of the normal models, DeepFool (FGSM at the "
                                          f"smallest eps that misclassifies 90%): {text}")


HEADLINES = (
    Headline("fgsm-error-after-training",
             "FGSM error at the training eps of the FGSM-trained model (maxout when there is "
             "one; the normal twin's in the text)", "Goodfellow et al. 2014, §6",
             "MNIST maxout, eps 0.25: 89.4% → 17.9%", fgsm_error_after_training),
    Headline("transfer-to-trained",
             "error of the FGSM-trained model on examples crafted on its normal twin (the "
             "reverse in the text)", "Goodfellow et al. 2014, §6",
             "MNIST maxout: normal → adversarially trained 19.6%, the reverse 40.9%",
             transfer_to_trained),
    Headline("rho-adv",
             "DeepFool's ρ_adv = mean ‖r*‖₂/‖x‖₂ of the first normal model (FGSM's in the text)",
             "Moosavi-Dezfooli et al. 2016, Table 1",
             "MNIST: LeNet 0.20, FC500-150-10 0.11 (FGSM 1.0 and 0.39)", rho_adv_normal),
)
