"""Input gradients, never parameter gradients: the loss gradient attacks follow, and the
per-class logit gradients (rows of the Jacobian) that DeepFool and the Lipschitz study read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ..contracts.models import Model


def loss_gradient(
    model: Model, x: torch.Tensor, y: torch.Tensor, targets: torch.Tensor | None = None
) -> torch.Tensor:
    """The direction that makes the attack succeed, w.r.t. the input only: ∇ₓ of the summed
    cross-entropy with the true labels ``y``, or, for a targeted attack, −∇ₓ of the
    cross-entropy with the ``targets`` (``Model.loss``)."""
    x = x.detach().requires_grad_(True)
    labels = y if targets is None else targets
    (grad,) = torch.autograd.grad(model.loss(x, labels.to(x.device)), x)
    return grad if targets is None else -grad


def class_gradients(
    model: Model, x: torch.Tensor, classes: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits at ``x`` (detached) and ∇ₓ f_c for the classes ``classes[i]`` of each point
    (shape ``(n, k)``; default every class in order): gradients of shape ``(n, k, *x.shape[1:])``.
    One backward pass per column, so asking for the top-k candidate classes of a 1,000-class
    model costs k passes, not 1,000. (A ``torch.func`` Jacobian would compute every class.)"""
    x = x.detach().requires_grad_(True)
    logits = model.logits(x)
    picked = logits if classes is None else logits.gather(1, classes)
    columns = picked.shape[1]
    grads = [torch.autograd.grad(picked[:, j].sum(), x, retain_graph=j < columns - 1)[0]
             for j in range(columns)]
    return logits.detach(), torch.stack(grads, dim=1)
