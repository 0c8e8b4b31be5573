"""SI-NI-FGSM (Lin et al. 2020, "Nesterov accelerated gradient and scale invariance for
adversarial attacks", Algorithm 1): NI-FGSM whose gradient is the mean over the scaled copies
x/2^i, i < ``scale_copies`` [5] (scale invariance). 10 steps of eps/10, decay 1.0; costs
``scale_copies``·steps gradients per point. Every ``mifgsm`` parameter composes.

Example::

    x_adv = SINIFGSM()(model, x, y, eps=16 / 255, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class SINIFGSM(MIFGSM):
    """NI-FGSM averaged over scaled copies of the input."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none",
                 transforms: tuple[str, ...] = ("scale",), **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target,
                         **{"nesterov": True, "transforms": transforms, **options})


@hookimpl
def register_attacks(register: Any) -> None:
    register("sinifgsm", SINIFGSM)
