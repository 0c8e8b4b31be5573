"""Projected gradient descent (Madry et al. 2017) and the basic iterative method (Kurakin et al.
2016): ``steps`` steps of size ``alpha`` along the steepest-ascent direction of the loss, each
followed by projection onto the ``eps``-ball (L-inf or L2) and the input bounds.

``pgd`` starts from a uniform random point of the ball (seeded); ``bim`` starts at ``x``.
``alpha`` defaults to ``2.5·eps/steps`` for ``pgd`` (Madry et al.) and to ``eps/steps`` for
``bim`` (I-FGSM as the transfer-attack papers run it, Kurakin et al.'s steps that add up to eps;
the step MI-FGSM and its variants use, so that they differ from ``bim`` in momentum alone). With
one step, ``alpha = eps`` and no random start, PGD is exactly FGSM.

Example::

    x_adv = PGD(steps=10)(model, x, y, eps=0.1, bounds=(0.0, 1.0), seed=0).x_adv
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
    random_in_ball,
    steepest_ascent,
)


class PGD(Attack):
    """Iterated gradient steps projected onto the eps-ball and the bounds."""

    STEP = 2.5  # the default alpha, in units of eps / steps

    def __init__(
        self,
        norm: Norm = "linf",
        steps: int = 10,
        alpha: float | None = None,
        random_start: bool = True,
        clip: bool = True,
        target: TargetRule = "none",
    ) -> None:
        if steps < 1:
            raise ValueError(f"steps must be at least 1, not {steps}")
        super().__init__(norm=norm, clip=clip, steps=steps, alpha=alpha,
                         random_start=random_start, target=target)

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
        steps, alpha = self.params["steps"], self.params["alpha"]
        alpha = self.STEP * eps / steps if alpha is None else alpha
        x = x.to(model.device)
        targets = self.chosen_targets(model, x, y, seed)
        x_adv = x
        if self.params["random_start"]:
            generator = torch.Generator().manual_seed(seed)
            start = random_in_ball(x.shape, eps, self.norm, generator).to(x.device)
            x_adv = self.constrain(x, x + start, eps, bounds)
        for _ in range(steps):
            step = steepest_ascent(loss_gradient(model, x_adv, y, targets), self.norm)
            x_adv = self.constrain(x, x_adv + alpha * step, eps, bounds)
        return AttackResult(x_adv, targets)


class BIM(PGD):
    """PGD without the random start and with steps of eps/steps (Kurakin et al.'s basic
    iterative method, I-FGSM)."""

    STEP = 1.0

    def __init__(
        self,
        norm: Norm = "linf",
        steps: int = 10,
        alpha: float | None = None,
        random_start: bool = False,
        clip: bool = True,
        target: TargetRule = "none",
    ) -> None:
        super().__init__(norm, steps, alpha, random_start, clip, target)


@hookimpl
def register_attacks(register: Any) -> None:
    register("pgd", PGD)
    register("bim", BIM)
