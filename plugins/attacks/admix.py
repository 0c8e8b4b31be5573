"""Admix (Wang et al. 2021, "Admix: enhancing the transferability of adversarial attacks",
Algorithm 1): MI-FGSM whose gradient is the mean over ``admix_copies`` [3] copies
x + ``admix_portion`` [0.2]·x' (x' another point of the batch, labels kept), each at the scales
x/2^i, i < ``scale_copies`` [5]: 15 gradients per step, 10 steps of eps/10, decay 1.0. The
transform is ``mifgsm``'s ``transforms = ["admix"]``; every ``mifgsm`` parameter composes. A
batch of one point mixes with itself.

Example::

    x_adv = Admix()(model, x, y, eps=16 / 255, bounds=(0.0, 1.0), seed=0).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class Admix(MIFGSM):
    """MI-FGSM averaged over inputs admixed with other points and scaled."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none",
                 transforms: tuple[str, ...] = ("admix",), **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target, transforms=transforms, **options)


@hookimpl
def register_attacks(register: Any) -> None:
    register("admix", Admix)
