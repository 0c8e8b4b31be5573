"""Gradient-aligned adversarial subspaces (Tramèr et al. 2017): k orthogonal directions, each
aligned with the gradient, in L2 (closed form) and L-inf (regular Hadamard matrices)."""

from __future__ import annotations

import math

import torch

REGULAR_HADAMARD_4 = torch.tensor(
    [[1, 1, 1, -1], [1, 1, -1, 1], [1, -1, 1, 1], [-1, 1, 1, 1]], dtype=torch.float64
)


def gaas_l2(grad: torch.Tensor, k: int, eps: float) -> torch.Tensor:
    """k orthogonal directions of L2 norm eps per row of ``grad`` (n, d), each with projection
    eps‖g‖₂/√k on its gradient; shape (n, k, d), float64."""
    g = grad.flatten(1).double()
    n, d = g.shape
    if not 1 <= k <= d:
        raise ValueError(f"k must be between 1 and the dimension {d}, not {k}")
    unit = g / g.norm(dim=1, keepdim=True).clamp_min(1e-300)
    target = torch.zeros(d, dtype=torch.float64)
    target[:k] = 1 / math.sqrt(k)
    v = unit - target
    squared = (v * v).sum(dim=1)
    identity = torch.eye(d, dtype=torch.float64)[:k].expand(n, k, d)
    scale = torch.where(squared > 1e-24, 2 / squared.clamp_min(1e-300), torch.zeros_like(squared))
    reflected = identity - scale.view(n, 1, 1) * v[:, :k, None] * v[:, None, :]
    return eps * reflected


def regular_hadamard(k: int) -> torch.Tensor:
    """A ±1 matrix of order k = 4^m with orthogonal rows that each sum to √k."""
    if k == 1:
        return torch.ones(1, 1, dtype=torch.float64)
    if k < 4 or 4 ** round(math.log(k, 4)) != k:
        raise ValueError(f"the L-inf construction needs k = 1, 4, 16, 64, ..., not {k}")
    return torch.kron(REGULAR_HADAMARD_4, regular_hadamard(k // 4))


def gaas_linf(grad: torch.Tensor, k: int, eps: float, generator: torch.Generator) -> torch.Tensor:
    """k orthogonal directions of L-inf norm eps per row of ``grad`` (n, d) whose expected
    projection on the gradient is eps‖g‖₁/√k (random equal blocks, seeded); (n, k, d), float64."""
    g = grad.flatten(1).double()
    n, d = g.shape
    hadamard = regular_hadamard(k)
    size = d // k
    if size == 0:
        raise ValueError(f"k = {k} exceeds the dimension {d}")
    order = torch.argsort(torch.rand(n, d, generator=generator), dim=1)
    block = torch.full((n, d), -1, dtype=torch.long)
    block.scatter_(1, order[:, : size * k], torch.arange(k).repeat_interleave(size).expand(n, -1))
    pattern = hadamard[:, block.clamp_min(0)].permute(1, 0, 2)  # (n, k, d)
    pattern = pattern * (block >= 0).unsqueeze(1)
    signs = torch.where(g >= 0, 1.0, -1.0).double()
    return eps * pattern * signs.unsqueeze(1)
