"""Constructed transfer-attacks results on which each claim passes, fails and is undecided.

One small world serves every case: a CNN and a residual network (``resnet18``) as sources, four
targets, the attacks the claims compare and the ``noise`` control, untargeted and targeted (the
noise has no target rule, so its targeted cells are ``NotApplicable``), at one eps, as the study
plans it. Each attack fools a share of the points on each target, scaled by how easy the target is
(``EASE``); the points are ordered by difficulty, so an attack fools the first points of that
order and two attacks differ only on the points between their shares. SGM from the CNN has no
residual block to scale (``sgm_modules`` 0): it is MI-FGSM there, and skip-gradient-helps reads
only the resnet18 source.

In ``TYPICAL`` every claim passes. Each FAIL case moves the better attack below its base (or to
it: no effect at all). Each INCONCLUSIVE case is undecided either by too few points (the FAIL
case's shares on 20 points, fewer than ``MIN_POINTS``) or by a net gain too small to decide (the
better attack fools a few more points on one target and a few fewer on another).
"""

from __future__ import annotations

from transfer import Cell, NotApplicable
from transfer.studies.transfer_attacks.claims import MIN_POINTS
from transfer.studies.transfer_attacks.config import NAME, TransferAttacksConfig
from transfer.studies.transfer_attacks.result import TransferAttacksResult

from . import Case

STUDY = "transfer-attacks"
N_POINTS = 200  # the points every model classifies correctly, sampled once for every cell
FEW_POINTS = 20
assert FEW_POINTS < MIN_POINTS <= N_POINTS
TYPICAL = {"noise": 0.05, "fgsm": 0.3, "bim": 0.2, "mifgsm": 0.4, "difgsm": 0.55,
           "tifgsm": 0.5, "sgm": 0.5}  # untargeted share of the points fooled, on an easy target
EASE = {"mlp": 1.0, "cnn": 0.8, "resnet18": 0.7, "softmax": 0.9}
STEPS = {"noise": 0, "fgsm": 1}  # forward passes per point; the iterative attacks take 10
RESIDUAL_BLOCKS = {"resnet18": 8.0, "cnn": 0.0}

Share = float | dict[str, float]  # one share scaled by EASE, or target -> share
Done = TransferAttacksResult | NotApplicable  # what a cell gives


def _config() -> TransferAttacksConfig:
    return TransferAttacksConfig.model_validate(
        {"models": ["mlp", "cnn", {"name": "timm:resnet18", "label": "resnet18"}, "softmax"],
         "sources": ["cnn", "resnet18"],
         "attacks": ["noise", "fgsm", "bim", "mifgsm", "difgsm",
                     {"name": "tifgsm", "params": {"kernel_size": 3}}, "sgm"],
         "eps": [0.1]})


def _flags(share: float, n_points: int) -> str:
    """The first ``share`` of the points (in order of difficulty) fooled."""
    fooled = round(share * n_points)
    return "1" * fooled + "0" * (n_points - fooled)


def _on(share: Share, target: str) -> float:
    """The share of the points fooled on ``target``."""
    return share[target] if isinstance(share, dict) else share * EASE[target]


def _result(attack: str, source: str, share: Share, typical: float, n_points: int,
            targeted: bool, targets: list[str]) -> TransferAttacksResult:
    scale = 0.25 if targeted else 1.0  # a chosen class is harder to hit than any other class
    measures = {"gradients_per_point": float(STEPS.get(attack, 10))}
    if attack == "sgm":
        measures["sgm_modules"] = RESIDUAL_BLOCKS[source]
    return TransferAttacksResult(
        n_points=n_points, whitebox=_flags(min(1.0, 2 * typical * scale), n_points),
        targets={t: _flags(scale * _on(share, t), n_points) for t in targets},
        passes_per_point=float(STEPS.get(attack, 10)), seconds=0.01 * n_points,
        attack_measures=measures)


def _case(n_points: int = N_POINTS, **changes: Share
          ) -> tuple[TransferAttacksConfig, dict[Cell, Done]]:
    """Every planned cell's result with the ``TYPICAL`` shares, but for the attacks ``changes``
    names; SGM from a source without residual blocks fools what MI-FGSM fools."""
    config = _config()
    shares: dict[str, Share] = {**TYPICAL, **changes}
    results: dict[Cell, Done] = {}
    for source in config.source_labels():
        for mode in config.modes:
            for attack in config.attacks:
                for eps in config.eps:
                    cell = Cell.make(NAME, source=source, attack=attack.label, mode=mode,
                                     eps=eps)
                    if mode != "none" and attack.name == "noise":
                        results[cell] = NotApplicable(
                            reason="noise is untargeted (it has no target rule)")
                        continue
                    name = ("mifgsm" if attack.name == "sgm" and not RESIDUAL_BLOCKS[source]
                            else attack.name)
                    results[cell] = _result(attack.name, source, shares[name], TYPICAL[name],
                                            n_points, mode != "none", config.target_labels())
    return config, results


def _mixed(base: str) -> dict[str, float]:
    """What ``base`` fools on every target, but eight points more on the cnn target and four
    fewer on the mlp one: a net gain of four points of 200, per-point differences of both signs."""
    shares = {target: TYPICAL[base] * ease for target, ease in EASE.items()}
    return {**shares, "cnn": shares["cnn"] + 8 / N_POINTS, "mlp": shares["mlp"] - 4 / N_POINTS}


CASES: dict[str, dict[str, Case]] = {
    "momentum-beats-iterative": {
        "PASS": lambda: _case(),  # mifgsm 40% vs bim 20% (on the easiest target)
        "FAIL": lambda: _case(mifgsm=0.15),  # momentum below bim
        "INCONCLUSIVE": lambda: _case(FEW_POINTS, mifgsm=0.15),  # the same, on too few points
    },
    "diversity-helps": {
        "PASS": lambda: _case(),  # difgsm 55% vs mifgsm 40%
        "FAIL": lambda: _case(difgsm=0.35),  # input diversity costs transfer
        "INCONCLUSIVE": lambda: _case(difgsm=_mixed("mifgsm")),  # a net gain too small
    },
    "translation-helps": {
        "PASS": lambda: _case(),  # tifgsm 50% vs mifgsm 40%
        "FAIL": lambda: _case(tifgsm=TYPICAL["mifgsm"]),  # no effect at all: mean 0
        "INCONCLUSIVE": lambda: _case(tifgsm=_mixed("mifgsm")),  # a net gain too small
    },
    "skip-gradient-helps": {
        "PASS": lambda: _case(),  # sgm 50% vs mifgsm 40% from resnet18
        "FAIL": lambda: _case(sgm=0.3),  # skip gradients cost transfer from resnet18
        "INCONCLUSIVE": lambda: _case(sgm=_mixed("mifgsm")),  # a net gain too small
    },
    "single-step-transfers-more": {
        "PASS": lambda: _case(),  # fgsm 30% vs bim 20%
        "FAIL": lambda: _case(fgsm=0.15),  # bim transfers more than fgsm
        "INCONCLUSIVE": lambda: _case(FEW_POINTS, fgsm=0.15),  # the same, on too few points
    },
}
