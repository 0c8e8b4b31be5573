"""VMI-FGSM and VNI-FGSM (Wang & He 2021, "Enhancing the transferability of adversarial attacks
through variance tuning", Algorithm 1): MI-FGSM (NI-FGSM) whose gradient at step t is corrected by
the variance v_t of the previous step, the mean gradient at N = ``variance_samples`` [20] uniform
points within β·eps (``variance_bound`` β [1.5]) of x_{t−1} minus the gradient there. Defaults as
the paper: 10 steps of eps/10, decay 1.0. Every ``mifgsm`` parameter composes. Costs
(N + 1)·steps gradients per point.

Example::

    x_adv = VMIFGSM()(model, x, y, eps=16 / 255, bounds=(0.0, 1.0), seed=0).x_adv
"""

from __future__ import annotations

from typing import Any

from transfer import Norm, TargetRule, hookimpl

from .mifgsm import MIFGSM


class VMIFGSM(MIFGSM):
    """MI-FGSM with variance tuning."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none", variance_samples: int = 20,
                 variance_bound: float = 1.5, **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target, variance_samples=variance_samples,
                         variance_bound=variance_bound, **options)


class VNIFGSM(VMIFGSM):
    """NI-FGSM with variance tuning."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, target: TargetRule = "none", variance_samples: int = 20,
                 variance_bound: float = 1.5, **options: Any) -> None:
        super().__init__(norm, steps, decay, clip, target, variance_samples, variance_bound,
                         **{"nesterov": True, **options})


@hookimpl
def register_attacks(register: Any) -> None:
    register("vmifgsm", VMIFGSM)
    register("vnifgsm", VNIFGSM)
