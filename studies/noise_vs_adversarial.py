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
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, PositiveInt, model_validator
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
    Study,
    StudyConfig,
    Summary,
    evaluation_points,
    hookimpl,
    loss_gradient,
    unique_labels,
)

NAME = "noise-vs-adversarial"


def random_signs(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Uniform random ±1 tensors (seeded)."""
    return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1


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


def flip_distance(model: Model, x: torch.Tensor, direction: torch.Tensor, scale: torch.Tensor,
                  grid: int = 32, doublings: int = 12, bisections: int = 30) -> torch.Tensor:
    """Per point, the smallest |t| such that the label of x + t·u differs from that of x, for the
    unit direction u = direction/‖direction‖ (both signs of t). A grid up to ``scale`` (doubled
    until a flip is found) brackets the first flip, bisection refines it; inf if none."""
    n = len(x)
    u = direction / direction.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (x.dim() - 1))
    label = model.predict(x)
    found = torch.full((n,), math.inf)
    limit = scale.clone().cpu()
    steps = torch.linspace(0, 1, grid + 1)[1:]
    view = (-1, *[1] * (x.dim() - 1))
    for _ in range(doublings):
        todo = torch.nonzero(torch.isinf(found)).flatten()
        if len(todo) == 0:
            break
        for sign in (1.0, -1.0):
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


def subspace_deepfool(model: Model, x: torch.Tensor, basis: torch.Tensor,
                      max_iter: int = 50, overshoot: float = 0.02) -> torch.Tensor:
    """Per point, the norm of DeepFool's perturbation restricted to span(basis[i]) (basis: n x d x
    m, orthonormal columns): the linearised nearest boundary inside the subspace, iterated until
    the label changes (Fawzi et al. 2016, semi-random noise). inf where it does not flip."""
    flat_shape = x.shape[1:]
    with torch.no_grad():
        label = model.logits(x).argmax(dim=1)
    total = torch.zeros(len(x), basis.shape[2], dtype=basis.dtype, device=x.device)
    active = torch.arange(len(x), device=x.device)
    for _ in range(max_iter):
        point = (x[active].flatten(1) + (1 + overshoot) * (basis[active] @ total[active, :, None])
                 .squeeze(2)).to(x.dtype).view(-1, *flat_shape).requires_grad_(True)
        logits = model.logits(point)
        still = logits.argmax(dim=1) == label[active]
        if not still.any():
            active = active[:0]
            break
        n_classes = logits.shape[1]
        grads = torch.stack([torch.autograd.grad(logits[:, k].sum(), point,
                                                 retain_graph=k < n_classes - 1)[0].flatten(1)
                             for k in range(n_classes)], dim=1)[still]
        active, logits = active[still], logits.detach()[still]
        rows = torch.arange(len(active), device=x.device)
        own = label[active]
        gap = logits - logits[rows, own].unsqueeze(1)
        direction = (grads - grads[rows, own].unsqueeze(1)).to(basis.dtype) @ basis[active]
        size = direction.norm(dim=2)
        distance = gap.abs().to(basis.dtype) / size.clamp_min(1e-12)
        distance[rows, own] = math.inf
        nearest = distance.argmin(dim=1)
        w = direction[rows, nearest]
        step = (gap[rows, nearest].abs().to(basis.dtype) / size[rows, nearest].pow(2).clamp_min(
            1e-24)).unsqueeze(1) * w
        total[active] += step
    norms = total.norm(dim=1).cpu()
    norms[active.cpu()] = math.inf
    return norms


def random_basis(n: int, dim: int, m: int, generator: torch.Generator) -> torch.Tensor:
    """n uniformly random orthonormal d x m bases (QR of Gaussian matrices), float64."""
    gaussian = torch.randn(n, dim, m, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.sign(torch.diagonal(r, dim1=1, dim2=2)).unsqueeze(1)


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


class NoiseVsAdversarial(Study):
    """Adversarial vs random directions: logit curves, minimal-norm ratios, dimension sweep."""

    Config = NoiseVsAdversarialConfig
    default_config = Path(__file__).with_name("noise_vs_adversarial.toml")

    def plan(self, config: NoiseVsAdversarialConfig) -> list[Cell]:  # type: ignore[override]
        cells = [Cell.make(NAME, part=part, model=m.label, data=-1)
                 for part in ("curves", "minimal-norm") for m in config.models]
        cells += [Cell.make(NAME, part="sweep", model=m.label, data=i)
                  for m in config.sweep_models for i in range(len(config.sweep_datasets))]
        return cells

    def run(self, cell: Cell, ctx: Context) -> CellResult:
        config: NoiseVsAdversarialConfig = ctx.config  # type: ignore[assignment]
        if cell["part"] == "sweep":
            spec = next(m for m in config.sweep_models if m.label == cell["model"])
            dataset_spec = config.sweep_datasets[cell["data"]]
        else:
            spec = next(m for m in config.models if m.label == cell["model"])
            dataset_spec = config.dataset
        probe = ctx.unfitted_model(spec)
        if GRADIENTS not in probe.capabilities:
            return CellResult.not_applicable(
                f"{type(probe).__name__} has no gradients: no adversarial direction to follow")
        data = ctx.dataset(dataset_spec)
        model = ctx.model(spec, data, config.seed)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        generator = ctx.generator(config.seed)
        if cell["part"] == "curves":
            return self.curves(config, model, x, y, generator)
        if cell["part"] == "minimal-norm":
            return self.minimal_norm(config, ctx, model, x, y, generator, config.subspace_dims)
        return self.sweep(config, ctx, model, x, y, generator)

    @staticmethod
    def curves(config: NoiseVsAdversarialConfig, model: Model, x: torch.Tensor, y: torch.Tensor,
               generator: torch.Generator) -> CellResult:
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
        r2_adv = r_squared(logits[0], eps).mean().item()
        r2_rand = torch.stack([r_squared(c, eps) for c in logits[1:]]).mean().item()
        slope_adv = slopes(logits[0], eps).abs().mean().item()
        slope_rand = torch.stack([slopes(c, eps).abs() for c in logits[1:]]).mean().item()
        error_random = torch.stack(errors[1:]).mean(0)
        centre = len(eps) // 2
        metrics = {"r2_adversarial": r2_adv, "r2_random": r2_rand,
                   "slope_adversarial": slope_adv, "slope_random": slope_rand,
                   "slope_ratio": slope_adv / slope_rand if slope_rand else math.nan,
                   "clean_error": errors[0][centre].item(),
                   "error_adversarial_at_eps_max": errors[0][-1].item(),
                   "error_random_at_eps_max": error_random[-1].item()}
        steps = range(len(eps))
        series = {"error_adversarial": [[i, errors[0][i].item()] for i in steps],
                  "error_random": [[i, error_random[i].item()] for i in steps]}
        shown = min(config.plot_points, len(x))
        data = {"eps": eps.tolist(), "error_adversarial": errors[0].tolist(),
                "error_random": error_random.tolist(),
                "logits_adversarial": logits[0][:shown].tolist(),
                "logits_random": logits[1][:shown].tolist(), "labels": y[:shown].tolist()}
        return CellResult(metrics=metrics, data=data, series=series)

    @staticmethod
    def minimal_norm(config: NoiseVsAdversarialConfig, ctx: Context, model: Model,
                     x: torch.Tensor, y: torch.Tensor, generator: torch.Generator,
                     dims: list[int]) -> CellResult:
        from scipy.stats import beta

        deepfool = ctx.attack(AttackSpec(name="deepfool", params={"clip": False,
                                                                  "overshoot": 0.0}))
        optimal = (deepfool(model, x, y, math.inf, bounds=(-math.inf, math.inf)) - x
                   ).flatten(1).norm(dim=1).cpu()
        keep = (optimal > 0) & torch.isfinite(optimal)
        x, optimal = x[keep.to(x.device)], optimal[keep]
        d = x[0].numel()
        direction = torch.randn(x.shape, generator=generator).to(x)
        along = flip_distance(model, x, direction, optimal * math.sqrt(d))
        ratios = {"random": along / optimal}
        for m in (m for m in dims if 1 < m < d):
            basis = random_basis(len(x), d, m, generator).to(x.device)
            ratios[f"m{m}"] = subspace_deepfool(model, x, basis) / optimal
        metrics: dict[str, float] = {"points": float(len(x)), "dimension": float(d),
                                     "deepfool_l2_mean": optimal.mean().item()}
        data: dict[str, Any] = {"d": d, "rows": []}
        for name, values in ratios.items():
            m = 1 if name == "random" else int(name[1:])
            finite = values[torch.isfinite(values)]
            median = finite.median().item() if len(finite) else math.nan
            predicted = math.sqrt(d / m)
            exact = 1 / math.sqrt(beta.median(m / 2, (d - m) / 2)) if m < d else 1.0
            metrics.update({f"ratio_median.m{m}": median,
                            f"ratio_mean.m{m}": finite.mean().item() if len(finite) else math.nan,
                            f"ratio_predicted.m{m}": predicted,
                            f"ratio_linear_median.m{m}": exact,
                            f"no_flip_share.m{m}": 1 - len(finite) / max(len(values), 1)})
            data["rows"].append({"m": m, "median": median, "predicted": predicted,
                                 "linear_median": exact, "ratios": finite.tolist()})
        return CellResult(metrics=metrics, data=data)

    def sweep(self, config: NoiseVsAdversarialConfig, ctx: Context, model: Model,
              x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> CellResult:
        attack = ctx.attack(config.sweep_attack)
        x_adv = attack(model, x, y, config.sweep_eps, bounds=(-math.inf, math.inf))
        l1 = first_layer_l1(model)
        ratio = self.minimal_norm(config, ctx, model, x, y, generator, [])
        metrics = {"dimension": float(x[0].numel()),
                   "clean_error": (model.predict(x) != y).float().mean().item(),
                   "attack_error": (model.predict(x_adv) != y).float().mean().item(),
                   "first_layer_l1": l1, "eps_times_l1": config.sweep_eps * l1,
                   "ratio_median": ratio.metrics["ratio_median.m1"],
                   "deepfool_l2_mean": ratio.metrics["deepfool_l2_mean"]}
        return CellResult(metrics=metrics, data=dict(metrics))

    def summarize(  # type: ignore[override]
        self, config: NoiseVsAdversarialConfig, results: dict[Cell, CellResult]
    ) -> Summary:
        from .noise_vs_adversarial_report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, NoiseVsAdversarial)
