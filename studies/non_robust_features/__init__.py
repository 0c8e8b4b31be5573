"""Non-robust features (Ilyas et al. 2019, "Adversarial examples are not bugs, they are
features"): a model trained only on adversarial examples labelled with their target class, or
only on the features a robust model sees, and what it then does on the clean test set.

One cell per training set (each trains its model through the cache; see
``construction`` for the recipes):

- ``D``: standard training on the data; ``D-adv``: adversarial training on it (``robust_model``).
- ``D_rand`` / ``D_det`` (Table 1): every training point attacked on the standard ``model``
  towards t, t uniform among the other classes / t = (y + 1) mod K, with ``attack`` at
  ``attack_eps``, and labelled t. A fresh model trained on it only is tested on the clean,
  correctly labelled test set: above chance, the non-robust features generalise (for D_det the
  robust features point to y − 1, away from the truth).
- ``D_R`` / ``D_NR`` (Figure 2): every training point rebuilt from another point by matching the
  representation of the adversarially trained ``robust_model`` (D_R) or of the standard ``model``
  (D_NR), label y. Standard training on D_R should give some robust accuracy.

Every model is tested on the clean test set (``n_points`` of it) and under ``evaluation`` at
``eps`` (robust accuracy), both with 95% Wilson intervals. Fresh models train with ``seed + 1``,
so they share no initialisation with the models that built their data.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), ``headlines`` (the headline
numbers), the default ``config.toml``; its own mathematics and data: ``construction``. Claims,
report and headlines read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    Attack,
    AttackSpec,
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
    evaluation_points,
    hookimpl,
    require_gradients,
)

from .claims import CLAIMS
from .config import NAME, SETS, TARGET_RULE, NonRobustFeaturesConfig
from .construction import GradientCount, constructed, matched, relabelled, relative_distance, starts
from .headlines import HEADLINES
from .result import Construction, Examples, NonRobustResult


class NonRobustFeatures(Study[NonRobustFeaturesConfig, NonRobustResult]):
    """Models trained on D, adversarially on D, and on D_R, D_NR, D_rand, D_det: clean and
    robust test accuracy."""

    about = (
        "Are adversarial examples features? Following Ilyas et al. (2019), a fresh model is "
        "trained only on adversarial examples of a standard model relabelled as their target "
        "class (D_rand: a random class, D_det: y + 1) and tested on the clean, correctly labelled "
        "test set; and standard training on D_R, images rebuilt from an adversarially trained "
        "model's representation, is tested for robustness. The key figure is their Figure 2: "
        "clean and robust (PGD) test accuracy per training set, chance dotted; the example grid "
        "shows x, x + δ with label → target, and D_R / D_NR images."
    )

    Config = NonRobustFeaturesConfig
    Result = NonRobustResult
    claims = CLAIMS
    result_format = 2  # 2: per test point, whether the robust prediction is right (paired tests)
    headlines = HEADLINES
    theory = "Non-robust features"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: NonRobustFeaturesConfig, registry: Registry) -> None:
        fields = [("model", config.model), ("robust_model", config.robust_model)]
        if config.fresh_model is not None:
            fields.append(("fresh_model", config.fresh_model))
        require_gradients(registry, fields, "this study attacks it and reads its representation")
        if "adversarial" not in config.robust_model.params:
            raise ValueError("robust_model.params.adversarial: the robust model must be "
                             "adversarially trained, e.g. adversarial = { method = \"pgd\", "
                             "eps = 1.0, norm = \"l2\", steps = 7 }")
        parameters = inspect.signature(registry.get("attack", config.attack.name)).parameters
        if "target" not in parameters:
            raise ValueError(f"attack: {config.attack.name!r} has no 'target' parameter; D_rand "
                             "and D_det need a targeted attack such as pgd")

    def plan(self, config: NonRobustFeaturesConfig) -> list[Cell]:
        return [Cell.make(NAME, set=name) for name in SETS if name in config.sets]

    def run(self, cell: Cell, ctx: Context[NonRobustFeaturesConfig]) -> NonRobustResult:
        config = ctx.config
        data = ctx.dataset(config.dataset)
        which = cell["set"]
        construction, examples = None, None
        if which in ("D", "D-adv"):
            spec = config.model if which == "D" else config.robust_model
            model = ctx.model(spec, data, config.seed)
            training = data
        else:
            build = self.relabel if which in TARGET_RULE else self.match
            training, construction, examples = build(ctx, data, which)
            model = ctx.model(config.fresh(), training, config.seed + 1)
        return self.evaluate(ctx, which, model, data, training, construction, examples)

    @staticmethod
    def relabel(ctx: Context[NonRobustFeaturesConfig], data: Dataset, which: str
                ) -> tuple[Dataset, Construction, Examples | None]:
        """D_rand or D_det: the standard model's targeted adversarial examples, labelled t."""
        config = ctx.config
        source = ctx.model(config.model, data, config.seed)
        spec = AttackSpec(name=config.attack.name,
                          params={**config.attack.params, "target": TARGET_RULE[which]})
        x, y = data.x_train, data.y_train
        attack = ctx.attack(spec)
        built = relabelled(source, attack, x.to(ctx.device), y.to(ctx.device),
                           config.attack_eps, bounds=data.bounds, seed=config.seed,
                           keep=config.keep)
        robust = ctx.model(config.robust_model, data, config.seed)
        with torch.no_grad():
            sees_y = robust.predict(built.x_adv.to(ctx.device)).cpu() == y
        every = torch.ones(len(y), dtype=torch.bool)
        recipe = {"construction": which, "source_model": _identity(config.model, config.seed),
                  "attack": spec.model_dump(), "eps": config.attack_eps, "keep": config.keep,
                  "seed": config.seed}
        kept = built.kept
        training = constructed(data, which, built.x_adv[kept], built.targets[kept], recipe)
        measures = Construction(
            points=int(kept.sum()), gradients=built.gradients,
            gradients_min=len(y) * _steps(attack), attack_success=Rate.of(built.reached, every),
            robust_sees_label=Rate.of(sees_y, every),
            perturbation_l2=(built.x_adv - x).flatten(1).norm(dim=1).mean().item(),
            sha256=training.spec["sha256"])
        n = _shown(config, data)
        examples = Examples.of([("x", x[:n]), ("x + δ", built.x_adv[:n])], y[:n],
                               built.targets[:n]) if n else None
        return training, measures, examples

    @staticmethod
    def match(ctx: Context[NonRobustFeaturesConfig], data: Dataset, which: str
              ) -> tuple[Dataset, Construction, Examples | None]:
        """D_R or D_NR: training points rebuilt by matching a model's representation."""
        config = ctx.config
        spec = config.robust_model if which == "D_R" else config.model
        source = ctx.model(spec, data, config.seed)
        x, y = data.x_train, data.y_train
        start = starts(x, config.match_start, data.bounds, config.seed)
        built = matched(source, x, start, steps=config.match_steps,
                        step_size=config.match_step_size, bounds=data.bounds)
        recipe = {"construction": which, "source_model": _identity(spec, config.seed),
                  "steps": config.match_steps, "step_size": config.match_step_size,
                  "start": config.match_start, "seed": config.seed}
        training = constructed(data, which, built.x_r, y, recipe)
        measures = Construction(
            points=len(y), gradients=built.gradients, gradients_min=len(y) * config.match_steps,
            match_before=built.before.mean().item(), match_after=built.after.mean().item(),
            distance_to_x=relative_distance(built.x_r, x).mean().item(),
            sha256=training.spec["sha256"])
        n = _shown(config, data)
        examples = Examples.of([("x", x[:n]), ("start", start[:n]), ("x_r", built.x_r[:n])],
                               y[:n], None) if n else None
        return training, measures, examples

    @staticmethod
    def evaluate(ctx: Context[NonRobustFeaturesConfig], which: str, model: Model, data: Dataset,
                 training: Dataset, construction: Construction | None,
                 examples: Examples | None) -> NonRobustResult:
        """Clean and robust accuracy on the test set, and the fit on the model's own data."""
        config = ctx.config
        n_test = len(data.y_test)
        index = evaluation_points(n_test, config.n_points or n_test, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index]
        attack = ctx.attack(config.evaluation)
        module = model.torch_module
        assert module is not None, "validated: every model has gradients"
        with GradientCount(module) as count:
            x_adv = attack(model, x, y.to(ctx.device), config.eps, bounds=data.bounds,
                           seed=config.seed).x_adv
        with torch.no_grad():
            clean, robust = model.predict(x).cpu(), model.predict(x_adv).cpu()
            fitted = model.predict(training.x_train.to(ctx.device)).cpu()
        every = torch.ones(len(y), dtype=torch.bool)
        shifted = None
        if which == "D_det":  # what a model of the robust features alone would predict
            shifted = Rate.of(clean == (y + 1).remainder(data.n_classes), every)
        return NonRobustResult(
            set=which, n_classes=data.n_classes, clean=Rate.of(clean == y, every),
            robust=Rate.of(robust == y, every), shifted=shifted,
            points=index.tolist(), robust_correct=(robust == y).tolist(),
            train_accuracy=Rate.of(fitted == training.y_train,
                                   torch.ones(len(fitted), dtype=torch.bool)),
            eval_gradients=count.points, eval_gradients_min=len(y) * _steps(attack),
            evaluation_norm=attack.norm, construction=construction, examples=examples)

    def summarize(self, config: NonRobustFeaturesConfig,
                  results: Mapping[Cell, NonRobustResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, results)


def _shown(config: NonRobustFeaturesConfig, data: Dataset) -> int:
    """Example images kept per constructed set: ``n_examples`` for images (1 or 3 channels),
    none for other data."""
    shape = data.input_shape
    images = len(shape) == 3 and shape[0] in (1, 3) and min(shape[1:]) > 1
    return min(config.n_examples, len(data.y_train)) if images else 0


def _identity(spec: ModelSpec, seed: int) -> dict[str, Any]:
    return {"name": spec.name, "params": spec.params, "seed": seed}


def _steps(attack: Attack) -> int:
    """Gradient evaluations per point an attack needs at least: its ``steps`` (1 without)."""
    return int(attack.params.get("steps") or 1)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, NonRobustFeatures)
