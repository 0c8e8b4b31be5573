"""Ensemble-source attacks (Liu et al. 2017, "Delving into transferable adversarial examples and
black-box attacks", §4 and Tables 4-5).

For every target t, the differentiable sources other than t (leave-one-out) are combined into one
model and attacked; t then classifies the adversarial batch. Members are combined by averaged
logits (Liu et al.'s choice), averaged probabilities, or summed losses (``combine``), with
optional ``weights``. With C the points that both the ensemble and t classify correctly:

- ``ensemble_transfer_rate``: share of C that t misclassifies (as in the transfer matrix);
- ``best_single_rate`` / ``mean_single_rate``: the same rate for each member attacking alone, best
  and mean over members, and ``ensemble_minus_best`` / ``ensemble_minus_mean``;
- for targeted attacks, ``ensemble_matching_rate`` (share of C that t labels as the target class)
  and ``best_single_matching_rate`` / ``mean_single_matching_rate``.

``whitebox`` cells attack the ensemble of *all* sources and evaluate it on each member, as in Liu
et al.'s tables. Each member's single-source batch is crafted once per run (per process) and
reused by every target.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), ``headlines`` (the headline
numbers), the default ``config.toml``; its own mathematics and data: ``combined_model``. Claims,
report and headlines read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from transfer import (
    GRADIENTS,
    AttackResult,
    Cell,
    Context,
    ModelSpec,
    ModelTraits,
    NotApplicable,
    Rate,
    Registry,
    Study,
    Summary,
    hookimpl,
    model_traits,
    point_outcomes,
)

from .claims import CLAIMS
from .combined_model import EnsembleModel
from .config import NAME, EnsembleSourceConfig
from .headlines import HEADLINES
from .result import EnsembleResult


def split_members(
    config: EnsembleSourceConfig, traits: Callable[[ModelSpec], ModelTraits]
) -> tuple[list[str], dict[str, str]]:
    """The differentiable sources, and why each other source was left out."""
    usable, left_out = [], {}
    for label in config.source_labels():
        found = traits(config.model(label))
        if GRADIENTS in found.capabilities:
            usable.append(label)
        else:
            left_out[label] = f"{found.kind} has no gradients (capabilities: " \
                f"{', '.join(sorted(found.capabilities))})"
    return usable, left_out


class EnsembleSource(Study[EnsembleSourceConfig, EnsembleResult]):
    """Leave-one-out ensemble attacks against every target, vs the best and mean single source."""

    about = (
        "Does an attack crafted on an ensemble of models transfer better than one crafted on a "
        "single model? Following Liu et al. (2017), each bar chart compares, per held-out target, "
        "the best and the mean single source with the leave-one-out ensemble of all other models "
        "(higher bars: more transfer)."
    )

    Config = EnsembleSourceConfig
    Result = EnsembleResult
    claims = CLAIMS
    result_format = 2  # 2: per-point matching outcomes of targeted cells (paired claims)
    headlines = HEADLINES
    theory = "Transferability"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: EnsembleSourceConfig, registry: Registry) -> None:
        if not split_members(config, lambda spec: model_traits(registry, spec))[0]:
            raise ValueError(
                "sources: no source has gradients, so there is no gradient ensemble to attack "
                f"(sources: {', '.join(config.source_labels())})"
            )

    def plan(self, config: EnsembleSourceConfig) -> list[Cell]:
        cells = [
            Cell.make(NAME, kind="leave-one-out", target=target, attack=attack.label, eps=eps)
            for target in config.target_labels()
            for attack in config.attacks
            for eps in config.eps
        ]
        if config.whitebox:
            cells += [Cell.make(NAME, kind="whitebox", target="", attack=a.label, eps=eps)
                      for a in config.attacks for eps in config.eps]
        return cells

    def run(
        self, cell: Cell, ctx: Context[EnsembleSourceConfig]
    ) -> EnsembleResult | NotApplicable:
        config = ctx.config
        usable, left_out = split_members(config, ctx.traits)
        target_label = cell["target"]
        members = [s for s in usable if s != target_label]
        if not members:
            return NotApplicable(
                reason=f"no differentiable source other than {target_label!r} to form an ensemble")
        data = ctx.dataset(config.dataset)
        source_data, target_data = config.training_sets(data)
        spec = config.attack(cell["attack"])
        attack, eps, seed = ctx.attack(spec), cell["eps"], config.seed
        models = {s: ctx.model(config.model(s), source_data, seed) for s in members}
        weights = [(config.weights or {}).get(s, 1.0) for s in members]
        ensemble = EnsembleModel(list(models.values()), weights, config.combine)
        index = ctx.evaluation_index(data)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        crafted = attack.with_targets(ensemble, x, y, eps, bounds=data.bounds, seed=seed,
                                      targets=data.targets_of(index))
        x_adv = crafted.x_adv

        def single(label: str) -> AttackResult:
            result: AttackResult = ctx.remember(
                ("ensemble-single", label, spec.model_dump_json(), eps),
                lambda: attack.with_targets(models[label], x, y, eps, bounds=data.bounds,
                                            seed=seed, targets=data.targets_of(index)),
            )
            return result

        if cell["kind"] == "whitebox":
            right = ensemble.predict(x) == y
            whitebox = {label: Rate.of(model.predict(x_adv) != y, right & (model.predict(x) == y))
                        for label, model in models.items()}
            return EnsembleResult(kind="whitebox", members=members, left_out=left_out,
                                  whitebox=whitebox)

        target = ctx.model(config.model(target_label), target_data, seed)
        target_right = target.predict(x) == y
        both = (ensemble.predict(x) == y) & target_right
        singles, matching, matching_points = {}, {}, {}
        for label, model in models.items():
            alone = single(label)
            common = (model.predict(x) == y) & target_right
            predicted = target.predict(alone.x_adv)
            singles[label] = Rate.of(predicted != y, common)
            if alone.targets is not None:
                matching[label] = Rate.of(predicted == alone.targets, common)
                matching_points[label] = point_outcomes((predicted == alone.targets).cpu(),
                                                        common.cpu())
        ensemble_predicted = target.predict(x_adv)
        ensemble_matches = (None if crafted.targets is None
                            else ensemble_predicted == crafted.targets)
        return EnsembleResult(
            kind="leave-one-out", members=members, left_out=left_out,
            ensemble=Rate.of(ensemble_predicted != y, both), singles=singles,
            ensemble_matching=(None if ensemble_matches is None
                               else Rate.of(ensemble_matches, both)),
            singles_matching=matching,
            ensemble_matching_points=("" if ensemble_matches is None
                                      else point_outcomes(ensemble_matches.cpu(), both.cpu())),
            singles_matching_points=matching_points,
        )

    def summarize(
        self, config: EnsembleSourceConfig, results: Mapping[Cell, EnsembleResult | NotApplicable]
    ) -> Summary:
        from .report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, EnsembleSource)
