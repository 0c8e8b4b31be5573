"""SGM, the skip gradient method (Wu et al. 2020, "Skip connections matter: on the
transferability of adversarial examples generated with ResNets"): MI-FGSM (TransferAttack's
setting) whose backward pass through every residual block's residual branch is multiplied by
``gamma`` [0.2, the paper's ResNet value], so the gradient comes more from the skip connections.
The forward pass and the source model are unchanged. On a network without residual blocks nothing
is scaled (the attack logs ``attack_sgm_modules`` = 0). 10 steps of eps/10, decay 1.0.

Example::

    x_adv = SGM(gamma=0.2)(resnet, x, y, eps=16 / 255, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class SGM(MIFGSM):
    """MI-FGSM with the residual branches' gradient decayed by ``gamma``."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none", gamma: float = 0.2,
                 **options: Any) -> None:
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must lie in (0, 1], not {gamma}")
        super().__init__(norm, steps, decay, clip, target,
                         **{"backward": "sgm", "gamma": gamma, **options})


@hookimpl
def register_attacks(register: Any) -> None:
    register("sgm", SGM)
