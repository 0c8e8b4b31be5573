"""Random noise versus the adversarial direction (Goodfellow et al. 2014, §6 and Fig. 4; Fawzi,
Moosavi-Dezfooli & Frossard 2016, "Robustness of classifiers: from adversarial to random noise").

Three parts, each a set of cells:

1. ``curves``: the logits of every class and the error rate along x + eps·sign(g) (g the loss
   gradient; one gradient per point serves every eps) and along ``n_random`` random sign
   directions, eps in [−eps_max, eps_max]. Logged: the R² of a straight-line fit of each logit
   curve (the linearity hypothesis: near 1 for the adversarial direction), the ratio of the mean
   absolute logit slopes adversarial / random, and the error curves of both.
2. ``minimal-norm``: per point, DeepFool's minimal L2 perturbation r*, the smallest flip along a
   random unit direction (line search on both sides), and the smallest flip inside a random
   subspace of dimension m (DeepFool with gradients projected on the subspace, Fawzi's
   "semi-random noise"). Logged: median and mean of ‖r_S‖/‖r*‖ next to Fawzi's √(d/m) and the exact
   median for a linear binary model, 1/√median(Beta(m/2, (d−m)/2)).
3. ``sweep``: one model family trained at several input dimensions d (digits resized, Gaussian
   mixtures of growing d): FGSM error at a fixed eps, eps·‖w‖₁ of the first layer's units (the
   linear explanation: activation change = eps·m·n grows with d), and the minimal-norm ratio.

Geometry here ignores the input bounds (no clipping), as in the papers' analysis.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), ``headlines`` (the headline
numbers), the default ``config.toml``; its own mathematics and data: ``linearity``. Claims, report
and headlines read ``result`` and ``config``, never this module.
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
    Model,
    NotApplicable,
    Study,
    Summary,
    deepfool,
    evaluation_points,
    flip_distance,
    hookimpl,
    loss_gradient,
    random_basis,
    random_signs,
)

from .claims import CLAIMS
from .config import NAME, NoiseVsAdversarialConfig
from .headlines import HEADLINES
from .linearity import first_layer_l1, r_squared, slopes
from .result import Curves, MinimalNorm, NoiseVsAdversarialResult, RatioRow, Sweep


class NoiseVsAdversarial(Study[NoiseVsAdversarialConfig, NoiseVsAdversarialResult]):
    """Adversarial vs random directions: logit curves, minimal-norm ratios, dimension sweep."""

    about = (
        "Why does a small adversarial step change a prediction that large random noise does not? "
        "Following Goodfellow et al. (2014, linearity in high dimension) and Fawzi et al. (2016), "
        "the figures show logits along adversarial and random directions (near-straight lines "
        "mean linear behaviour) and how the random-to-adversarial minimal-norm ratio grows like "
        "the square root of d/m."
    )

    Config = NoiseVsAdversarialConfig
    Result = NoiseVsAdversarialResult
    claims = CLAIMS
    headlines = HEADLINES
    theory = "Linearity in high dimension"
    result_format = 3  # 3: Curves.points; 2: Curves.clean_error measured at eps = 0
    default_config = Path(__file__).with_name("config.toml")

    def plan(self, config: NoiseVsAdversarialConfig) -> list[Cell]:
        cells = [Cell.make(NAME, part=part, model=m.label, data=-1)
                 for part in ("curves", "minimal-norm") for m in config.models]
        cells += [Cell.make(NAME, part="sweep", model=m.label, data=i)
                  for m in config.sweep_models for i in range(len(config.sweep_datasets))]
        return cells

    def run(
        self, cell: Cell, ctx: Context[NoiseVsAdversarialConfig]
    ) -> NoiseVsAdversarialResult | NotApplicable:
        config = ctx.config
        if cell["part"] == "sweep":
            spec = next(m for m in config.sweep_models if m.label == cell["model"])
            dataset_spec = config.sweep_datasets[cell["data"]]
        else:
            spec = next(m for m in config.models if m.label == cell["model"])
            dataset_spec = config.dataset
        traits = ctx.traits(spec)
        if GRADIENTS not in traits.capabilities:
            return NotApplicable(
                reason=f"{traits.kind} has no gradients: no adversarial direction to follow")
        data = ctx.dataset(dataset_spec)
        model = ctx.model(spec, data, config.seed)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        generator = ctx.generator(config.seed)
        if cell["part"] == "curves":
            return NoiseVsAdversarialResult(curves=self.curves(config, model, x, y, generator))
        if cell["part"] == "minimal-norm":
            return NoiseVsAdversarialResult(
                minimal_norm=self.minimal_norm(model, x, generator, config.subspace_dims))
        return NoiseVsAdversarialResult(sweep=self.sweep(config, ctx, model, x, y, generator))

    @staticmethod
    def curves(config: NoiseVsAdversarialConfig, model: Model, x: torch.Tensor, y: torch.Tensor,
               generator: torch.Generator) -> Curves:
        eps = torch.linspace(-config.eps_max, config.eps_max, config.eps_steps)
        adversarial = loss_gradient(model, x, y).sign()
        directions = [adversarial] + [random_signs(tuple(x.shape), generator).to(x)
                                      for _ in range(config.n_random)]
        logits, errors = [], []
        with torch.no_grad():
            for direction in directions:  # (points, classes, eps) per direction
                path = x.unsqueeze(1) + eps.view(1, -1, *[1] * (x.dim() - 1)).to(x) * \
                    direction.unsqueeze(1)
                out = model.logits(path.flatten(0, 1)).view(len(x), len(eps), -1)
                logits.append(out.transpose(1, 2).cpu())
                wrong = model.predict(path.flatten(0, 1)).view(len(x), len(eps)).cpu() != \
                    y.cpu().unsqueeze(1)
                errors.append(wrong.float().mean(0))
            clean_error = (model.predict(x).cpu() != y.cpu()).float().mean().item()
        shown = min(config.plot_points, len(x))
        return Curves(
            eps=eps.tolist(), clean_error=clean_error, error_adversarial=errors[0].tolist(),
            error_random=torch.stack(errors[1:]).mean(0).tolist(),
            logits_adversarial=logits[0][:shown].tolist(),
            logits_random=logits[1][:shown].tolist(), labels=y[:shown].tolist(), points=len(x),
            r2_adversarial=r_squared(logits[0], eps).mean().item(),
            r2_adversarial_points=r_squared(logits[0], eps).mean(1).tolist(),
            r2_random=torch.stack([r_squared(c, eps) for c in logits[1:]]).mean().item(),
            slope_adversarial=slopes(logits[0], eps).abs().mean().item(),
            slope_random=torch.stack([slopes(c, eps).abs() for c in logits[1:]]).mean().item(),
        )

    @staticmethod
    def minimal_norm(model: Model, x: torch.Tensor, generator: torch.Generator,
                     dims: list[int]) -> MinimalNorm:
        from scipy.stats import beta

        applied = (x + deepfool(model, x, overshoot=0.0).total) - x  # as applied, in float32
        optimal = applied.flatten(1).norm(dim=1).cpu()
        keep = (optimal > 0) & torch.isfinite(optimal)
        x, optimal = x[keep.to(x.device)], optimal[keep]
        d = x[0].numel()
        direction = torch.randn(x.shape, generator=generator).to(x)
        ratios = {1: flip_distance(model, x, direction, optimal * math.sqrt(d)) / optimal}
        for m in (m for m in dims if 1 < m < d):
            basis = random_basis(len(x), d, m, generator).to(x.device)
            steps = deepfool(model, x, basis=basis)
            norms = steps.total.norm(dim=1).cpu()
            norms[steps.unfooled.cpu()] = math.inf
            ratios[m] = norms / optimal
        rows = []
        for m, values in ratios.items():
            finite = values[torch.isfinite(values)]
            rows.append(RatioRow(
                m=m, median=finite.median().item() if len(finite) else math.nan,
                mean=finite.mean().item() if len(finite) else math.nan,
                predicted=math.sqrt(d / m),
                linear_median=1 / math.sqrt(beta.median(m / 2, (d - m) / 2)) if m < d else 1.0,
                no_flip_share=1 - len(finite) / max(len(values), 1), ratios=finite.tolist()))
        return MinimalNorm(d=d, points=len(x), deepfool_l2_mean=optimal.mean().item(), rows=rows)

    def sweep(self, config: NoiseVsAdversarialConfig, ctx: Context[NoiseVsAdversarialConfig],
              model: Model, x: torch.Tensor, y: torch.Tensor,
              generator: torch.Generator) -> Sweep:
        attack = ctx.attack(config.sweep_attack)
        x_adv = attack(model, x, y, config.sweep_eps, bounds=(-math.inf, math.inf)).x_adv
        l1 = first_layer_l1(model)
        ratio = self.minimal_norm(model, x, generator, [])
        return Sweep(dimension=float(x[0].numel()),
                     clean_error=(model.predict(x) != y).float().mean().item(),
                     attack_error=(model.predict(x_adv) != y).float().mean().item(),
                     first_layer_l1=l1, eps_times_l1=config.sweep_eps * l1,
                     ratio_median=ratio.rows[0].median, deepfool_l2_mean=ratio.deepfool_l2_mean)

    def summarize(
        self, config: NoiseVsAdversarialConfig,
        results: Mapping[Cell, NoiseVsAdversarialResult | NotApplicable],
    ) -> Summary:
        from .report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, NoiseVsAdversarial)
