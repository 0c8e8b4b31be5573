"""Targeted minimal perturbations towards a *confident* class: DeepFool's linearisation
(Moosavi-Dezfooli et al. 2016) applied to one constraint, the class-c margin.

The softmax probability p_c is at least ``confidence`` exactly when the margin
g(x) = f_c(x) − log Σ_{j≠c} exp f_j(x) is at least κ = log(confidence/(1 − confidence)) (p_c is
the sigmoid of that margin). Each step linearises g − κ at the iterate and moves to the zero of
the linearisation: r = −(g − κ)·∇g/‖∇g‖²₂, applied with (1 + overshoot), until the iterate is
confident or ``max_iter`` steps. On a two-class linear model with logits w_j·x + b_j, g is linear
and one step lands exactly on the boundary: ‖r‖ = (κ − (f_c − f_j))/‖w_c − w_j‖.
"""

from __future__ import annotations

import math

import torch

from transfer import Model


def margin(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """f_c − log Σ_{j≠c} exp f_j per row (c = ``target``): p_c = sigmoid(margin)."""
    own = logits.gather(1, target[:, None]).squeeze(1)
    others = logits.scatter(1, target[:, None], -math.inf)
    return own - torch.logsumexp(others, dim=1)


def confident_steps(model: Model, z: torch.Tensor, target: torch.Tensor, confidence: float,
                    overshoot: float, max_iter: int) -> tuple[torch.Tensor, int]:
    """Σr per point (zero where z already is confident) and the gradients evaluated (one per
    point and step)."""
    kappa = math.log(confidence / (1 - confidence))
    total = torch.zeros_like(z)
    active = torch.arange(len(z), device=z.device)
    gradients = 0
    view = (-1, *[1] * (z.dim() - 1))
    for _ in range(max_iter):
        if len(active) == 0:
            break
        point = (z[active] + (1 + overshoot) * total[active]).detach().requires_grad_(True)
        gap = margin(model.logits(point), target[active]) - kappa
        still = (gap < 0).detach()
        if not still.any():
            break
        (grad,) = torch.autograd.grad(gap[still].sum(), point)
        gradients += int(still.sum())
        active, grad, value = active[still], grad[still], gap.detach()[still]
        size = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
        total[active] += (-value / size**2).view(view) * grad
    return total, gradients
