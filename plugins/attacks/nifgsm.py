"""NI-FGSM (Lin et al. 2020, "Nesterov accelerated gradient and scale invariance for adversarial
attacks", Algorithm 1 without scaling): MI-FGSM whose gradient is taken at the Nesterov look-ahead
point x_t + α·μ·g_t. Defaults as the paper: 10 steps of eps/10, decay μ = 1.0. Every ``mifgsm``
parameter composes (e.g. ``transforms = ["diversity"]``).

Example::

    x_adv = NIFGSM()(model, x, y, eps=16 / 255, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class NIFGSM(MIFGSM):
    """MI-FGSM with a Nesterov look-ahead gradient."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none", **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target, **{"nesterov": True, **options})


@hookimpl
def register_attacks(register: Any) -> None:
    register("nifgsm", NIFGSM)
