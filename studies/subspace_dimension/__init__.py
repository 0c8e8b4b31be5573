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
eps. The control, at the largest L2 eps (where the claims read): the same count for k uniformly
random orthonormal directions of the same norm (``random_found``), on the same points.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), ``headlines`` (the headline
numbers), the default ``config.toml``; its own mathematics and data: ``gaas``. Claims, report and
headlines read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    GRADIENTS,
    Cell,
    Context,
    NotApplicable,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
    loss_gradient,
    random_basis,
)

from .claims import CLAIMS
from .config import NAME, SubspaceDimensionConfig, default_ks
from .gaas import gaas_l2, gaas_linf
from .headlines import HEADLINES
from .result import SubspaceResult


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
    result_format = 4  # 4: the random-direction control; 3: the finer L2 grid of k
    claims = CLAIMS
    headlines = HEADLINES
    theory = "Adversarial subspaces"
    default_config = Path(__file__).with_name("config.toml")

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
        random = None
        if norm == "l2" and eps == max(config.l2_eps):  # the control, where the claims read
            random = torch.zeros(len(x), len(ks), dtype=torch.long)
            for column, k in enumerate(ks):
                directions = eps * random_basis(len(x), x[0].numel(), k, generator).transpose(1, 2)
                points = x.unsqueeze(1) + directions.to(x.dtype).view(len(x), k, *x.shape[1:])
                if config.clip:
                    points = points.clamp(*data.bounds)
                labels = y.repeat_interleave(k)
                random[:, column] = (source.predict(points.flatten(0, 1)) != labels).view(
                    len(x), k).sum(dim=1)
        return self.measures(ks, counts, transferred, random)

    @staticmethod
    def measures(ks: list[int], counts: torch.Tensor, transferred: dict[str, torch.Tensor],
                 random: torch.Tensor | None = None) -> SubspaceResult:
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
            random_found=[] if random is None else random.amax(dim=1).tolist(),
        )

    def summarize(
        self, config: SubspaceDimensionConfig,
        results: Mapping[Cell, SubspaceResult | NotApplicable],
    ) -> Summary:
        from .report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, SubspaceDimension)
