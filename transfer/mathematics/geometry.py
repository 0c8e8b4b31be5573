"""The geometry attacks and studies share: norms, projections onto norm balls, steepest-ascent
directions, random directions, balls and subspaces, and the line search for the nearest label
change along a direction. Every random draw goes through a seeded ``torch.Generator``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ..contracts.models import Model


def per_sample_norm(v: torch.Tensor, norm: str) -> torch.Tensor:
    """The L-inf or L2 norm of each sample, shaped to broadcast against ``v``."""
    flat = v.flatten(1)
    value = flat.abs().amax(dim=1) if norm == "linf" else flat.norm(dim=1)
    return value.view(-1, *([1] * (v.dim() - 1)))


def perturbation_norm(delta: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-sample norm of a perturbation, shape ``(n,)``."""
    return per_sample_norm(delta, norm).flatten()


def steepest_ascent(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The unit-norm direction of steepest ascent: ``sign(g)`` for L-inf, ``g/‖g‖₂`` for L2."""
    if norm == "linf":
        return grad.sign()
    return grad / per_sample_norm(grad, "l2").clamp_min(1e-12)


def project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """Euclidean projection of each sample of ``delta`` onto the ``eps``-ball of ``norm``."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    scale = (eps / per_sample_norm(delta, "l2").clamp_min(1e-12)).clamp(max=1.0)
    return delta * scale


def random_in_ball(
    shape: torch.Size | tuple[int, ...], eps: float, norm: str, generator: torch.Generator
) -> torch.Tensor:
    """Uniform samples from the ``eps``-ball of ``norm`` (seeded through ``generator``)."""
    if norm == "linf":
        return (torch.rand(shape, generator=generator) * 2 - 1) * eps
    direction = torch.randn(shape, generator=generator)
    direction = direction / per_sample_norm(direction, "l2").clamp_min(1e-12)
    dim = direction[0].numel()
    radius = torch.rand(shape[0], generator=generator) ** (1.0 / dim) * eps
    return direction * radius.view(-1, *([1] * (len(shape) - 1)))


def same_size_noise(x: torch.Tensor, delta: torch.Tensor, bounds: tuple[float, float],
                    generator: torch.Generator) -> torch.Tensor:
    """``x`` plus, per point, a random direction with the L2 norm of that point's ``delta``: the
    size-matched noise control of a perturbation. The direction is Gaussian with the coordinates
    that would leave ``bounds`` at once (a pixel at a bound, pushed outwards) set to 0, so that
    clipping takes little of its norm; the result is clipped to ``bounds``."""
    draw = torch.randn(x.shape, generator=generator).to(x)
    low, high = bounds
    draw = draw.masked_fill(((x <= low) & (draw < 0)) | ((x >= high) & (draw > 0)), 0.0)
    size = per_sample_norm(delta, "l2") / per_sample_norm(draw, "l2").clamp_min(1e-12)
    return (x + draw * size).clamp(low, high)


def random_signs(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Uniform random ±1 tensors (seeded)."""
    return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1


def random_basis(n: int, dim: int, m: int, generator: torch.Generator) -> torch.Tensor:
    """n uniformly random orthonormal d x m bases (QR of Gaussian matrices), float64."""
    gaussian = torch.randn(n, dim, m, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.sign(torch.diagonal(r, dim1=1, dim2=2)).unsqueeze(1)


def flip_distance(model: Model, x: torch.Tensor, direction: torch.Tensor, scale: torch.Tensor,
                  grid: int = 32, doublings: int = 12, bisections: int = 30,
                  signs: tuple[float, ...] = (1.0, -1.0)) -> torch.Tensor:
    """Per point, the smallest |t| such that the label of x + t·u differs from that of x, for the
    unit direction u = direction/‖direction‖ (t of the given ``signs``: both by default; ``(1.0,)``
    for the smallest fooling step of FGSM along the gradient's sign). A grid up to ``scale``
    (doubled until a flip is found) brackets the first flip, bisection refines it; inf if none."""
    n = len(x)
    view = (-1, *[1] * (x.dim() - 1))
    u = direction / direction.flatten(1).norm(dim=1).clamp_min(1e-12).view(view)
    label = model.predict(x)
    found = torch.full((n,), math.inf)
    limit = scale.clone().cpu()
    steps = torch.linspace(0, 1, grid + 1)[1:]
    for _ in range(doublings):
        todo = torch.nonzero(torch.isinf(found)).flatten()
        if len(todo) == 0:
            break
        for sign in signs:
            t = sign * limit[todo, None] * steps[None, :]  # (m, grid)
            probes = x[todo, None] + t.view(len(todo), grid, *[1] * (x.dim() - 1)).to(x) * u[
                todo, None]
            flipped = (model.predict(probes.flatten(0, 1)).view(len(todo), grid)
                       != label[todo, None]).cpu()
            has = flipped.any(dim=1)
            first = flipped.float().argmax(dim=1)
            high = limit[todo] * steps[first]
            low = torch.where(first > 0, limit[todo] * steps[(first - 1).clamp_min(0)],
                              torch.zeros_like(high))
            rows = todo[has]
            low, high = low[has], high[has]
            for _ in range(bisections):
                mid = (low + high) / 2
                probe = x[rows] + (sign * mid).view(view).to(x) * u[rows]
                crossed = (model.predict(probe) != label[rows]).cpu()
                high = torch.where(crossed, mid, high)
                low = torch.where(crossed, low, mid)
            found[rows] = torch.minimum(found[rows], high)
        limit[todo] *= 2
    return found
