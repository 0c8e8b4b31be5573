"""Fast gradient sign method (Goodfellow et al. 2014, "Explaining and harnessing adversarial
examples", eq. 3): ``x_adv = x + eps·sign(∇ₓJ(θ, x, y))``, one gradient, L-inf.

``fgm`` is the L2 version, ``x + eps·∇ₓJ/‖∇ₓJ‖₂``. The paper's FGSM did not clip to the valid
input range; ``clip=False`` reproduces that, the default clips to the dataset's bounds.
``target="random"`` or ``"least-likely"`` makes it targeted: a step down the loss of the target
class (Kurakin et al. 2016).

Example::

    x_adv = FGSM()(model, x, y, eps=0.1, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

from typing import Any

import torch

from transfer import (
    Attack,
    AttackResult,
    Model,
    Norm,
    TargetRule,
    hookimpl,
    loss_gradient,
    steepest_ascent,
)


class FGSM(Attack):
    """One step of size ``eps`` along the sign of the loss gradient (L-inf)."""

    def __init__(
        self, norm: Norm = "linf", clip: bool = True, target: TargetRule = "none"
    ) -> None:
        super().__init__(norm=norm, clip=clip, target=target)

    def __call__(
        self,
        model: Model,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        *,
        bounds: tuple[float, float],
        seed: int = 0,
    ) -> AttackResult:
        x = x.to(model.device)
        targets = self.chosen_targets(model, x, y, seed)
        step = steepest_ascent(loss_gradient(model, x, y, targets), self.norm)
        return self.finish(x, x + eps * step, eps, bounds, targets=targets)


class FGM(FGSM):
    """One step of L2 length ``eps`` along the normalised loss gradient."""

    def __init__(
        self, norm: Norm = "l2", clip: bool = True, target: TargetRule = "none"
    ) -> None:
        super().__init__(norm=norm, clip=clip, target=target)


@hookimpl
def register_attacks(register: Any) -> None:
    register("fgsm", FGSM)
    register("fgm", FGM)
