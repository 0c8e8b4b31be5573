"""Cross-model transfer matrix (Papernot et al. 2016, "Transferability in machine learning";
Szegedy et al. 2013, Table 2; Liu et al. 2017, Table 1).

For every source s, attack a and budget eps, one adversarial batch is crafted on s from a fixed,
seeded sample of N test points, and every target t classifies it. With C the points that both s
and t classify correctly before the attack:

- ``transfer_rate[s,t]``: share of C that t misclassifies after the attack (the main number; on
  the diagonal, with ``disjoint = false``, the white-box success rate);
- ``target_error[s,t]``: share of all N points that t misclassifies after the attack (Papernot's
  reading);
- ``conditional_transfer[s,t]``: P(t wrong | s wrong, point in C);
- ``targeted_success[s,t]`` for targeted attacks: share of C that t labels as the attack's target
  class (the matching rate of Liu et al. 2017);
- ``clean_error`` of every model on the N points, and each rate's 95% Wilson interval and count.

With ``disjoint = true`` (Papernot's protocol) sources train on one stratified half of the training
set and targets on the other, so the diagonal is the transfer between two models of the same
family trained on different data; the white-box rate is then ``whitebox_success`` per source. The
``noise`` attack at the same eps is the control row: ``transfer_minus_noise`` is the real effect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, model_validator

from transfer import (
    AttackSpec,
    Cell,
    CellResult,
    Context,
    ModelsConfig,
    Study,
    Summary,
    evaluation_points,
    hookimpl,
    perturbation_norm,
    positive_budgets,
    rate,
    unique_labels,
)

NAME = "transfer-matrix"
RATES = ("transfer_rate", "target_error", "conditional_transfer", "targeted_success")


class TransferMatrixConfig(ModelsConfig):
    """Config of the transfer-matrix study (defaults: ``transfer_matrix.toml`` beside this file)."""

    study: Literal["transfer-matrix"] = NAME
    attacks: list[AttackSpec] = Field(min_length=1)
    eps: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> TransferMatrixConfig:
        unique_labels(self.attacks, "attacks")
        positive_budgets(self.eps, "eps")
        return self

    def attack(self, label: str) -> AttackSpec:
        return next(a for a in self.attacks if a.label == label)


class TransferMatrix(Study):
    """Cross-model transfer matrix: one adversarial batch per (source, attack, eps)."""

    Config = TransferMatrixConfig
    default_config = Path(__file__).with_name("transfer_matrix.toml")

    def plan(self, config: TransferMatrixConfig) -> list[Cell]:  # type: ignore[override]
        return [
            Cell.make(NAME, source=source, attack=attack.label, eps=eps)
            for source in config.source_labels()
            for attack in config.attacks
            for eps in config.eps
        ]

    def run(self, cell: Cell, ctx: Context) -> CellResult:
        config: TransferMatrixConfig = ctx.config  # type: ignore[assignment]
        data = ctx.dataset(config.dataset)
        attack = ctx.attack(config.attack(cell["attack"]))
        source_spec = config.model(cell["source"])
        reason = attack.supports(ctx.unfitted_model(source_spec))
        if reason:
            return CellResult.not_applicable(reason)
        source_data, target_data = config.training_sets(data)
        source = ctx.model(source_spec, source_data, config.seed)

        index = evaluation_points(len(data.y_test), config.n_points, config.seed)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        x_adv = attack(source, x, y, cell["eps"], bounds=data.bounds, seed=config.seed)
        attack_targets = attack.chosen_targets(source, x, y, config.seed)
        source_right = source.predict(x) == y
        source_fooled = source.predict(x_adv) != y
        delta = x_adv - x

        metrics: dict[str, float] = {
            "source_clean_error": 1 - source_right.float().mean().item(),
            "perturbation_linf": perturbation_norm(delta, "linf").mean().item(),
            "perturbation_l2": perturbation_norm(delta, "l2").mean().item(),
        }
        whitebox = rate(source_fooled, source_right)
        metrics["whitebox_success"] = whitebox["rate"]
        metrics.update({f"attack_{name}": value for name, value in attack.stats.items()})
        per_target: dict[str, Any] = {}
        for label in config.target_labels():
            target = ctx.model(config.model(label), target_data, config.seed)
            target_right = target.predict(x) == y
            target_fooled = target.predict(x_adv) != y
            both = source_right & target_right
            entry = {
                "transfer_rate": rate(target_fooled, both),
                "target_error": rate(target_fooled, torch.ones_like(both)),
                "conditional_transfer": rate(target_fooled, both & source_fooled),
                "clean_error": 1 - target_right.float().mean().item(),
            }
            if attack_targets is not None:
                entry["targeted_success"] = rate(target.predict(x_adv) == attack_targets, both)
            per_target[label] = entry
            for name in RATES:
                if name not in entry:
                    continue
                metrics[f"{name}.{label}"] = entry[name]["rate"]
                metrics[f"{name}_ci_low.{label}"] = entry[name]["ci_low"]
                metrics[f"{name}_ci_high.{label}"] = entry[name]["ci_high"]
                metrics[f"{name}_count.{label}"] = entry[name]["count"]
                metrics[f"{name}_n.{label}"] = entry[name]["n"]
            metrics[f"target_clean_error.{label}"] = entry["clean_error"]
        data_out = {"targets": per_target, "whitebox_success": whitebox,
                    "source_clean_error": metrics["source_clean_error"], "n_points": len(index)}
        return CellResult(metrics=metrics, data=data_out)

    def summarize(  # type: ignore[override]
        self, config: TransferMatrixConfig, results: dict[Cell, CellResult]
    ) -> Summary:
        from .transfer_matrix_report import summarize

        return summarize(config, self.plan(config), results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, TransferMatrix)
