"""Adversarial subspace dimension (Tramèr et al. 2017, "The space of transferable adversarial
examples", §3: gradient-aligned adversarial subspaces, GAAS).

For each correctly classified point, with g the gradient of the source's loss, and each k: k
mutually orthogonal directions r_1..r_k with

- L2: ‖r_i‖₂ = eps and r_iᵀg = eps‖g‖₂/√k exactly: r_i = eps·H e_i with H the Householder
  reflection that maps g/‖g‖₂ onto (1, ..., 1, 0, ..., 0)/√k (Tramèr et al., Lemma 1);
- L-inf: ‖r_i‖∞ = eps and E[r_iᵀg] = eps‖g‖₁/√k: r_i = eps·sign(g) ⊙ (row i of a regular
  Hadamard matrix of order k, spread over k equal random blocks of coordinates), k a power of 4
  (when d is not a multiple of k the d mod k left-over coordinates are 0 and the expectation is
  scaled by k⌊d/k⌋/d).

Counted per point: the directions x + r_i that fool the source, and of those the ones that also
fool each target. Logged per (source, norm, eps) and k: the mean and median number of adversarial
directions, per target the mean number that transfer and the probability of transfer (transferred
/ adversarial), and per point the largest k at which some direction still fools the source (the
"dimension") and Tramèr et al.'s "number of adversarial directions found": the most of the k
directions that fool the source, over every k tried. One gradient per point serves every k and
eps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import torch
from pydantic import Field, PositiveInt, model_validator

from transfer import (
    GRADIENTS,
    Cell,
    CellResult,
    Context,
    ModelsConfig,
    NotApplicable,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
    loss_gradient,
    positive_budgets,
)

from .subspace_dimension_claims import CLAIMS
from .subspace_dimension_headlines import HEADLINES

NAME: Final = "subspace-dimension"
GRID_RATIO = 1.25  # the L2 grid of k
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


def default_ks(norm: str, dim: int, largest: int) -> list[int]:
    """L2: every k of a geometric grid of ratio 1.25 (1, 2, 3, 4, 5, 6, 7, 9, 12, 15, 18, 23, ...)
    up to min(dim, largest), so the most directions found over k is not missed between powers of
    two; L-inf: the powers of 4 the Hadamard construction needs."""
    top = min(dim, largest)
    if norm == "l2":
        grid = sorted({round(GRID_RATIO ** i) for i in range(int(math.log(top, GRID_RATIO)) + 1)})
        return grid + ([top] if grid[-1] != top else [])
    return [4 ** i for i in range(int(math.log(top, 4)) + 1)]


class SubspaceDimensionConfig(ModelsConfig):
    """Config of the subspace-dimension study (defaults: ``subspace_dimension.toml``)."""

    study: Literal["subspace-dimension"] = NAME
    l2_eps: list[float] = Field(default_factory=lambda: [1.0, 2.0, 3.0])
    linf_eps: list[float] = Field(default_factory=list)
    max_k: PositiveInt = 256
    n_points: PositiveInt = 200
    clip: bool = True

    @model_validator(mode="after")
    def _check(self) -> SubspaceDimensionConfig:
        if not self.l2_eps and not self.linf_eps:
            raise ValueError("l2_eps, linf_eps: give at least one budget")
        positive_budgets([*self.l2_eps, *self.linf_eps], "l2_eps, linf_eps")
        return self


class SubspaceResult(CellResult):
    """Per k: mean and median adversarial directions, per target the mean that transfer and the
    probability of transfer; per point the dimension (largest k with a fooling direction) and the
    directions found (Tramèr et al.: the most of the k directions that fool it, over all k)."""

    k: list[int]
    adversarial_mean: list[float]
    adversarial_median: list[float]
    transferred_mean: dict[str, list[float]]
    transfer_probability: dict[str, list[float]]
    dimension: list[int]
    found: list[int]

    def metrics(self) -> dict[str, float]:
        dimension = torch.tensor(self.dimension, dtype=torch.float64)
        some = len(self.dimension) > 0
        return {
            "points": float(len(self.dimension)),
            "dimension_mean": dimension.mean().item() if some else math.nan,
            "dimension_median": dimension.median().item() if some else math.nan,
            "adversarial_at_max_k_mean": self.adversarial_mean[-1] if some else math.nan,
            "directions_found_mean": (sum(self.found) / len(self.found)) if some else math.nan,
        }

    def series(self) -> dict[str, list[tuple[float, float]]]:
        def along_k(values: list[float]) -> list[tuple[float, float]]:
            return [(float(k), v) for k, v in zip(self.k, values, strict=True)]

        series = {"adversarial_directions_mean": along_k(self.adversarial_mean)}
        for t in self.transferred_mean:
            series[f"transferred_mean.{t}"] = along_k(self.transferred_mean[t])
            series[f"transfer_probability.{t}"] = along_k(self.transfer_probability[t])
        return series


class SubspaceDimension(Study[SubspaceDimensionConfig, SubspaceResult]):
    """How many orthogonal adversarial directions surround each point, and how many transfer."""

    about = (
        "How many orthogonal adversarial directions surround a point, and how many of them "
        "transfer? Following Tramèr et al. (2017, gradient-aligned adversarial subspace), the "
        "curves show, against the number k of orthogonal directions tried, how many fool the "
        "source and how many also fool each target."
    )

    Config = SubspaceDimensionConfig
    Result = SubspaceResult
    result_format = 3  # 3: the finer L2 grid of k; 2: per point, the directions found
    claims = CLAIMS
    headlines = HEADLINES
    theory = "Adversarial subspaces"
    default_config = Path(__file__).with_name("subspace_dimension.toml")

    def plan(self, config: SubspaceDimensionConfig) -> list[Cell]:
        budgets = [("l2", e) for e in config.l2_eps] + [("linf", e) for e in config.linf_eps]
        return [Cell.make(NAME, source=s, norm=norm, eps=eps)
                for s in config.source_labels() for norm, eps in budgets]

    def run(
        self, cell: Cell, ctx: Context[SubspaceDimensionConfig]
    ) -> SubspaceResult | NotApplicable:
        config = ctx.config
        spec = config.model(cell["source"])
        traits = ctx.traits(spec)
        if GRADIENTS not in traits.capabilities:
            return NotApplicable(
                reason=f"{traits.kind} has no gradients, so there is no gradient to align with")
        data = ctx.dataset(config.dataset)
        source_data, target_data = config.training_sets(data)
        source = ctx.model(spec, source_data, config.seed)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        right = source.predict(x) == y
        x, y = x[right], y[right]
        grad = ctx.remember(("gaas-gradient", cell["source"], config.model_dump_json()),
                            lambda: loss_gradient(source, x, y))
        targets = {t: ctx.model(config.model(t), target_data, config.seed)
                   for t in config.target_labels()}
        norm, eps = cell["norm"], cell["eps"]
        ks = default_ks(norm, x[0].numel(), config.max_k)
        generator = ctx.generator(config.seed)
        counts = torch.zeros(len(x), len(ks), dtype=torch.long)
        transferred = {t: torch.zeros(len(x), len(ks), dtype=torch.long) for t in targets}
        for column, k in enumerate(ks):
            directions = (gaas_l2(grad, k, eps) if norm == "l2"
                          else gaas_linf(grad, k, eps, generator))
            points = x.unsqueeze(1) + directions.to(x.dtype).view(len(x), k, *x.shape[1:])
            if config.clip:
                points = points.clamp(*data.bounds)
            points = points.flatten(0, 1)
            labels = y.repeat_interleave(k)
            fooled = (source.predict(points) != labels).view(len(x), k)
            counts[:, column] = fooled.sum(dim=1)
            for label, target in targets.items():
                both = fooled & (target.predict(points) != labels).view(len(x), k)
                transferred[label][:, column] = both.sum(dim=1)
        return self.measures(ks, counts, transferred)

    @staticmethod
    def measures(ks: list[int], counts: torch.Tensor,
                 transferred: dict[str, torch.Tensor]) -> SubspaceResult:
        k_values = torch.tensor(ks)
        has = counts > 0
        dimension = torch.where(has, k_values, torch.zeros_like(k_values)).amax(dim=1)
        floats = counts.double()
        return SubspaceResult(
            k=ks,
            adversarial_mean=floats.mean(0).tolist(),
            adversarial_median=floats.median(0).values.tolist(),
            transferred_mean={t: v.double().mean(0).tolist() for t, v in transferred.items()},
            transfer_probability={
                t: [(v[:, c].sum() / counts[:, c].sum()).item() if counts[:, c].sum() else math.nan
                    for c in range(len(ks))]
                for t, v in transferred.items()},
            dimension=dimension.tolist(),
            found=counts.amax(dim=1).tolist(),
        )

    def summarize(
        self, config: SubspaceDimensionConfig,
        results: Mapping[Cell, SubspaceResult | NotApplicable],
    ) -> Summary:
        from .subspace_dimension_report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, SubspaceDimension)
