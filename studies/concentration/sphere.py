"""The nearest error ON the sphere (Gilmer et al. 2018): an error set whose measure is μ lives on
the sphere, so the distance to it must be searched there, not in the ambient space (a point just
off the sphere that the model misclassifies is not in that set).

Two steps per point x of the sphere of radius r = ‖x‖:

1. DeepFool on the sphere: at the iterate p, each class k's linearised boundary is
   f_k − f_ŷ + ⟨w_k, δ⟩ = 0 with w_k the logit-gradient difference projected on the tangent space
   at p (w − ⟨w, p̂⟩p̂); the nearest one gives the tangent step |f_l − f_ŷ|·w_l/‖w_l‖², taken with
   (1 + overshoot) and retracted to the sphere (r·q/‖q‖). Repeated until the label changes.
2. A geodesic line search: along the great circle from x through the point found, the smallest
   angle θ whose point is misclassified (a grid, then bisection), reported as the chord distance
   2r·sin(θ/2). Every point it returns is a misclassified point of the sphere, so the distance is
   an upper bound on the true distance to the error set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from transfer import class_gradients


@dataclass(frozen=True)
class SphereSearch:
    """Per point: the chord distance to the misclassified point found (inf if none), and the work
    spent: vector-Jacobian products (one per class and iterate) and model queries."""

    distance: torch.Tensor
    vjps: int
    queries: int


def sphere_deepfool(model: Any, x: torch.Tensor, label: torch.Tensor, *, overshoot: float,
                    max_iter: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """DeepFool's iterates kept on the sphere of each point's radius (see the module docstring):
    the last iterates, which points changed label, and the vector-Jacobian products spent."""
    radius = x.norm(dim=1, keepdim=True)
    point = x.clone()
    fooled = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    active = torch.arange(len(x), device=x.device)
    vjps = 0
    for _ in range(max_iter):
        if len(active) == 0:
            break
        logits, grads = class_gradients(model, point[active])
        vjps += len(active) * logits.shape[1]
        own = label[active]
        done = logits.argmax(dim=1) != own
        fooled[active[done]] = True
        active, logits, grads, own = active[~done], logits[~done], grads[~done], own[~done]
        if len(active) == 0:
            break
        rows = torch.arange(len(active), device=x.device)
        unit = point[active] / radius[active]
        w = grads.flatten(2) - grads.flatten(2)[rows, own].unsqueeze(1)
        w = w - (w * unit.unsqueeze(1)).sum(dim=2, keepdim=True) * unit.unsqueeze(1)
        gap = logits - logits[rows, own].unsqueeze(1)
        size = w.norm(dim=2)
        distance = gap.abs() / size.clamp_min(1e-12)
        distance[rows, own] = math.inf
        nearest = distance.argmin(dim=1)
        step = (gap[rows, nearest].abs() / size[rows, nearest].pow(2).clamp_min(1e-24)
                ).unsqueeze(1) * w[rows, nearest]
        moved = point[active] + (1 + overshoot) * step
        point[active] = radius[active] * moved / moved.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return point, fooled, vjps


def geodesic_flip(model: Any, x: torch.Tensor, towards: torch.Tensor, label: torch.Tensor,
                  grid: int = 32, bisections: int = 30) -> tuple[torch.Tensor, int]:
    """Per point, the chord distance 2r·sin(θ/2) of the smallest angle θ along the great circle
    from x towards ``towards`` at which the label differs from ``label`` (inf if none up to the
    angle of ``towards``), and the model queries spent."""
    n = len(x)
    if n == 0:
        return torch.zeros(0, dtype=x.dtype), 0
    radius = x.norm(dim=1)
    unit = x / radius.unsqueeze(1)
    target = towards / towards.norm(dim=1, keepdim=True).clamp_min(1e-12)
    limit = torch.arccos((unit * target).sum(dim=1).clamp(-1.0, 1.0))
    tangent = target - torch.cos(limit).unsqueeze(1) * unit
    tangent = tangent / tangent.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def on_circle(angle: torch.Tensor) -> torch.Tensor:  # angle (n,) or (n, g)
        a = angle.unsqueeze(-1)
        return radius.view(-1, *[1] * (a.dim() - 1)) * (
            torch.cos(a) * unit.view(n, *[1] * (a.dim() - 2), -1)
            + torch.sin(a) * tangent.view(n, *[1] * (a.dim() - 2), -1))

    steps = torch.linspace(0, 1, grid + 1, device=x.device)[1:]
    angles = limit.unsqueeze(1) * steps.unsqueeze(0)
    with torch.no_grad():
        flipped = (model.predict(on_circle(angles).flatten(0, 1)).view(n, grid)
                   != label.unsqueeze(1))
    found = flipped.any(dim=1)
    first = flipped.float().argmax(dim=1)
    high = limit * steps[first]
    low = torch.where(first > 0, limit * steps[(first - 1).clamp_min(0)], torch.zeros_like(high))
    for _ in range(bisections):
        middle = (low + high) / 2
        with torch.no_grad():
            crossed = model.predict(on_circle(middle)) != label
        high = torch.where(crossed, middle, high)
        low = torch.where(crossed, low, middle)
    chord = 2 * radius * torch.sin(high / 2)
    distance = torch.where(found, chord, torch.full_like(chord, math.inf)).cpu()
    return distance, n * (grid + bisections)


def nearest_error_on_sphere(model: Any, x: torch.Tensor, label: torch.Tensor, *,
                            overshoot: float, max_iter: int) -> SphereSearch:
    """For points x of a sphere that the model classifies as ``label``: the chord distance to the
    nearest misclassified point of the same sphere that DeepFool-on-the-sphere and the geodesic
    line search find (inf where they find none)."""
    points, fooled, vjps = sphere_deepfool(model, x, label, overshoot=overshoot,
                                           max_iter=max_iter)
    distance = torch.full((len(x),), math.inf, dtype=x.dtype)
    index = torch.nonzero(fooled).flatten()
    chord, queries = geodesic_flip(model, x[index], points[index], label[index])
    distance[index.cpu()] = chord
    return SphereSearch(distance, vjps, queries)
