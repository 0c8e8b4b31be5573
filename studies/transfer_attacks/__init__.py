"""The transfer attacks the field compares, in TransferAttack's protocol (Wang et al.'s collection:
sources × attacks × targets on the points every model classifies correctly, L-inf eps, 10 steps of
eps/10, decay 1.0; untargeted and targeted).

For every source s, attack a, mode m (``"none"``: untargeted; else a ``target`` rule) and eps, one
adversarial batch is crafted on s and every target classifies it. Per test point the cell keeps
whether each model was fooled (untargeted: the label changed; targeted: the target class was
predicted), so the attack success rate on each target is a share with its 95% Wilson interval
and two attacks compare point by point. Each attack's cost is counted (forward passes per point
through the source: one per gradient) and timed. The ``noise`` attack at the same eps is the
control row.

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default ``config.toml``.
Claims and report read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from transfer import (
    AttackSpec,
    Cell,
    Context,
    Model,
    NotApplicable,
    Study,
    Summary,
    hookimpl,
)

from .claims import CLAIMS
from .config import NAME, TransferAttacksConfig
from .result import TransferAttacksResult


class TransferAttacks(Study[TransferAttacksConfig, TransferAttacksResult]):
    """Sources × transfer attacks × targets: success rates, their cost, the papers' claims."""

    about = (
        "Which transfer attack fools the most targets from each source, at what cost? In "
        "TransferAttack's protocol (points every model classifies correctly, L-inf eps, 10 steps "
        "of eps/10), each heatmap shows, for one source and mode, the attack success rate on "
        "every target (rows: attacks, columns: targets; the `noise` row is the control). The "
        "claims compare attacks point by point: momentum (Dong et al. 2018), input diversity "
        "(Xie et al. 2019), translation invariance (Dong et al. 2019), skip gradients (Wu et al. "
        "2020) and iterative vs single-step attacks (Kurakin et al. 2017)."
    )

    Config = TransferAttacksConfig
    Result = TransferAttacksResult
    default_config = Path(__file__).with_name("config.toml")
    claims = CLAIMS
    theory = "Transferability"

    def plan(self, config: TransferAttacksConfig) -> list[Cell]:
        return [
            Cell.make(NAME, source=source, attack=attack.label, mode=mode, eps=eps)
            for source in config.source_labels()
            for mode in config.modes
            for attack in config.attacks
            for eps in config.eps
        ]

    def run(self, cell: Cell, ctx: Context[TransferAttacksConfig]
            ) -> TransferAttacksResult | NotApplicable:
        config = ctx.config
        spec = config.attack(cell["attack"])
        if cell["mode"] != "none":
            spec = AttackSpec(name=spec.name, params={**spec.params, "target": cell["mode"]},
                              label=spec.label)
        try:
            attack = ctx.attack(spec)
        except TypeError as error:  # no ``target`` parameter: the paper's attack is untargeted
            if "target" not in str(error):
                raise
            return NotApplicable(reason=f"{spec.name} is untargeted (it has no target rule)")
        source_spec = config.model(cell["source"])
        reason = attack.supports(ctx.traits(source_spec))
        if reason:
            return NotApplicable(reason=reason)
        data = ctx.dataset(config.dataset)
        source_data, target_data = config.training_sets(data)
        source = ctx.model(source_spec, source_data, config.seed)
        index = ctx.evaluation_index(data)
        x, y = data.x_test[index].to(ctx.device), data.y_test[index].to(ctx.device)
        with _ForwardPasses(source) as passes:
            started = time.perf_counter()
            crafted = attack.with_targets(source, x, y, cell["eps"], bounds=data.bounds,
                                          seed=config.seed, targets=data.targets_of(index))
            seconds = time.perf_counter() - started

        def fooled(model: Model) -> torch.Tensor:
            predicted = model.predict(crafted.x_adv)
            return (predicted != y if crafted.targets is None
                    else predicted == crafted.targets.to(predicted.device)).cpu()

        targets = {label: TransferAttacksResult.flags(fooled(
            ctx.model(config.model(label), target_data, config.seed)))
            for label in config.target_labels()}
        return TransferAttacksResult(
            n_points=len(index), whitebox=TransferAttacksResult.flags(fooled(source)),
            targets=targets, passes_per_point=passes[0] / len(index), seconds=seconds,
            attack_measures=crafted.measures)

    def summarize(self, config: TransferAttacksConfig,
                  results: Mapping[Cell, TransferAttacksResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, self.plan(config), results)


class _ForwardPasses:
    """Counts the points that pass forward through the source's torch module (``[count]``)."""

    def __init__(self, model: Model) -> None:
        self.module = model.torch_module
        self.count = [0.0]
        self.handle: Any = None

    def __enter__(self) -> list[float]:
        if self.module is None:
            self.count[0] = float("nan")
        else:
            def count(_: Any, inputs: Any) -> None:
                self.count[0] += len(inputs[0])

            self.handle = self.module.register_forward_pre_hook(count)
        return self.count

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            self.handle.remove()


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, TransferAttacks)
