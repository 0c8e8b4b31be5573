"""Concentration of measure (Gilmer et al. 2018, "Adversarial spheres"; Mahloujifar et al. 2019,
"The curse of concentration in robust learning" and "Empirically measuring concentration:
fundamental limits on intrinsic robustness"): in high dimension, any error set of measure μ lies
close to most points, so a classifier with error rate μ has nearby errors whatever it learns.

Two kinds of cells:

1. ``synthetic``, one per (synthetic dataset, d): a model (``synthetic_model``) trained on the
   ``spheres`` or ``gaussian`` data of dimension d; for one class (``class_index``; 0 is the inner
   sphere), μ = the model's error rate on ``n_fresh`` fresh samples of that class's distribution,
   the measured mean distance from ``n_points`` of them to the nearest error (0 for errors; on the
   sphere measured ON the sphere, for the Gaussian in the ambient space), and the isoperimetric
   bound for that μ: no error set of measure μ can be farther on average (the cap, the
   half-space; ``bounds``). Both relative to the typical norm (r, or √d).
2. ``real``, one per (model, eps) on ``dataset`` (digits by default): the empirical concentration
   of Mahloujifar et al. (``cover``) for the model's held-out error α, next to the
   model's PGD adversarial risk at eps (``real``).

This package: the study below, ``config`` (the config), ``result`` (the typed cell result),
``claims`` (the claims), ``report`` (the summary tables and figures), the default ``config.toml``;
its own mathematics and data: ``bounds``, ``cover``, ``real``, ``sphere``, ``synthetic``. Claims,
report and headlines read ``result`` and ``config``, never this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transfer import (
    Cell,
    Context,
    NotApplicable,
    Registry,
    Study,
    Summary,
    hookimpl,
    require_gradients,
)

from .claims import CLAIMS
from .config import NAME, ConcentrationConfig
from .real import measure_real
from .result import ConcentrationResult
from .synthetic import measure


class Concentration(Study[ConcentrationConfig, ConcentrationResult]):
    """Distance to the nearest error vs the isoperimetric bound; empirical concentration."""

    about = (
        "Are adversarial examples inevitable because high-dimensional data are concentrated "
        "(Gilmer et al. 2018; Mahloujifar et al. 2019)? On concentric spheres and Gaussian "
        "classes, for models trained at growing dimension d: the measured mean distance from a "
        "class's points to the model's nearest error, next to the isoperimetric bound for the "
        "model's error rate μ on that class (the largest mean distance ANY error set of measure "
        "μ can have: a spherical cap, a half-space), both relative to the typical norm of a "
        "point. The key figure plots them against d (log-log): the bound falls like 1/√d, and a "
        "model near the bound is as robust as its error rate allows. On digits, the empirical "
        "concentration (a union of balls covering the model's error rate α whose ε-expansion "
        "is smallest: a lower bound on the adversarial risk of any classifier with error α) "
        "against the model's PGD adversarial risk: a gap means concentration alone does not "
        "explain the vulnerability."
    )

    Config = ConcentrationConfig
    Result = ConcentrationResult
    claims = CLAIMS
    theory = "Concentration of measure"
    default_config = Path(__file__).with_name("config.toml")

    def validate(self, config: ConcentrationConfig, registry: Registry) -> None:
        named = [("synthetic_model", config.synthetic_model)] if config.synthetic else []
        named += [(f"models.{i}", spec) for i, spec in enumerate(config.models)]
        require_gradients(registry, named,
                          "this study searches for the nearest error with gradients")

    def plan(self, config: ConcentrationConfig) -> list[Cell]:
        cells = [Cell.make(NAME, part="synthetic", data=s.label, dim=d)
                 for s in config.synthetic for d in s.dims]
        cells += [Cell.make(NAME, part="real", model=m.label, eps=e)
                  for m in config.models for e in config.eps]
        return cells

    def run(self, cell: Cell, ctx: Context[ConcentrationConfig]
            ) -> ConcentrationResult | NotApplicable:
        config = ctx.config
        if cell["part"] == "real":
            return ConcentrationResult(real=measure_real(ctx, config.model(cell["model"]),
                                                         cell["eps"]))
        entry = config.entry(cell["data"])
        data = ctx.dataset(entry.spec(cell["dim"]))
        model = ctx.model(config.synthetic_model, data, config.seed)
        return ConcentrationResult(synthetic=measure(
            entry.dataset.name, model, data, class_index=config.class_index,
            n_fresh=config.n_fresh, n_points=config.n_points, overshoot=config.overshoot,
            max_iter=config.max_iter, device=ctx.device, generator=ctx.generator(config.seed)))

    def summarize(self, config: ConcentrationConfig,
                  results: Mapping[Cell, ConcentrationResult | NotApplicable]) -> Summary:
        from .report import summarize

        return summarize(config, results)


@hookimpl
def register_studies(register: Any) -> None:
    register(NAME, Concentration)
