"""TI-FGSM (Dong et al. 2019, "Evading defenses to transferable adversarial examples by
translation-invariant attacks"), with momentum as TransferAttack's TIM: the gradient of every step
is convolved with a Gaussian kernel of side ``kernel_size`` [15] over ±``kernel_sigma`` [3]
standard deviations, which equals averaging it over translated inputs. 10 steps of eps/10, decay
1.0. The transform is ``mifgsm``'s ``transforms = ["translation"]``; every ``mifgsm`` parameter
composes (DI-TI-MI: ``transforms = ["diversity", "translation"]``).

Example::

    x_adv = TIFGSM(kernel_size=5)(model, x, y, eps=16 / 255, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class TIFGSM(MIFGSM):
    """MI-FGSM with a translation-invariant (Gaussian-smoothed) gradient."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none",
                 transforms: tuple[str, ...] = ("translation",), **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target, transforms=transforms, **options)


@hookimpl
def register_attacks(register: Any) -> None:
    register("tifgsm", TIFGSM)
