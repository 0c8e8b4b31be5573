"""Momentum iterative FGSM (Dong et al. 2018, "Boosting adversarial attacks with momentum",
Algorithm 1), the standard transfer booster:

    g_{t+1} = μ·g_t + ∇ₓJ(x_t) / ‖∇ₓJ(x_t)‖₁,    x_{t+1} = Π(x_t + α·sign(g_{t+1}))

with α = eps/steps and Π the projection onto the eps-ball and the bounds (L2: the step is
α·g/‖g‖₂). ``target="random"`` or ``"least-likely"`` makes it targeted.

Example::

    x_adv = MIFGSM(steps=10, decay=1.0)(model, x, y, eps=0.1, bounds=(0.0, 1.0)).x_adv
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


class MIFGSM(Attack):
    """Iterative FGSM whose step follows an accumulated, L1-normalised gradient (momentum)."""

    def __init__(
        self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0, clip: bool = True,
        target: TargetRule = "none",
    ) -> None:
        if steps < 1:
            raise ValueError(f"steps must be at least 1, not {steps}")
        super().__init__(norm=norm, clip=clip, steps=steps, decay=decay, target=target)

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
        steps, decay = self.params["steps"], self.params["decay"]
        x = x.to(model.device)
        targets = self.chosen_targets(model, x, y, seed)
        alpha = eps / steps
        momentum = torch.zeros_like(x)
        x_adv = x
        for _ in range(steps):
            grad = loss_gradient(model, x_adv, y, targets)
            l1 = grad.abs().flatten(1).sum(1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
            momentum = decay * momentum + grad / l1
            x_adv = self.constrain(x, x_adv + alpha * steepest_ascent(momentum, self.norm), eps,
                                   bounds)
        return AttackResult(x_adv, targets)


@hookimpl
def register_attacks(register: Any) -> None:
    register("mifgsm", MIFGSM)
