"""DeepFool (Moosavi-Dezfooli et al. 2016, Algorithm 2, multi-class), the one implementation that
the ``deepfool`` attack and the studies share.

At x_i, with k̂ the clean label, f'_k = f_k − f_k̂ and w'_k = ∇f_k − ∇f_k̂, the nearest boundary is
l = argmin_k |f'_k| / ‖w'_k‖_q and the step r_i = |f'_l| / ‖w'_l‖_q^q · |w'_l|^{q−1} ⊙ sign(w'_l)
(q = 2 for L2: r_i = |f'_l| w'_l / ‖w'_l‖²₂; q = 1 for L-inf: r_i = |f'_l| sign(w'_l) / ‖w'_l‖₁).
Iterates are x + (1 + overshoot)·Σ r_i until the label changes.

Options the studies need: ``basis`` restricts the steps to a subspace (orthonormal columns per
point; Fawzi et al. 2016's semi-random noise), ``bounds`` clips the iterates and leaves out of w'_k
the coordinates pinned at a bound that the step would push further out (otherwise clipping undoes
much of every step and the iterates stall on digits and MNIST, whose pixels are mostly 0 or 1),
and ``candidates`` keeps only the top classes of the clean logits (the paper keeps 10 on
ImageNet): one backward pass per candidate, not per class.

Batched: all points of a chunk iterate together and only the not-yet-fooled ones are recomputed.
On a binary linear model it takes exactly one step, r* = −f(x)·w/‖w‖²₂.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .chunking import points_per_chunk
from .gradients import class_gradients

if TYPE_CHECKING:
    from ..contracts.models import Model


@dataclass(frozen=True)
class DeepFoolSteps:
    """``total``: Σ r_i per point (in the subspace's coordinates when a basis was given);
    ``iterations``: steps taken per point; ``unfooled``: points whose label never changed."""

    total: torch.Tensor
    iterations: torch.Tensor
    unfooled: torch.Tensor


def deepfool(
    model: Model,
    x: torch.Tensor,
    *,
    norm: str = "l2",
    overshoot: float = 0.02,
    max_iter: int = 50,
    bounds: tuple[float, float] | None = None,
    basis: torch.Tensor | None = None,
    candidates: int = 10,
) -> DeepFoolSteps:
    """DeepFool's steps from ``x`` (see the module docstring); ``basis`` has shape (n, d, m).
    The points go through in chunks sized to the memory at hand (``points_per_chunk``), as an
    attack's do: each point's steps depend on that point alone."""
    chunk = points_per_chunk(model, x)
    if chunk < len(x):
        parts = [deepfool(model, x[start : start + chunk], norm=norm, overshoot=overshoot,
                          max_iter=max_iter, bounds=bounds, candidates=candidates,
                          basis=None if basis is None else basis[start : start + chunk])
                 for start in range(0, len(x), chunk)]
        return DeepFoolSteps(*(torch.cat([getattr(part, name) for part in parts])
                               for name in ("total", "iterations", "unfooled")))
    with torch.no_grad():
        clean = model.logits(x)
    label = clean.argmax(dim=1)
    classes = None if clean.shape[1] <= candidates else clean.topk(candidates, dim=1).indices
    total = (torch.zeros_like(x) if basis is None
             else torch.zeros(len(x), basis.shape[2], dtype=basis.dtype, device=x.device))
    active = torch.arange(len(x), device=x.device)
    iterations = torch.zeros(len(x), device=x.device)
    for _ in range(max_iter):
        if len(active) == 0:
            break
        offset = total[active] if basis is None else (
            basis[active] @ total[active, :, None]).squeeze(2)
        point = (x[active].flatten(1) + (1 + overshoot) * offset.flatten(1)).to(x.dtype).view(
            -1, *x.shape[1:])
        if bounds is not None:
            point = point.clamp(*bounds)
        picked = None if classes is None else classes[active]
        logits, grads = class_gradients(model, point, picked)
        still = logits.argmax(dim=1) == label[active]
        if not still.any():
            active = active[:0]
            break
        active, grads = active[still], grads[still]
        rows = torch.arange(len(active), device=x.device)
        own = (label[active] if picked is None
               else (picked[still] == label[active, None]).int().argmax(dim=1))
        scores = logits[still] if picked is None else logits[still].gather(1, picked[still])
        direction = grads - grads[rows, own].unsqueeze(1)
        if bounds is not None:  # coordinates pinned at a bound cannot move further out
            at = point.detach()[still].unsqueeze(1)
            pinned = ((at <= bounds[0]) & (direction < 0)) | ((at >= bounds[1]) & (direction > 0))
            direction = direction.masked_fill(pinned, 0.0)
        if basis is not None:
            direction = direction.flatten(2).to(basis.dtype) @ basis[active]
        gap = (scores - scores[rows, own].unsqueeze(1)).to(direction.dtype)
        flat = direction.flatten(2)
        size = flat.norm(dim=2) if norm == "l2" else flat.abs().sum(dim=2)
        distance = gap.abs() / size.clamp_min(1e-12)
        distance[rows, own] = torch.inf
        nearest = distance.argmin(dim=1)
        w = direction[rows, nearest]
        f = gap[rows, nearest].abs()
        step_view = (-1, *([1] * (w.dim() - 1)))
        if norm == "l2":
            step = (f / size[rows, nearest].pow(2).clamp_min(1e-24)).view(step_view) * w
        else:
            step = (f / size[rows, nearest].clamp_min(1e-12)).view(step_view) * w.sign()
        total[active] += step
        iterations[active] += 1
    unfooled = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    unfooled[active] = True
    return DeepFoolSteps(total, iterations, unfooled)
