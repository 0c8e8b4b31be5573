"""How linear a model is along a direction: the R² of its logits along a line, their slopes, and
the first layer's L1 norm that bounds FGSM's first-order effect (Goodfellow et al. 2014)."""

from __future__ import annotations

import math

import torch
from torch import nn

from transfer import Model


def r_squared(curves: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """R² of the least-squares line through each curve (last axis against ``eps``)."""
    centred = eps - eps.mean()
    slope = (curves * centred).sum(-1) / (centred * centred).sum()
    fitted = curves.mean(-1, keepdim=True) + slope.unsqueeze(-1) * centred
    residual = ((curves - fitted) ** 2).sum(-1)
    total = ((curves - curves.mean(-1, keepdim=True)) ** 2).sum(-1)
    return torch.where(total > 1e-12, 1 - residual / total.clamp_min(1e-12),
                       torch.ones_like(total))


def slopes(curves: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    centred = eps - eps.mean()
    return (curves * centred).sum(-1) / (centred * centred).sum()


def first_layer_l1(model: Model) -> float:
    """Mean L1 norm of the first linear or convolutional layer's units (their weight rows)."""
    module = model.torch_module
    if module is None:
        return math.nan
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            return layer.weight.detach().flatten(1).abs().sum(1).mean().item()
    return math.nan
