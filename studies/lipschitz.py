"""Lipschitz bound checks (Szegedy et al. 2013, Table 5; Virmaux & Scaman 2018; Weng et al. 2018,
CLEVER; Sedghi et al. 2019).

For every differentiable model (its network or differentiable twin):

1. ``L_upper``: the product of per-layer L2 bounds (see ``lipschitz_bounds``), a certified upper
   bound on the Lipschitz constant of the logit map; the per-layer table is logged.
2. ``L_emp``: the largest spectral norm of the logit Jacobian ‖J_f(x)‖₂ found at the test points
   and along PGD paths (after 1, 2, ..., ``pgd_steps`` steps), a lower bound; and a CLEVER-style
   local estimate per point of the Lipschitz constant of f_c − f_j (c the predicted class, j the
   runner-up): the location of a reverse-Weibull fit (scipy) to batch maxima of ‖∇(f_c − f_j)‖₂
   sampled uniformly in an L2 ball (the sample maximum when the fit is unstable). It is bounded by
   √2·L_upper (``clever_over_bound`` ≤ 1), not by L_upper.
3. Checks, logged as counts: L_emp ≤ L_upper; and every adversarial example found by DeepFool and
   PGD lies at least margin(x)/(√2·L_upper) from x (the certified radius: f_y − f_j changes at most
   √2·L_upper per unit of ‖δ‖₂). A violation is a bug: the cell fails loudly, and the offending
   points are written into its traceback artifact.

Also logged: the tightness ratio L_upper/L_emp and the found perturbation over the certified radius.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import torch
from pydantic import Field, PositiveInt

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
    class_gradients,
    evaluation_points,
    hookimpl,
    random_in_ball,
    unique_labels,
)

from .lipschitz_bounds import LayerBound, layer_bounds
from .lipschitz_claims import CLAIMS

NAME: Final = "lipschitz"


class BoundViolation(AssertionError):
    """An empirical quantity beat a certified bound: a bug in the bound or the model code."""


class LipschitzConfig(StudyConfig):
    """Config of the lipschitz study (defaults: ``lipschitz.toml`` beside this file)."""

    study: Literal["lipschitz"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 100
    pgd_eps: float = Field(1.0, gt=0)
    pgd_steps: PositiveInt = 10
    power_iterations: PositiveInt = 2000
    clever_points: PositiveInt = 20
    clever_batches: PositiveInt = 20
    clever_batch_size: PositiveInt = 64
    clever_radius: float = Field(0.5, gt=0)

    def model_post_init(self, context: Any) -> None:
        unique_labels(self.models, "models")


def jacobian_norms(model: Model, x: torch.Tensor) -> torch.Tensor:
    """‖J_f(x)‖₂ per point: the spectral norm of the (classes x inputs) logit Jacobian."""
    jacobian = class_gradients(model, x)[1].flatten(2)
    return torch.linalg.matrix_norm(jacobian.double(), ord=2)


def clever(model: Model, x: torch.Tensor, config: LipschitzConfig,
           generator: torch.Generator) -> list[float]:
    """CLEVER-style local cross-Lipschitz estimates (Weng et al. 2018) for each point."""
    from scipy.stats import weibull_max

    estimates = []
    with torch.no_grad():
        top2 = model.logits(x).topk(2, dim=1).indices
    dim = x[0].numel()
    for i in range(len(x)):
        c, j = top2[i]
        maxima = []
        for _ in range(config.clever_batches):
            ball = random_in_ball((config.clever_batch_size, dim), config.clever_radius, "l2",
                                  generator)
            points = (x[i].flatten() + ball).view(-1, *x.shape[1:])
            points = points.to(x).requires_grad_(True)
            logits = model.logits(points)
            (grad,) = torch.autograd.grad((logits[:, c] - logits[:, j]).sum(), points)
            maxima.append(grad.flatten(1).norm(dim=1).max().item())
        if max(maxima) - min(maxima) < 1e-12 * max(max(maxima), 1e-30):
            estimates.append(max(maxima))  # a constant gradient norm: a linear model
            continue
        _, location, _ = weibull_max.fit(maxima)
        top = max(maxima)
        # the fitted right end-point; an unstable fit (far beyond the samples) falls back to them
        estimates.append(float(location) if top <= location <= 2 * top else top)
    return estimates


class LipschitzResult(CellResult):
    """Certified and empirical Lipschitz constants of one model, and the radius checks."""

    L_upper: float
    L_emp: float
    layers: list[LayerBound]
    unsupported: list[str]
    clever: list[float]
    radius_checks: int
    perturbation_over_radius: list[float]
    scatter: list[tuple[str, float, float]]

    def metrics(self) -> dict[str, float]:
        finite = [r for r in self.perturbation_over_radius if math.isfinite(r)]
        metrics = {
            "L_upper": self.L_upper, "L_emp": self.L_emp,
            "tightness": self.L_upper / self.L_emp if self.L_emp > 0 else math.inf,
            "clever_mean": sum(self.clever) / len(self.clever), "clever_max": max(self.clever),
            "clever_over_bound": max(self.clever) / (math.sqrt(2) * self.L_upper),
            "checks_lower_bound": 1.0, "checks_radius": float(self.radius_checks),
            "violations": 0.0, "unsupported_layers": float(len(self.unsupported)),
            "perturbation_over_radius_min": min(finite) if finite else math.nan,
            "perturbation_over_radius_median": (sorted(finite)[len(finite) // 2] if finite
                                                else math.nan),
        }
        return {k: v for k, v in metrics.items() if math.isfinite(v) or k == "L_upper"}


class Lipschitz(Study[LipschitzConfig, LipschitzResult]):
    """Certified per-layer upper bounds against empirical Jacobian norms and found attacks."""

    about = (
        "Do certified Lipschitz bounds explain how far adversarial examples must be from clean "
        "points? Following Szegedy et al. (2013) and Virmaux & Scaman (2018), per model one "
        "figure shows the per-layer L2 bounds whose product is the certified constant L, and "
        "another each adversarial example's distance against its certified radius margin/(√2·L), "
        "which no example may undercut."
    )

    Config = LipschitzConfig
    Result = LipschitzResult
    claims = CLAIMS
    theory = "Large Lipschitz constant"
    default_config = Path(__file__).with_name("lipschitz.toml")

    def plan(self, config: LipschitzConfig) -> list[Cell]:
        return [Cell.make(NAME, model=m.label) for m in config.models]

    def run(self, cell: Cell, ctx: Context[LipschitzConfig]) -> LipschitzResult | NotApplicable:
        config = ctx.config
        spec = next(m for m in config.models if m.label == cell["model"])
        traits = ctx.traits(spec)
        if GRADIENTS not in traits.capabilities:
            return NotApplicable(
                reason=f"{traits.kind} has no gradients, so no Lipschitz bound to check")
        data = ctx.dataset(config.dataset)
        model = ctx.model(spec, data, config.seed)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        # bounds in float64 on a copy (the cached model is shared read-only)
        rows = layer_bounds(model.module_copy(torch.float64), x[:1].double().cpu(),
                            config.power_iterations)
        upper = math.prod(r.bound for r in rows)
        unsupported = [f"{r.name} ({r.kind})" for r in rows if not math.isfinite(r.bound)]

        # empirical lower bound: test points and PGD paths
        samples = [x]
        for steps in range(1, config.pgd_steps + 1):
            pgd = ctx.attack(AttackSpec(name="pgd", params={
                "norm": "l2", "steps": steps, "random_start": False}))
            samples.append(pgd(model, x, y, config.pgd_eps, bounds=data.bounds,
                               seed=config.seed).x_adv)
        jacobians = torch.cat([jacobian_norms(model, s) for s in samples])
        empirical = jacobians.max().item()
        generator = ctx.generator(config.seed)
        local = clever(model, x[: config.clever_points], config, generator)

        # certified radius vs perturbations actually found
        with torch.no_grad():
            logits = model.logits(x)
        correct = logits.argmax(1) == y
        others = logits.clone()
        others[torch.arange(len(y)), y] = -math.inf
        margin = (logits[torch.arange(len(y)), y] - others.max(1).values).double()
        radius = margin / (math.sqrt(2) * upper)
        deepfool = ctx.attack(AttackSpec(name="deepfool"))
        found = {"deepfool": deepfool(model, x, y, math.inf, bounds=data.bounds).x_adv,
                 "pgd": samples[-1]}
        checked, violations, ratios, scatter = 0, [], [], []
        for name, x_adv in found.items() if math.isfinite(upper) else ():
            fooled = (model.predict(x_adv) != y) & correct
            size = (x_adv - x).flatten(1).norm(dim=1).double()
            for i in torch.nonzero(fooled).flatten().tolist():
                checked += 1
                ratios.append((size[i] / radius[i]).item() if radius[i] > 0 else math.inf)
                scatter.append((name, radius[i].item(), size[i].item()))
                if size[i] < radius[i] * (1 - 1e-6):
                    violations.append({"attack": name, "point": int(index[i]),
                                       "perturbation_l2": size[i].item(),
                                       "certified_radius": radius[i].item()})
        lower_ok = empirical <= upper * (1 + 1e-6)
        if violations or not lower_ok:
            raise BoundViolation(json.dumps({
                "model": cell["model"], "L_upper": upper, "L_emp": empirical,
                "radius_violations": violations}, indent=1))
        return LipschitzResult(L_upper=upper, L_emp=empirical, layers=rows,
                               unsupported=unsupported, clever=local, radius_checks=checked,
                               perturbation_over_radius=ratios, scatter=scatter)

    def summarize(
        self, config: LipschitzConfig, results: Mapping[Cell, LipschitzResult | NotApplicable]
    ) -> Summary:
        from .lipschitz_report import summarize

        return summarize(self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Lipschitz)
