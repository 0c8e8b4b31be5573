"""Empirical local Lipschitz estimates: the logit Jacobian's spectral norm per point and
CLEVER's extreme-value estimate (Weng et al. 2018), against which the certified bounds are read."""

from __future__ import annotations

import torch

from transfer import Model, class_gradients, random_in_ball

from .config import LipschitzConfig


def jacobian_norms(model: Model, x: torch.Tensor) -> torch.Tensor:
    """‖J_f(x)‖₂ per point: the spectral norm of the (classes x inputs) logit Jacobian."""
    jacobian = class_gradients(model, x)[1].flatten(2)
    return torch.linalg.matrix_norm(jacobian.double(), ord=2)


def clever(model: Model, x: torch.Tensor, config: LipschitzConfig,
           generator: torch.Generator) -> list[float]:
    """CLEVER-style local cross-Lipschitz estimates (Weng et al. 2018) for each point."""
    from scipy.stats import weibull_max

    estimates = []
    with torch.no_grad():
        top2 = model.logits(x).topk(2, dim=1).indices
    dim = x[0].numel()
    for i in range(len(x)):
        c, j = top2[i]
        maxima = []
        for _ in range(config.clever_batches):
            ball = random_in_ball((config.clever_batch_size, dim), config.clever_radius, "l2",
                                  generator)
            points = (x[i].flatten() + ball).view(-1, *x.shape[1:])
            points = points.to(x).requires_grad_(True)
            logits = model.logits(points)
            (grad,) = torch.autograd.grad((logits[:, c] - logits[:, j]).sum(), points)
            maxima.append(grad.flatten(1).norm(dim=1).max().item())
        if max(maxima) - min(maxima) < 1e-12 * max(max(maxima), 1e-30):
            estimates.append(max(maxima))  # a constant gradient norm: a linear model
            continue
        _, location, _ = weibull_max.fit(maxima)
        top = max(maxima)
        # the fitted right end-point; an unstable fit (far beyond the samples) falls back to them
        estimates.append(float(location) if top <= location <= 2 * top else top)
    return estimates
