"""LinBP (Guo et al. 2020, "Backpropagating linearly improves transferability of adversarial
examples"): MI-FGSM whose backward pass treats every ReLU from ``linear_from`` on as the identity,
so the later part of the source is linear for the gradient (the forward pass is unchanged).
Default: the later half of the network's ReLUs (for a ResNet, from ``layer3`` on, as the paper).
The paper's I-FGSM setting is ``decay = 0``; 10 steps of eps/10, decay 1.0 by default, as the other
transfer attacks here.

Example::

    x_adv = LinBP(linear_from="layer3")(resnet, x, y, eps=16 / 255, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class LinBP(MIFGSM):
    """MI-FGSM with a linear backward pass through the later ReLUs."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none", linear_from: str | None = None,
                 **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target,
                         **{"backward": "linbp", "linear_from": linear_from, **options})


@hookimpl
def register_attacks(register: Any) -> None:
    register("linbp", LinBP)
