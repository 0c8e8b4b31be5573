"""DeepFool (Moosavi-Dezfooli et al. 2016, Algorithm 2, multi-class) as an attack: the minimal
perturbation that crosses the nearest linearised decision boundary, iterated until the label
changes (the algorithm itself is ``transfer.mathematics.deepfool``, shared with the studies).

The output is x + (1 + overshoot)·Σ r_i, projected onto the eps-ball (pass ``eps=inf`` for the
unconstrained minimal perturbation) and, with ``clip``, the bounds. ``candidates`` keeps the top
classes of the clean logits (the paper keeps 10 on ImageNet). Measures: ``iterations_mean``.
"""

from __future__ import annotations

from typing import Any

import torch

from transfer import Attack, AttackResult, Model, Norm, deepfool, hookimpl


class DeepFool(Attack):
    """Minimal-perturbation attack, multi-class, L2 or L-inf."""

    minimal = True

    def __init__(
        self, norm: Norm = "l2", overshoot: float = 0.02, max_iter: int = 50, clip: bool = True,
        candidates: int = 10,
    ) -> None:
        super().__init__(norm=norm, clip=clip, overshoot=overshoot, max_iter=max_iter,
                         candidates=candidates)

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
        overshoot = self.params["overshoot"]
        x = x.to(model.device)
        steps = deepfool(model, x, norm=self.norm, overshoot=overshoot,
                         max_iter=self.params["max_iter"], bounds=bounds if self.clip else None,
                         candidates=self.params["candidates"])
        return self.finish(x, x + (1 + overshoot) * steps.total, eps, bounds,
                           measures={"iterations_mean": steps.iterations.mean().item()})


@hookimpl
def register_attacks(register: Any) -> None:
    register("deepfool", DeepFool)
