"""Adversarial training and robustness, normal and adversarially trained models side by side
(Goodfellow et al. 2014, §6 and §8; Madry et al. 2017; Moosavi-Dezfooli et al. 2016, DeepFool).

A model is adversarially trained when its spec has ``params.adversarial`` (see
``transfer.training.adversarial``); the others are the normal group. Two kinds of cells:

1. ``white-box``, one per model: the error rate of each attack over the eps grid (all points,
   those misclassified before the attack included, as the papers count), the DeepFool robustness
   ρ_adv = mean ‖r*‖₂/‖x‖₂ (Table 1 of the DeepFool paper, unbounded, as there) next to the same
   ratio for FGSM's smallest fooling step (a line search along sign ∇ₓJ), FGSM's ρ_adv the paper's
   way (at the one eps that misclassifies 90% of the points, ``fgsm_reach``), and "rubbish class"
   examples: the share of Gaussian noise inputs x ~ N(0, I) the model puts in a class with
   confidence above ``confidence`` (``Model.confidences``: a softmax by default), and its mean
   confidence on them.
2. ``transfer``, one per source: ``transfer_attack`` at ``transfer_eps`` crafted on the source,
   the error rate of every model on it (normal → adversarially trained, the reverse, and within
   each group).
3. ``contrast``, one per ``contrast`` model (an RBF network by default, Goodfellow et al.'s
   contrast, its units trained one-vs-rest): only the rubbish-class share and mean confidence,
   on the same noise inputs, and the same share, mean confidence and error on the clean test
   points (the claim counts a contrast only when it is confident on real data); these models
   join no other part.

Every model trains on the whole training set with the same seed, and every cell uses the same
``n_points`` test points.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), ``headlines`` (the headline
numbers), the default ``config.toml``; its own mathematics and data: ``groups``,
``fgsm_reach``. Claims, report and headlines read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    Cell,
    Context,
    Dataset,
    Model,
    ModelSpec,
    NotApplicable,
    Rate,
    Registry,
    Study,
    Summary,
    deepfool,
    evaluation_points,
    flip_distance,
    hookimpl,
    loss_gradient,
    require_gradients,
    rho_adv,
)

from .claims import CLAIMS
from .config import NAME, RobustnessConfig
from .fgsm_reach import fgsm_reach
from .groups import group_of
from .headlines import HEADLINES
from .result import RobustnessResult, Rubbish, WhiteBox


def minimal_perturbations(model: Model, x: torch.Tensor, y: torch.Tensor, overshoot: float
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per point, the L2 norms of DeepFool's perturbation (1 + overshoot)·Σ r_i and of FGSM's
    smallest fooling step eps·sign ∇ₓJ (inf where either never fools), unbounded; and the
    signs."""
    steps = deepfool(model, x, overshoot=overshoot)
    applied = (x + (1 + overshoot) * steps.total) - x
    deepfool_l2 = applied.flatten(1).norm(dim=1).cpu()
    deepfool_l2[steps.unfooled.cpu()] = math.inf
    sign = loss_gradient(model, x, y).sign()
    scale = torch.where(torch.isfinite(deepfool_l2), 2 * deepfool_l2,
                        x.flatten(1).norm(dim=1).cpu())
    fgsm_l2 = flip_distance(model, x, sign, scale.clamp_min(1e-3), signs=(1.0,))
    return deepfool_l2, fgsm_l2, sign


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
    result_format = 2  # 2: FGSM's 90% eps and ρ_adv the DeepFool paper's way (fgsm_reach)
    headlines = HEADLINES
    theory = "Adversarial training"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: RobustnessConfig, registry: Registry) -> None:
        require_gradients(registry, [(f"models.{i}", m) for i, m in enumerate(config.models)],
                          "this study attacks every model white-box")
        require_gradients(registry, [(f"contrast.{i}", m) for i, m in enumerate(config.contrast)],
                          "a contrast model's class confidences come from its logits")

    def trained_models(self, ctx: Context[RobustnessConfig]
                       ) -> list[tuple[ModelSpec, Dataset, int]]:
        """Every model and contrast model, on the whole training set (trained first, in
        parallel, by ``ray``)."""
        data = ctx.dataset(ctx.config.dataset)
        return [(spec, data, ctx.config.seed) for spec in [*ctx.config.models,
                                                             *ctx.config.contrast]]

    def plan(self, config: RobustnessConfig) -> list[Cell]:
        return [Cell.make(NAME, part=part, model=m.label)
                for part in ("white-box", "transfer") for m in config.models] + [
            Cell.make(NAME, part="contrast", model=m.label) for m in config.contrast]

    def run(self, cell: Cell, ctx: Context[RobustnessConfig]) -> RobustnessResult | NotApplicable:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        spec = config.model(cell["model"])
        model = ctx.model(spec, data, config.seed)
        if cell["part"] == "contrast":
            share, mean = rubbish(ctx, model, x)
            clean_share, clean_mean = confident(model, x, config.confidence)
            with torch.no_grad():
                wrong = (model.predict(x) != y).cpu()
            return RobustnessResult(contrast=Rubbish(
                rubbish=share, rubbish_confidence=mean, clean_confident=clean_share,
                clean_confidence=clean_mean, clean_error=Rate.of(wrong, torch.ones_like(wrong))))
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
        deepfool_l2, fgsm_l2, sign = minimal_perturbations(model, x, y, config.overshoot)
        by_deepfool, by_fgsm = torch.isfinite(deepfool_l2), torch.isfinite(fgsm_l2)
        both = by_deepfool & by_fgsm
        x_cpu = x.cpu()
        share, mean = rubbish(ctx, model, x)
        return WhiteBox(
            group=group_of(spec), clean_error=clean, errors=errors,
            deepfool_l2_mean=_mean(deepfool_l2[by_deepfool]),
            fgsm_l2_mean=_mean(fgsm_l2[by_fgsm]),
            rho_adv=_mean(rho_adv(deepfool_l2[by_deepfool], x_cpu[by_deepfool])),
            rho_adv_fgsm=_mean(rho_adv(fgsm_l2[by_fgsm], x_cpu[by_fgsm])),
            fgsm_to_deepfool=_mean(fgsm_l2[both]) / _mean(deepfool_l2[both]),
            fooled_by_both=int(both.sum()),
            fgsm_reach=fgsm_reach(model, x, y, sign, fgsm_l2, deepfool_l2, config.seed),
            rubbish=share, rubbish_confidence=mean)

    def summarize(self, config: RobustnessConfig,
                  results: Mapping[Cell, RobustnessResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, results)


def rubbish(ctx: Context[RobustnessConfig], model: Model, x: torch.Tensor) -> tuple[Rate, float]:
    """The "rubbish class" examples: of ``n_noise`` inputs x ~ N(0, I) shaped as ``x`` (the
    same seeded noise for every model), the share whose largest class confidence
    (``model.confidences``) exceeds ``confidence``, and the mean of that largest confidence."""
    config = ctx.config
    noise = torch.randn((config.n_noise, *x.shape[1:]),
                        generator=ctx.generator(config.seed)).to(x)
    return confident(model, noise, config.confidence)


def confident(model: Model, x: torch.Tensor, threshold: float) -> tuple[Rate, float]:
    """The share of ``x`` whose largest class confidence (``model.confidences``) exceeds
    ``threshold``, and the mean of that largest confidence."""
    with torch.no_grad():
        confidence = model.confidences(x).max(dim=1).values.cpu()
    every = torch.ones_like(confidence, dtype=torch.bool)
    return Rate.of(confidence > threshold, every), confidence.mean().item()


def _mean(values: torch.Tensor) -> float:
    return values.mean().item() if len(values) else math.nan


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Robustness)
