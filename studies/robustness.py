"""Adversarial training and robustness, normal and adversarially trained models side by side
(Goodfellow et al. 2014, §6 and §8; Madry et al. 2017; Moosavi-Dezfooli et al. 2016, DeepFool).

A model is adversarially trained when its spec has ``params.adversarial`` (see
``transfer.adversarial_training``); the others are the normal group. Two kinds of cells:

1. ``white-box``, one per model: the error rate of each attack over the eps grid (all points,
   those misclassified before the attack included, as the papers count), the DeepFool robustness
   ρ_adv = mean ‖r*‖₂/‖x‖₂ (Table 1 of the DeepFool paper, unbounded, as there) next to the same
   ratio for FGSM's smallest fooling step (a line search along sign ∇ₓJ), and "rubbish class"
   examples: the share of Gaussian noise inputs x ~ N(0, I) the model puts in a class with
   confidence above ``confidence``, and its mean confidence on them.
2. ``transfer``, one per source: ``transfer_attack`` at ``transfer_eps`` crafted on the source,
   the error rate of every model on it (normal → adversarially trained, the reverse, and within
   each group).

Every model trains on the whole training set with the same seed, and every cell uses the same
``n_points`` test points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from transfer import (
    AttackSpec,
    Cell,
    CellResult,
    Context,
    Dataset,
    DatasetSpec,
    Model,
    ModelSpec,
    NotApplicable,
    Rate,
    Registry,
    Study,
    StudyConfig,
    Summary,
    deepfool,
    evaluation_points,
    flip_distance,
    hookimpl,
    loss_gradient,
    positive_budgets,
    require_gradients,
    rho_adv,
    unique_labels,
)

from .robustness_claims import CLAIMS
from .robustness_groups import group_of
from .robustness_headlines import HEADLINES

NAME: Final = "robustness"


class RobustnessConfig(StudyConfig):
    """Config of the robustness study (defaults: ``robustness.toml``)."""

    study: Literal["robustness"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 300
    attacks: list[AttackSpec] = Field(default_factory=lambda: [
        AttackSpec(name="fgsm"), AttackSpec(name="pgd", params={"steps": 10})])
    eps: list[float] = Field(default_factory=lambda: [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    transfer_attack: AttackSpec = Field(default_factory=lambda: AttackSpec(name="fgsm"))
    transfer_eps: float = Field(0.1, gt=0)
    overshoot: float = Field(0.02, ge=0)
    n_noise: PositiveInt = 1000
    confidence: float = Field(0.5, gt=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> RobustnessConfig:
        unique_labels(self.models, "models")
        unique_labels(self.attacks, "attacks")
        positive_budgets(self.eps, "eps")
        return self

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WhiteBox(_Part):
    """One model under white-box attack: error rates per attack and eps, minimal perturbations
    (DeepFool and FGSM's smallest fooling step, L2) and the rubbish-class measures."""

    group: str
    clean_error: Rate
    errors: dict[str, list[Rate]]  # attack label -> one rate per eps of the config
    deepfool_l2_mean: float
    rho_adv: float
    fgsm_l2_mean: float
    rho_adv_fgsm: float
    fgsm_to_deepfool: float  # mean FGSM / mean DeepFool L2 norm, over the points both fool
    fooled_by_both: int
    rubbish: Rate  # noise inputs put in a class with confidence above the threshold
    rubbish_confidence: float

    def metrics(self, eps: list[float]) -> dict[str, float]:
        metrics = {"clean_error": self.clean_error.rate, "rho_adv": self.rho_adv,
                   "rho_adv_fgsm": self.rho_adv_fgsm, "deepfool_l2_mean": self.deepfool_l2_mean,
                   "fgsm_l2_mean": self.fgsm_l2_mean, "fgsm_to_deepfool": self.fgsm_to_deepfool,
                   "rubbish_share": self.rubbish.rate,
                   "rubbish_confidence": self.rubbish_confidence}
        for attack, rates in self.errors.items():
            metrics.update({f"error.{attack}.eps{e:g}": r.rate
                            for e, r in zip(eps, rates, strict=True)})
        return metrics


class RobustnessResult(CellResult):
    """A ``white-box`` cell (``white_box``) or a ``transfer`` cell (``transfer``: target label
    -> its error rate on the source's adversarial examples)."""

    eps: list[float] = Field(default_factory=list)
    white_box: WhiteBox | None = None
    transfer: dict[str, Rate] | None = None

    def metrics(self) -> dict[str, float]:
        if self.white_box is not None:
            return self.white_box.metrics(self.eps)
        return {f"error.{target}": rate.rate for target, rate in (self.transfer or {}).items()}


def minimal_perturbations(model: Model, x: torch.Tensor, y: torch.Tensor, overshoot: float
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per point, the L2 norms of DeepFool's perturbation (1 + overshoot)·Σ r_i and of FGSM's
    smallest fooling step eps·sign ∇ₓJ (inf where either never fools), unbounded."""
    steps = deepfool(model, x, overshoot=overshoot)
    applied = (x + (1 + overshoot) * steps.total) - x
    deepfool_l2 = applied.flatten(1).norm(dim=1).cpu()
    deepfool_l2[steps.unfooled.cpu()] = math.inf
    sign = loss_gradient(model, x, y).sign()
    scale = torch.where(torch.isfinite(deepfool_l2), 2 * deepfool_l2,
                        x.flatten(1).norm(dim=1).cpu())
    fgsm_l2 = flip_distance(model, x, sign, scale.clamp_min(1e-3), signs=(1.0,))
    return deepfool_l2, fgsm_l2


class Robustness(Study[RobustnessConfig, RobustnessResult]):
    """Normal and adversarially trained models: white-box error, ρ_adv, transfer, rubbish."""

    about = (
        "Does adversarial training make a model robust, and what does it change? Following "
        "Goodfellow et al. (2014), Madry et al. (2017) and Moosavi-Dezfooli et al. (2016), normal "
        "and adversarially trained models side by side: white-box error against eps (normal "
        "dashed, adversarially trained solid), DeepFool's robustness ρ_adv next to FGSM's, the "
        "transfer between the two groups, and how confidently each model classifies Gaussian "
        "noise (\"rubbish class\" examples)."
    )

    Config = RobustnessConfig
    Result = RobustnessResult
    claims = CLAIMS
    headlines = HEADLINES
    theory = "Adversarial training"
    default_config = Path(__file__).with_name("robustness.toml")

    def validate(self, config: RobustnessConfig, registry: Registry) -> None:
        require_gradients(registry, [(f"models.{i}", m) for i, m in enumerate(config.models)],
                          "this study attacks every model white-box")

    def trained_models(self, ctx: Context[RobustnessConfig]
                       ) -> list[tuple[ModelSpec, Dataset, int]]:
        """Every model, on the whole training set (trained first, in parallel, by ``ray``)."""
        data = ctx.dataset(ctx.config.dataset)
        return [(spec, data, ctx.config.seed) for spec in ctx.config.models]

    def plan(self, config: RobustnessConfig) -> list[Cell]:
        return [Cell.make(NAME, part=part, model=m.label)
                for part in ("white-box", "transfer") for m in config.models]

    def run(self, cell: Cell, ctx: Context[RobustnessConfig]) -> RobustnessResult | NotApplicable:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        spec = config.model(cell["model"])
        model = ctx.model(spec, data, config.seed)
        if cell["part"] == "transfer":
            attack = ctx.attack(config.transfer_attack)
            x_adv = attack(model, x, y, config.transfer_eps, bounds=data.bounds,
                           seed=config.seed).x_adv
            errors = {}
            for target in config.models:
                with torch.no_grad():
                    wrong = ctx.model(target, data, config.seed).predict(x_adv) != y
                errors[target.label] = Rate.of(wrong.cpu(), torch.ones_like(wrong.cpu()))
            return RobustnessResult(transfer=errors)
        return RobustnessResult(eps=config.eps, white_box=self.white_box(ctx, spec, model, x, y,
                                                                         data.bounds))

    @staticmethod
    def white_box(ctx: Context[RobustnessConfig], spec: ModelSpec, model: Model,
                  x: torch.Tensor, y: torch.Tensor, bounds: tuple[float, float]) -> WhiteBox:
        config = ctx.config
        every = torch.ones(len(y), dtype=torch.bool)
        with torch.no_grad():
            clean = Rate.of((model.predict(x) != y).cpu(), every)
        errors: dict[str, list[Rate]] = {}
        for attack_spec in config.attacks:
            attack = ctx.attack(attack_spec)
            errors[attack_spec.label] = []
            for eps in config.eps:
                x_adv = attack(model, x, y, eps, bounds=bounds, seed=config.seed).x_adv
                with torch.no_grad():
                    errors[attack_spec.label].append(Rate.of((model.predict(x_adv) != y).cpu(),
                                                             every))
        deepfool_l2, fgsm_l2 = minimal_perturbations(model, x, y, config.overshoot)
        by_deepfool, by_fgsm = torch.isfinite(deepfool_l2), torch.isfinite(fgsm_l2)
        both = by_deepfool & by_fgsm
        x_cpu = x.cpu()
        noise = torch.randn((config.n_noise, *x.shape[1:]),
                            generator=ctx.generator(config.seed)).to(x)
        with torch.no_grad():
            confidence = torch.softmax(model.logits(noise), dim=1).max(dim=1).values.cpu()
        return WhiteBox(
            group=group_of(spec), clean_error=clean, errors=errors,
            deepfool_l2_mean=_mean(deepfool_l2[by_deepfool]),
            fgsm_l2_mean=_mean(fgsm_l2[by_fgsm]),
            rho_adv=_mean(rho_adv(deepfool_l2[by_deepfool], x_cpu[by_deepfool])),
            rho_adv_fgsm=_mean(rho_adv(fgsm_l2[by_fgsm], x_cpu[by_fgsm])),
            fgsm_to_deepfool=_mean(fgsm_l2[both]) / _mean(deepfool_l2[both]),
            fooled_by_both=int(both.sum()),
            rubbish=Rate.of(confidence > config.confidence, torch.ones_like(confidence,
                                                                             dtype=torch.bool)),
            rubbish_confidence=confidence.mean().item())

    def summarize(self, config: RobustnessConfig,
                  results: Mapping[Cell, RobustnessResult | NotApplicable]) -> Summary:
        from .robustness_report import summarize

        return summarize(config, results)


def _mean(values: torch.Tensor) -> float:
    return values.mean().item() if len(values) else math.nan


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Robustness)
