"""DI-FGSM (Xie et al. 2019, "Improving transferability of adversarial examples with input
diversity"), here with momentum as in the paper's M-DI²-FGSM and TransferAttack's DIM: at every
step the gradient is taken on a randomly resized and padded copy of the input, with probability
``diversity_prob`` [0.5], to a side in [s, ⌈s·``resize_rate``⌉] (``resize_rate`` [1.1]: the
paper's 299 → 330 px). 10 steps of eps/10, decay 1.0 (``decay = 0``: DI²-FGSM without momentum).
The transform is ``mifgsm``'s ``transforms = ["diversity"]``; every ``mifgsm`` parameter composes.

Example::

    x_adv = DIFGSM()(model, x, y, eps=16 / 255, bounds=(0.0, 1.0), seed=0).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class DIFGSM(MIFGSM):
    """MI-FGSM on randomly resized and padded inputs."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none",
                 transforms: tuple[str, ...] = ("diversity",), **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target, transforms=transforms, **options)


@hookimpl
def register_attacks(register: Any) -> None:
    register("difgsm", DIFGSM)
