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
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import torch
from pydantic import model_validator

from transfer import (
    DECISION,
    GRADIENTS,
    AttackResult,
    AttacksConfig,
    Cell,
    CellResult,
    Context,
    Model,
    ModelSpec,
    ModelTraits,
    NotApplicable,
    Rate,
    Registry,
    Study,
    Summary,
    hookimpl,
    model_traits,
)

from .ensemble_source_claims import CLAIMS
from .ensemble_source_headlines import HEADLINES

NAME: Final = "ensemble-source"
COMBINE = ("logits", "probabilities", "losses")


def _total(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """The sum of tensors, left to right."""
    return functools.reduce(operator.add, terms)


class EnsembleModel(Model):
    """Several differentiable models as one: the attack sees their combined output.

    ``logits``: the weighted mean of the members' logits; ``probabilities``: the log of the
    weighted mean of their softmax outputs; ``losses``: the weighted sum of their cross-entropies
    (``logits`` is then the weighted mean of logits, used for predictions).
    """

    capabilities = frozenset({GRADIENTS, DECISION})

    def __init__(self, members: list[Model], weights: list[float] | None = None,
                 combine: str = "logits") -> None:
        if combine not in COMBINE:
            raise ValueError(f"combine must be one of {', '.join(COMBINE)}, not {combine!r}")
        if not members:
            raise ValueError("an ensemble needs at least one member")
        super().__init__(combine=combine)
        weights = weights or [1.0] * len(members)
        total = sum(weights)
        self.members, self.weights, self.combine = members, [w / total for w in weights], combine
        self.device = members[0].device
        self.n_classes = members[0].n_classes

    def _fit(self, dataset: Any, seed: int) -> None:
        raise NotImplementedError("an ensemble is built from trained members")

    def _save(self, directory: Path) -> None:
        raise NotImplementedError("an ensemble is not cached; its members are")

    def _load(self, directory: Path) -> None:
        raise NotImplementedError("an ensemble is not cached; its members are")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        pairs = zip(self.weights, self.members, strict=True)
        if self.combine == "probabilities":
            mean = _total(w * m.logits(x).softmax(dim=1) for w, m in pairs)
            return torch.log(mean.clamp_min(1e-30))
        return _total(w * m.logits(x) for w, m in pairs)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.combine != "losses":
            return super().loss(x, y)
        return _total(w * m.loss(x, y) for w, m in zip(self.weights, self.members, strict=True))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.logits(x).argmax(dim=1)


class EnsembleSourceConfig(AttacksConfig):
    """Config of the ensemble-source study (defaults: ``ensemble_source.toml`` beside this file)."""

    study: Literal["ensemble-source"] = NAME
    combine: Literal["logits", "probabilities", "losses"] = "logits"
    weights: dict[str, float] | None = None
    whitebox: bool = True

    @model_validator(mode="after")
    def _check(self) -> EnsembleSourceConfig:
        labels = [m.label for m in self.models]
        for label, weight in (self.weights or {}).items():
            if label not in labels or not weight > 0:
                raise ValueError(f"weights: {label!r} must be a model label with a weight > 0")
        return self


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


class EnsembleResult(CellResult):
    """A leave-one-out cell (the ensemble and each member alone against one target) or a
    white-box cell (the ensemble of all sources evaluated on each member)."""

    kind: Literal["leave-one-out", "whitebox"]
    members: list[str]
    left_out: dict[str, str]
    whitebox: dict[str, Rate] = {}
    ensemble: Rate | None = None
    singles: dict[str, Rate] = {}
    ensemble_matching: Rate | None = None
    singles_matching: dict[str, Rate] = {}

    def metrics(self) -> dict[str, float]:
        metrics: dict[str, float] = {"members": len(self.members)}
        metrics.update({f"whitebox_rate.{m}": r.rate for m, r in self.whitebox.items()})
        if self.ensemble is None:
            return metrics
        single_rates = [r.rate for r in self.singles.values() if r.n]
        best, mean = max(single_rates, default=math.nan), _mean(single_rates)
        metrics.update(self.ensemble.metrics("ensemble_transfer",
                                             rate_name="ensemble_transfer_rate"))
        metrics.update(best_single_rate=best, mean_single_rate=mean,
                       ensemble_minus_best=self.ensemble.rate - best,
                       ensemble_minus_mean=self.ensemble.rate - mean)
        metrics.update({f"single_rate.{m}": r.rate for m, r in self.singles.items()})
        if self.ensemble_matching is not None:
            match_rates = [r.rate for r in self.singles_matching.values() if r.n]
            metrics.update(ensemble_matching_rate=self.ensemble_matching.rate,
                           best_single_matching_rate=max(match_rates, default=math.nan),
                           mean_single_matching_rate=_mean(match_rates))
        return metrics


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
    headlines = HEADLINES
    theory = "Transferability"
    default_config = Path(__file__).with_name("ensemble_source.toml")

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
        singles, matching = {}, {}
        for label, model in models.items():
            alone = single(label)
            common = (model.predict(x) == y) & target_right
            predicted = target.predict(alone.x_adv)
            singles[label] = Rate.of(predicted != y, common)
            if alone.targets is not None:
                matching[label] = Rate.of(predicted == alone.targets, common)
        return EnsembleResult(
            kind="leave-one-out", members=members, left_out=left_out,
            ensemble=Rate.of(target.predict(x_adv) != y, both), singles=singles,
            ensemble_matching=(None if crafted.targets is None
                               else Rate.of(target.predict(x_adv) == crafted.targets, both)),
            singles_matching=matching,
        )

    def summarize(
        self, config: EnsembleSourceConfig, results: Mapping[Cell, EnsembleResult | NotApplicable]
    ) -> Summary:
        from .ensemble_source_report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, EnsembleSource)
