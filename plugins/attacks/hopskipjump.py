"""HopSkipJump (Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: a query-efficient
decision-based attack", Algorithm 2, L2 version): attacks any model from its labels alone, so
decision trees, forests and kNN can be transfer sources.

From a misclassified starting point (uniform noise in the bounds), binary search finds the decision
boundary; each iteration then estimates the boundary's normal by Monte-Carlo queries
(B_t = grad_samples·√t probes at radius δ_t = √d·θ·‖x_t − x‖, θ = d^(−3/2), with the mean as
baseline), steps along it with a geometrically shrinking size ξ_t = ‖x_t − x‖/√t until the point is
adversarial again, and binary-searches back to the boundary. A point stops when its perturbation
is within eps or its next iteration would exceed ``max_queries``. Batched over points; the queries
per point are counted (the measures ``queries_mean`` and ``queries_max``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from transfer import Attack, AttackResult, Model, hookimpl


class HopSkipJump(Attack):
    """Decision-based L2 attack with a query budget per point."""

    minimal = True
    requires = frozenset()

    def __init__(
        self, max_queries: int = 2000, max_iter: int = 40, init_samples: int = 100,
        grad_samples: int = 50, clip: bool = True,
    ) -> None:
        super().__init__(norm="l2", clip=clip, max_queries=max_queries, max_iter=max_iter,
                         init_samples=init_samples, grad_samples=grad_samples)

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
        p = self.params
        generator = torch.Generator().manual_seed(seed)
        device = x.device
        x, y = x.detach().cpu(), y.cpu()
        n, shape, dim = len(x), x.shape[1:], x[0].numel()
        lo, hi = bounds
        if not (math.isfinite(lo) and math.isfinite(hi)):
            spread = x.std().item()
            lo, hi = x.min().item() - spread, x.max().item() + spread
        queries = torch.zeros(n)
        theta = dim ** -1.5

        def adversarial(points: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
            queries.index_add_(0, index, torch.ones(len(index)))
            return model.predict(points.to(device)).cpu() != y[index]

        def boundary(index: torch.Tensor, outside: torch.Tensor) -> torch.Tensor:
            """Binary search between x (clean side) and ``outside`` (adversarial side)."""
            low, high = torch.zeros(len(index)), torch.ones(len(index))
            while (high - low).max() > theta:
                mid = (low + high) / 2
                probe = x[index] + mid.view(-1, *[1] * len(shape)) * (outside - x[index])
                flipped = adversarial(probe, index)
                high = torch.where(flipped, mid, high)
                low = torch.where(flipped, low, mid)
            return x[index] + high.view(-1, *[1] * len(shape)) * (outside - x[index])

        current = x.clone()
        found = adversarial(x, torch.arange(n))  # already misclassified: distance 0
        for _ in range(p["init_samples"]):
            todo = torch.nonzero(~found).flatten()
            if len(todo) == 0:
                break
            noise = lo + (hi - lo) * torch.rand((len(todo), *shape), generator=generator)
            hit = adversarial(noise, todo)
            current[todo[hit]] = noise[hit]
            found[todo[hit]] = True
        searching = torch.nonzero(found & (current != x).flatten(1).any(1)).flatten()
        if len(searching):
            current[searching] = boundary(searching, current[searching])

        for step in range(1, p["max_iter"] + 1):
            distance = (current - x).flatten(1).norm(dim=1)
            probes_per_point = int(p["grad_samples"] * math.sqrt(step))
            planned = probes_per_point + 10 + math.ceil(math.log2(1 / theta)) + 1
            affordable = queries + planned <= p["max_queries"]
            index = torch.nonzero(found & (distance > eps) & affordable).flatten()
            if len(index) == 0:
                break
            base, dist = current[index], distance[index].view(-1, *[1] * len(shape))
            u = torch.randn((len(index), probes_per_point, *shape), generator=generator)
            u = u / u.flatten(2).norm(dim=2).view(len(index), probes_per_point, *[1] * len(shape))
            delta = math.sqrt(dim) * theta * dist
            probes = (base.unsqueeze(1) + delta.unsqueeze(1) * u).clamp(lo, hi)
            phi = adversarial(probes.flatten(0, 1), index.repeat_interleave(probes_per_point))
            phi = phi.view(len(index), probes_per_point).float() * 2 - 1
            mean = phi.mean(dim=1, keepdim=True)
            mixed = (mean.abs() < 1).squeeze(1)
            phi = torch.where(mixed.unsqueeze(1), phi - mean, phi)
            direction = (phi.view(*phi.shape, *[1] * len(shape)) * u).mean(dim=1)
            direction = direction / direction.flatten(1).norm(dim=1).clamp_min(1e-12).view_as(dist)
            size = dist / math.sqrt(step)
            candidate = base.clone()
            pending = torch.ones(len(index), dtype=torch.bool)
            for _ in range(10):  # geometric step-size search
                if not pending.any():
                    break
                rows = torch.nonzero(pending).flatten()
                trial = (base[rows] + size[rows] * direction[rows]).clamp(lo, hi)
                ok = adversarial(trial, index[rows])
                candidate[rows[ok]] = trial[ok]
                pending[rows[ok]] = False
                size[rows[~ok]] /= 2
            moved = torch.nonzero(~pending).flatten()
            if len(moved):
                current[index[moved]] = boundary(index[moved], candidate[moved])

        measures = {"queries_mean": queries.mean().item(), "queries_max": queries.max().item()}
        best = torch.where(found.view(-1, *[1] * len(shape)), current, x)
        return self.finish(x.to(device), best.to(device), eps, bounds, measures=measures)


@hookimpl
def register_attacks(register: Any) -> None:
    register("hopskipjump", HopSkipJump)
