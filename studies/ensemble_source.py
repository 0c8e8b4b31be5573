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

import math
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, model_validator

from transfer import (
    GRADIENTS,
    AttackSpec,
    Cell,
    CellResult,
    Context,
    Model,
    ModelsConfig,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
    positive_budgets,
    rate,
    unique_labels,
)

NAME = "ensemble-source"
COMBINE = ("logits", "probabilities", "losses")


class EnsembleModel(Model):
    """Several differentiable models as one: the attack sees their combined output.

    ``logits``: the weighted mean of the members' logits; ``probabilities``: the log of the
    weighted mean of their softmax outputs; ``losses``: the weighted sum of their cross-entropies
    (``logits`` is then the weighted mean of logits, used for predictions).
    """

    capabilities = frozenset({GRADIENTS, "decision"})

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
            mean = sum(w * m.logits(x).softmax(dim=1) for w, m in pairs)
            return torch.log(mean.clamp_min(1e-30))
        return sum(w * m.logits(x) for w, m in pairs)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.combine != "losses":
            return super().loss(x, y)
        return sum(w * m.loss(x, y) for w, m in zip(self.weights, self.members, strict=True))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.logits(x).argmax(dim=1)


class EnsembleSourceConfig(ModelsConfig):
    """Config of the ensemble-source study (defaults: ``ensemble_source.toml`` beside this file)."""

    study: Literal["ensemble-source"] = NAME
    attacks: list[AttackSpec] = Field(min_length=1)
    eps: list[float] = Field(min_length=1)
    combine: Literal["logits", "probabilities", "losses"] = "logits"
    weights: dict[str, float] | None = None
    whitebox: bool = True

    @model_validator(mode="after")
    def _check(self) -> EnsembleSourceConfig:
        unique_labels(self.attacks, "attacks")
        positive_budgets(self.eps, "eps")
        labels = [m.label for m in self.models]
        for label, weight in (self.weights or {}).items():
            if label not in labels or not weight > 0:
                raise ValueError(f"weights: {label!r} must be a model label with a weight > 0")
        return self

    def attack(self, label: str) -> AttackSpec:
        return next(a for a in self.attacks if a.label == label)


class EnsembleSource(Study):
    """Leave-one-out ensemble attacks against every target, vs the best and mean single source."""

    Config = EnsembleSourceConfig
    default_config = Path(__file__).with_name("ensemble_source.toml")

    def validate(self, config: EnsembleSourceConfig, ctx: Context) -> None:  # type: ignore[override]
        if not self.members(config, ctx)[0]:
            raise ValueError(
                "sources: no source has gradients, so there is no gradient ensemble to attack "
                f"(sources: {', '.join(config.source_labels())})"
            )

    def members(
        self, config: EnsembleSourceConfig, ctx: Context
    ) -> tuple[list[str], dict[str, str]]:
        """The differentiable sources, and why each other source was left out."""
        usable, left_out = [], {}
        for label in config.source_labels():
            model = ctx.unfitted_model(config.model(label))
            if GRADIENTS in model.capabilities:
                usable.append(label)
            else:
                left_out[label] = (f"{type(model).__name__} has no gradients "
                                   f"(capabilities: {', '.join(sorted(model.capabilities))})")
        return usable, left_out

    def plan(self, config: EnsembleSourceConfig) -> list[Cell]:  # type: ignore[override]
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

    def run(self, cell: Cell, ctx: Context) -> CellResult:
        config: EnsembleSourceConfig = ctx.config  # type: ignore[assignment]
        data = ctx.dataset(config.dataset)
        source_data, target_data = config.training_sets(data)
        usable, left_out = self.members(config, ctx)
        target_label = cell["target"]
        members = [s for s in usable if s != target_label]
        if not members:
            return CellResult.not_applicable(
                f"no differentiable source other than {target_label!r} to form an ensemble")
        spec = config.attack(cell["attack"])
        attack, eps, seed = ctx.attack(spec), cell["eps"], config.seed
        models = {s: ctx.model(config.model(s), source_data, seed) for s in members}
        weights = [(config.weights or {}).get(s, 1.0) for s in members]
        ensemble = EnsembleModel(list(models.values()), weights, config.combine)
        index = evaluation_points(len(data.y_test), config.n_points, seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        x_adv = attack(ensemble, x, y, eps, bounds=data.bounds, seed=seed)
        goals = attack.chosen_targets(ensemble, x, y, seed)

        def single(label: str) -> tuple[torch.Tensor, torch.Tensor | None]:
            return ctx.remember(
                ("ensemble-single", label, spec.model_dump_json(), eps),
                lambda: (attack(models[label], x, y, eps, bounds=data.bounds, seed=seed),
                         attack.chosen_targets(models[label], x, y, seed)),
            )

        metrics: dict[str, float] = {"members": len(members)}
        out: dict[str, Any] = {"members": members, "left_out": left_out}
        if cell["kind"] == "whitebox":
            right = ensemble.predict(x) == y
            out["whitebox"] = {}
            for label, model in models.items():
                both = right & (model.predict(x) == y)
                entry = rate(model.predict(x_adv) != y, both)
                out["whitebox"][label] = entry
                metrics[f"whitebox_rate.{label}"] = entry["rate"]
            return CellResult(metrics=metrics, data=out)

        target = ctx.model(config.model(target_label), target_data, seed)
        target_right = target.predict(x) == y
        both = (ensemble.predict(x) == y) & target_right
        ensemble_rate = rate(target.predict(x_adv) != y, both)
        singles, matching = {}, {}
        for label, model in models.items():
            x_single, single_goals = single(label)
            common = (model.predict(x) == y) & target_right
            predicted = target.predict(x_single)
            singles[label] = rate(predicted != y, common)
            if single_goals is not None:
                matching[label] = rate(predicted == single_goals, common)
        single_rates = [r["rate"] for r in singles.values() if r["n"]]
        out.update(ensemble=ensemble_rate, singles=singles)
        metrics.update(
            ensemble_transfer_rate=ensemble_rate["rate"],
            ensemble_transfer_ci_low=ensemble_rate["ci_low"],
            ensemble_transfer_ci_high=ensemble_rate["ci_high"],
            ensemble_transfer_count=ensemble_rate["count"],
            ensemble_transfer_n=ensemble_rate["n"],
            best_single_rate=max(single_rates, default=math.nan),
            mean_single_rate=sum(single_rates) / len(single_rates) if single_rates else math.nan,
        )
        metrics["ensemble_minus_best"] = metrics["ensemble_transfer_rate"] - metrics[
            "best_single_rate"]
        metrics["ensemble_minus_mean"] = metrics["ensemble_transfer_rate"] - metrics[
            "mean_single_rate"]
        for label, entry in singles.items():
            metrics[f"single_rate.{label}"] = entry["rate"]
        if goals is not None:
            ensemble_match = rate(target.predict(x_adv) == goals, both)
            match_rates = [r["rate"] for r in matching.values() if r["n"]]
            out.update(ensemble_matching=ensemble_match, singles_matching=matching)
            metrics.update(
                ensemble_matching_rate=ensemble_match["rate"],
                best_single_matching_rate=max(match_rates, default=math.nan),
                mean_single_matching_rate=(sum(match_rates) / len(match_rates)
                                           if match_rates else math.nan),
            )
        return CellResult(metrics=metrics, data=out)

    def summarize(  # type: ignore[override]
        self, config: EnsembleSourceConfig, results: dict[Cell, CellResult]
    ) -> Summary:
        from .ensemble_source_report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, EnsembleSource)
