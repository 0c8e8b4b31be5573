"""Spectral alignment: is an adversarial perturbation aligned with the top singular vectors of the
model's local Jacobian and of its first layer? (Dobriban 2020, the experimental test of the
"large Lipschitz constant" explanation of Szegedy et al. 2013.)

One cell per model. On ``n_points`` test points:

1. the Jacobian of the centred logits at each point and its singular value decomposition
   (see ``singular_subspaces``);
2. four kinds of directions per point: DeepFool's minimal perturbation (unbounded, L2), the
   perturbation PGD (L2, ``pgd_eps``) makes, a random direction of the input space, and a random
   direction of the Jacobian's row space (the directions the logits can see: the control of
   "does the attack prefer the *top* singular direction among them?");
3. for each kind, the share of its energy in the top-k right singular subspace of the Jacobian
   (k = 1..K−1) and of the first layer (k = 1, 2, 4, ... up to its rank), ⟨u, v_1⟩², and the gain
   ‖J u‖ / σ_1 (1: the largest stretch the model has).

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default ``config.toml``.
Claims, report and headlines read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    Cell,
    Context,
    Mean,
    NotApplicable,
    Registry,
    Study,
    Summary,
    deepfool,
    evaluation_points,
    hookimpl,
    require_gradients,
)

from ..shared.singular_subspaces import (
    centred_jacobian_svd,
    energy_shares,
    first_layer_basis,
    gains,
    row_space_directions,
)
from .claims import CLAIMS
from .config import NAME, SpectralAlignmentConfig
from .result import Alignment, SpectralResult


def first_layer_ks(rank: int) -> list[int]:
    """k = 1, 2, 4, ... up to the rank, the rank included."""
    ks = [1 << i for i in range(rank.bit_length()) if 1 << i < rank]
    return [*ks, rank]


def directions(model: Any, x: torch.Tensor, y: torch.Tensor, vh: torch.Tensor,
               ctx: Context[SpectralAlignmentConfig], bounds: tuple[float, float]
               ) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], tuple[int, int]]:
    """Each kind's perturbations and the points they belong to (a DeepFool that never fools, a
    PGD step of zero length are left out), DeepFool's steps and its vector-Jacobian products."""
    config = ctx.config
    n = len(x)
    every = torch.arange(n)
    classes = vh.shape[1] + 1
    steps = deepfool(model, x, overshoot=config.overshoot, candidates=classes)
    fooled = torch.nonzero(~steps.unfooled.cpu()).flatten()
    attack = ctx.attack(config.pgd)
    moved = (attack(model, x, y, config.pgd_eps, bounds=bounds, seed=config.seed).x_adv - x).cpu()
    moving = torch.nonzero(moved.flatten(1).norm(dim=1) > 0).flatten()
    generator = ctx.generator(config.seed)
    isotropic = torch.randn((n, x[0].numel()), generator=generator, dtype=torch.float64)
    # every step reads all K logit gradients, and so does the pass that sees a point fooled
    iterations = steps.iterations.cpu().sum().item()
    spent = (int(iterations), int(iterations + len(fooled)) * classes)
    return {"deepfool": (steps.total.cpu()[fooled], fooled), "pgd": (moved[moving], moving),
            "random": (isotropic, every),
            "random-row-space": (row_space_directions(vh, generator), every)}, spent


class SpectralAlignment(Study[SpectralAlignmentConfig, SpectralResult]):
    """Adversarial perturbations against the top singular vectors of the Jacobian and layer 1."""

    about = (
        "Is an adversarial perturbation aligned with the top singular vectors of the model's "
        "local Jacobian, and of its first layer, as the large-Lipschitz-constant explanation "
        "(Szegedy et al. 2013) suggests? The experimental test Dobriban (2020) names for it: the "
        "share of DeepFool's and PGD's perturbation energy in the top-k right singular subspace, "
        "as k grows, next to random directions of the input space (expected share k/d) and of the "
        "Jacobian's row space (k/(K−1)). The key figure shows the Jacobian curves per model; the "
        "Jacobian is that of the centred logits, since softmax ignores a shift of every logit."
    )

    Config = SpectralAlignmentConfig
    Result = SpectralResult
    claims = CLAIMS
    theory = "Large Lipschitz constant"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: SpectralAlignmentConfig, registry: Registry) -> None:
        require_gradients(registry, [(f"models.{i}", m) for i, m in enumerate(config.models)],
                          "this study needs the model's Jacobian")

    def plan(self, config: SpectralAlignmentConfig) -> list[Cell]:
        return [Cell.make(NAME, model=m.label) for m in config.models]

    def run(self, cell: Cell, ctx: Context[SpectralAlignmentConfig]
            ) -> SpectralResult | NotApplicable:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        model = ctx.model(config.model(cell["model"]), data, config.seed)
        sigma, vh = centred_jacobian_svd(model, x)
        rank = data.n_classes - 1
        sigma, vh = sigma[:, :rank], vh[:, :rank]
        kinds, (deepfool_steps, deepfool_vjps) = directions(model, x, y, vh, ctx, data.bounds)
        layer, layer_vh = first_layer_basis(model.torch_module, x, config.max_first_layer_inputs)
        ks = first_layer_ks(len(layer_vh)) if len(layer_vh) else []
        alignments = {}
        for kind, (moves, points) in kinds.items():
            shares = energy_shares(vh[points], moves)
            layer_shares = energy_shares(layer_vh, moves) if ks else None
            alignments[kind] = Alignment(
                top_share=Mean.of(shares[:, 0]), gain=Mean.of(gains(sigma[points], vh[points],
                                                                    moves)),
                jacobian_curve=shares.mean(dim=0).tolist(),
                first_layer_top=(None if layer_shares is None else
                                 Mean.of(layer_shares[:, min(rank, len(layer_vh)) - 1])),
                first_layer_curve=([] if layer_shares is None else
                                   [layer_shares[:, k - 1].mean().item() for k in ks]))
        return SpectralResult(
            d=x[0].numel(), rank=rank, sigma=sigma.mean(dim=0).tolist(), first_layer=layer,
            first_layer_ks=ks, first_layer_rank=len(layer_vh),
            kinds=alignments, vjps=len(x) * data.n_classes + deepfool_vjps,
            vjps_minimum=(len(x) + deepfool_steps) * data.n_classes)

    def summarize(self, config: SpectralAlignmentConfig,
                  results: Mapping[Cell, SpectralResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, SpectralAlignment)
