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
A minimal attack (``Attack.minimal``: tree, forest, neighbors, DeepFool, ...) moves each point
only as far as it needs, far less than noise at eps: every target also classifies the points
moved by a random direction of the same L2 size, point by point (``matched_noise``).

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default ``config.toml``.
Claims, report and headlines read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    Cell,
    Context,
    Model,
    NotApplicable,
    Rate,
    Study,
    Summary,
    hookimpl,
    perturbation_norm,
    point_outcomes,
    same_size_noise,
)

from .claims import CLAIMS
from .config import NAME, TransferMatrixConfig
from .result import TargetOutcome, TransferMatrixResult


class TransferMatrix(Study[TransferMatrixConfig, TransferMatrixResult]):
    """Cross-model transfer matrix: one adversarial batch per (source, attack, eps)."""

    about = (
        "Do adversarial examples crafted on one model fool other models, across model families? "
        "Following Papernot et al. (2016) and Szegedy et al. (2013), each heatmap shows, for one "
        "attack and eps, the share of points both models classify correctly that the target "
        "misclassifies after the source's attack (rows: sources, columns: targets; grey: n/a); "
        "compare it with the `noise` attack's heatmap, the random-noise control."
    )

    Config = TransferMatrixConfig
    Result = TransferMatrixResult
    default_config = Path(__file__).with_name("config.toml")
    claims = CLAIMS
    theory = "Transferability"
    result_format = 2  # 2: each target's per-point outcomes (claims pool by test point)

    def __init__(self) -> None:
        self._drawn: dict[str, tuple[list[Any], Any]] = {}  # figure -> (its cells' results, it)

    def plan(self, config: TransferMatrixConfig) -> list[Cell]:
        return [
            Cell.make(NAME, source=source, attack=attack.label, eps=eps)
            for source in config.source_labels()
            for attack in config.attacks
            for eps in config.eps
        ]

    def run(
        self, cell: Cell, ctx: Context[TransferMatrixConfig]
    ) -> TransferMatrixResult | NotApplicable:
        config = ctx.config
        attack = ctx.attack(config.attack(cell["attack"]))
        source_spec = config.model(cell["source"])
        reason = attack.supports(ctx.traits(source_spec))
        if reason:
            return NotApplicable(reason=reason)
        data = ctx.dataset(config.dataset)
        source_data, target_data = config.training_sets(data)
        source = ctx.model(source_spec, source_data, config.seed)

        index = ctx.evaluation_index(data)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        if attack.learns:  # e.g. a universal perturbation, learnt on the source's training set
            attack.learn(source, source_data.x_train.to(ctx.device),
                         source_data.y_train.to(ctx.device), cell["eps"], bounds=data.bounds,
                         seed=config.seed)
        crafted = attack.with_targets(source, x, y, cell["eps"], bounds=data.bounds,
                                      seed=config.seed, targets=data.targets_of(index))
        x_adv = crafted.x_adv
        source_right = source.predict(x) == y
        source_fooled = source.predict(x_adv) != y
        delta = x_adv - x
        # a minimal attack's control: per point, a random direction of its own L2 size
        x_noise = (same_size_noise(x, delta, data.bounds, ctx.generator(config.seed))
                   if attack.minimal else None)
        targets: dict[str, TargetOutcome] = {}
        points = (data.fingerprint, tuple(index.tolist()))  # clean predictions serve every cell
        for label in config.target_labels():
            target = ctx.model(config.model(label), target_data, config.seed)
            target_right = ctx.remember(("clean", label, points), _correct(target, x, y))
            predicted = target.predict(x_adv)
            target_fooled = predicted != y
            both = source_right & target_right
            noise_fooled = None if x_noise is None else target.predict(x_noise) != y
            targets[label] = TargetOutcome(
                transfer_rate=Rate.of(target_fooled, both),
                target_error=Rate.of(target_fooled, torch.ones_like(both)),
                conditional_transfer=Rate.of(target_fooled, both & source_fooled),
                targeted_success=(None if crafted.targets is None
                                  else Rate.of(predicted == crafted.targets, both)),
                clean_error=1 - target_right.float().mean().item(),
                transferred=point_outcomes(target_fooled.cpu(), both.cpu()),
                matched_noise=None if noise_fooled is None else Rate.of(noise_fooled, both),
                matched_transferred=("" if noise_fooled is None
                                     else point_outcomes(noise_fooled.cpu(), both.cpu())),
            )
        return TransferMatrixResult(
            source_clean_error=1 - source_right.float().mean().item(),
            perturbation_linf=perturbation_norm(delta, "linf").mean().item(),
            perturbation_l2=perturbation_norm(delta, "l2").mean().item(),
            matched_noise_l2=(None if x_noise is None
                              else perturbation_norm(x_noise - x, "l2").mean().item()),
            whitebox_success=Rate.of(source_fooled, source_right),
            attack_measures=crafted.measures,
            n_points=len(index),
            targets=targets,
            perturbation=(None if crafted.perturbation is None
                          else crafted.perturbation.flatten().tolist()),
            perturbation_shape=list(x.shape[1:]),
        )

    def summarize(
        self,
        config: TransferMatrixConfig,
        results: Mapping[Cell, TransferMatrixResult | NotApplicable],
    ) -> Summary:
        from .report import summarize

        return summarize(config, self.plan(config), results,
                         lambda name: self.figure(config, name, results))

    def early_figures(self, config: TransferMatrixConfig) -> dict[str, list[Cell]]:
        """An attack's heatmaps need only its cells."""
        cells = self.plan(config)
        return {f"heatmap_{attack.label}": [c for c in cells if c["attack"] == attack.label]
                for attack in config.attacks}

    def figure(self, config: TransferMatrixConfig, name: str,
               results: Mapping[Cell, TransferMatrixResult | NotApplicable]) -> Any:
        """The heatmaps of one attack; drawn once for the same results of its cells (the
        runner's early figure is the summary's)."""
        from .report import attack_figure, matrices_of

        cells = self.early_figures(config)[name]
        shown = [results.get(cell) for cell in cells]
        drawn = self._drawn.get(name)
        if drawn is None or any(a is not b for a, b in zip(drawn[0], shown, strict=True)):
            attack = cells[0]["attack"]
            drawn = self._drawn[name] = (shown, attack_figure(
                config, attack, *matrices_of(config, cells, results)))
        return drawn[1]


def _correct(model: Model, x: torch.Tensor, y: torch.Tensor) -> Callable[[], torch.Tensor]:
    return lambda: model.predict(x) == y


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, TransferMatrix)
