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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator
from torch import nn

from transfer import (
    GRADIENTS,
    AttackSpec,
    Cell,
    CellResult,
    Context,
    DatasetSpec,
    Model,
    ModelSpec,
    NotApplicable,
    Study,
    StudyConfig,
    Summary,
    deepfool,
    evaluation_points,
    flip_distance,
    hookimpl,
    loss_gradient,
    random_basis,
    random_signs,
    unique_labels,
)

from .noise_vs_adversarial_claims import CLAIMS
from .noise_vs_adversarial_headlines import HEADLINES

NAME: Final = "noise-vs-adversarial"


def r_squared(curves: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """R² of the least-squares line through each curve (last axis against ``eps``)."""
    centred = eps - eps.mean()
    slope = (curves * centred).sum(-1) / (centred * centred).sum()
    fitted = curves.mean(-1, keepdim=True) + slope.unsqueeze(-1) * centred
    residual = ((curves - fitted) ** 2).sum(-1)
    total = ((curves - curves.mean(-1, keepdim=True)) ** 2).sum(-1)
    return torch.where(total > 1e-12, 1 - residual / total.clamp_min(1e-12),
                       torch.ones_like(total))


def slopes(curves: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    centred = eps - eps.mean()
    return (curves * centred).sum(-1) / (centred * centred).sum()


def first_layer_l1(model: Model) -> float:
    """Mean L1 norm of the first linear or convolutional layer's units (their weight rows)."""
    module = model.torch_module
    if module is None:
        return math.nan
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            return layer.weight.detach().flatten(1).abs().sum(1).mean().item()
    return math.nan


class NoiseVsAdversarialConfig(StudyConfig):
    """Config of the noise-vs-adversarial study (defaults: ``noise_vs_adversarial.toml``)."""

    study: Literal["noise-vs-adversarial"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 100
    # 1. curves
    eps_max: float = Field(0.5, gt=0)
    eps_steps: PositiveInt = 41
    n_random: PositiveInt = 3
    plot_points: PositiveInt = 3
    # 2. minimal-norm ratio
    subspace_dims: list[PositiveInt] = Field(default_factory=lambda: [1, 4, 16])
    # 3. dimension sweep
    sweep_models: list[ModelSpec] = Field(default_factory=list)
    sweep_datasets: list[DatasetSpec] = Field(default_factory=list)
    sweep_eps: float = Field(0.1, gt=0)
    sweep_attack: AttackSpec = Field(default_factory=lambda: AttackSpec(name="fgsm",
                                                                         params={"clip": False}))

    @model_validator(mode="after")
    def _check(self) -> NoiseVsAdversarialConfig:
        unique_labels(self.models, "models")
        unique_labels(self.sweep_models, "sweep_models")
        if self.eps_steps < 3:
            raise ValueError("eps_steps: a curve needs at least 3 points")
        return self


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Curves(_Part):
    """Logits and error along the adversarial and random sign directions (a few points kept for
    the figure), with the straight-line fits' R² and mean |slope|."""

    eps: list[float]
    clean_error: float
    error_adversarial: list[float]
    error_random: list[float]
    logits_adversarial: list[list[list[float]]]
    logits_random: list[list[list[float]]]
    labels: list[int]
    r2_adversarial: float
    r2_random: float
    slope_adversarial: float
    slope_random: float

    def metrics(self) -> dict[str, float]:
        return {"r2_adversarial": self.r2_adversarial, "r2_random": self.r2_random,
                "slope_adversarial": self.slope_adversarial, "slope_random": self.slope_random,
                "slope_ratio": (self.slope_adversarial / self.slope_random if self.slope_random
                                else math.nan),
                "clean_error": self.clean_error,
                "error_adversarial_at_eps_max": self.error_adversarial[-1],
                "error_random_at_eps_max": self.error_random[-1]}


class RatioRow(_Part):
    """‖r_S‖/‖r*‖ in random subspaces of dimension m (m = 1: a random direction)."""

    m: int
    median: float
    mean: float
    predicted: float
    linear_median: float
    no_flip_share: float
    ratios: list[float]


class MinimalNorm(_Part):
    d: int
    points: int
    deepfool_l2_mean: float
    rows: list[RatioRow]

    def metrics(self) -> dict[str, float]:
        metrics = {"points": float(self.points), "dimension": float(self.d),
                   "deepfool_l2_mean": self.deepfool_l2_mean}
        for row in self.rows:
            metrics.update({f"ratio_median.m{row.m}": row.median,
                            f"ratio_mean.m{row.m}": row.mean,
                            f"ratio_predicted.m{row.m}": row.predicted,
                            f"ratio_linear_median.m{row.m}": row.linear_median,
                            f"no_flip_share.m{row.m}": row.no_flip_share})
        return metrics


class Sweep(_Part):
    dimension: float
    clean_error: float
    attack_error: float
    first_layer_l1: float
    eps_times_l1: float
    ratio_median: float
    deepfool_l2_mean: float

    def metrics(self) -> dict[str, float]:
        return self.model_dump()


class NoiseVsAdversarialResult(CellResult):
    """One part of the study for one model: exactly one of the three fields is set."""

    curves: Curves | None = None
    minimal_norm: MinimalNorm | None = None
    sweep: Sweep | None = None

    def metrics(self) -> dict[str, float]:
        part = self.curves or self.minimal_norm or self.sweep
        return part.metrics() if part is not None else {}

    def series(self) -> dict[str, list[tuple[float, float]]]:
        if self.curves is None:
            return {}
        steps = range(len(self.curves.eps))
        return {"error_adversarial": [(i, self.curves.error_adversarial[i]) for i in steps],
                "error_random": [(i, self.curves.error_random[i]) for i in steps]}


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
    result_format = 2  # 2: Curves.clean_error measured at eps = 0 (1 read it off the eps grid)
    default_config = Path(__file__).with_name("noise_vs_adversarial.toml")

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
            logits_random=logits[1][:shown].tolist(), labels=y[:shown].tolist(),
            r2_adversarial=r_squared(logits[0], eps).mean().item(),
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
        from .noise_vs_adversarial_report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, NoiseVsAdversarial)
