"""SVRE, the stochastic variance-reduced ensemble attack (Xiong et al. 2022, "Stochastic variance
reduced ensemble adversarial attack for boosting the adversarial transferability", Algorithm 1):
on an ensemble of K models, each of the ``steps`` [10] outer steps first takes the ensemble's
gradient g_ens at x_t, then ``inner_steps`` [4·K] inner MI-FGSM steps from x_t, each on one member
k drawn at random (seeded) with the variance-reduced gradient

    g̃ = ∇J_k(x̃_m) − (∇J_k(x_t) − g_ens),

and the outer momentum accumulates the inner momentum: g_{t+1} = μ·g_t + G_M/‖G_M‖₁,
x_{t+1} = Π(x_t + α·sign(g_{t+1})), α = eps/steps for both loops, μ = ``decay`` [1.0].

An ensemble is a model with a ``members`` list of models, as ``ensemble-source`` crafts on (with
any ``combine``: g_ens is the gradient of the ensemble's own loss); on a single model, K = 1 and
the variance-reduced gradient is the member's own (an MI-FGSM inner loop). Logs
``attack_gradients_per_point`` (member gradients per point).

Example (in ``ensemble-source``)::

    attacks = [{ name = "svre", params = { steps = 10 } }]
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


def _l1_normalised(grad: torch.Tensor) -> torch.Tensor:
    return grad / grad.abs().flatten(1).sum(1).clamp_min(1e-12).view(-1, *[1] * (grad.dim() - 1))


class SVRE(Attack):
    """MI-FGSM on an ensemble with stochastic variance-reduced inner steps."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, inner_steps: int | None = None,
                 decay: float = 1.0, clip: bool = True, target: TargetRule = "none") -> None:
        if steps < 1 or (inner_steps is not None and inner_steps < 1):
            raise ValueError("steps and inner_steps must be at least 1")
        super().__init__(norm=norm, clip=clip, steps=steps, inner_steps=inner_steps,
                         decay=decay, target=target)

    def __call__(self, model: Model, x: torch.Tensor, y: torch.Tensor, eps: float, *,
                 bounds: tuple[float, float], seed: int = 0) -> AttackResult:
        p = self.params
        members: list[Model] = list(getattr(model, "members", None) or [model])
        inner_steps = p["inner_steps"] or 4 * len(members)
        x = x.to(model.device)
        targets = self.chosen_targets(model, x, y, seed)
        generator = torch.Generator().manual_seed(seed)
        alpha = eps / p["steps"]
        momentum = torch.zeros_like(x)
        x_adv, gradients = x, 0
        for _ in range(p["steps"]):
            ensemble = loss_gradient(model, x_adv, y, targets)  # K member passes
            anchors = ([ensemble] if members[0] is model
                       else [loss_gradient(m, x_adv, y, targets) for m in members])
            gradients += len(members) * (1 if members[0] is model else 2)
            inner, x_inner = torch.zeros_like(x), x_adv
            for _ in range(inner_steps):
                k = int(torch.randint(len(members), (1,), generator=generator))
                reduced = loss_gradient(members[k], x_inner, y, targets) - (anchors[k] - ensemble)
                gradients += 1
                inner = p["decay"] * inner + _l1_normalised(reduced)
                x_inner = self.constrain(x, x_inner + alpha * steepest_ascent(inner, self.norm),
                                         eps, bounds)
            momentum = p["decay"] * momentum + _l1_normalised(inner)
            x_adv = self.constrain(x, x_adv + alpha * steepest_ascent(momentum, self.norm), eps,
                                   bounds)
        return AttackResult(x_adv, targets, {"gradients_per_point": float(gradients)})


@hookimpl
def register_attacks(register: Any) -> None:
    register("svre", SVRE)
