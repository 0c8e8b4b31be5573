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
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from transfer import (
    Cell,
    CellResult,
    Context,
    DatasetSpec,
    ModelSpec,
    NotApplicable,
    Registry,
    Study,
    StudyConfig,
    Summary,
    hookimpl,
    positive_budgets,
    require_gradients,
    unique_labels,
)

from .claims import CLAIMS
from .real import RealPart, measure_real
from .synthetic import SyntheticPart, measure

NAME: Final = "concentration"
KINDS: Final = ("spheres", "gaussian")


class SyntheticData(BaseModel):
    """A synthetic dataset swept over ``dims``: its ``dim`` parameter is set per cell, and with
    ``samples_per_dim`` its ``n_samples`` too (round(samples_per_dim·d): keeps the error rates of
    the models comparable across d)."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetSpec
    dims: list[PositiveInt] = Field(min_length=1)
    samples_per_dim: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> SyntheticData:
        if self.dataset.name not in KINDS:
            raise ValueError(f"dataset.name: {self.dataset.name!r} has no isoperimetric bound "
                             f"here; allowed: {', '.join(KINDS)}")
        if "dim" in self.dataset.params:
            raise ValueError("dataset.params.dim: set by dims, one cell per value")
        if self.samples_per_dim is not None and "n_samples" in self.dataset.params:
            raise ValueError("dataset.params.n_samples: set by samples_per_dim; give one of them")
        if len(set(self.dims)) != len(self.dims):
            raise ValueError(f"dims: every dimension once, got {self.dims}")
        if self.dataset.name == "spheres" and min(self.dims) < 2:
            raise ValueError(f"dims: a sphere needs d >= 2, got {self.dims}")
        return self

    @property
    def label(self) -> str:
        return self.dataset.label

    @property
    def n_classes(self) -> int:
        return 2 if self.dataset.name == "spheres" else int(self.dataset.params.get("n_classes", 2))

    def spec(self, d: int) -> DatasetSpec:
        """The dataset of dimension d."""
        params: dict[str, Any] = {**self.dataset.params, "dim": d}
        if self.samples_per_dim is not None:
            params["n_samples"] = max(round(self.samples_per_dim * d), 4 * self.n_classes)
        return DatasetSpec(name=self.dataset.name, label=self.dataset.label, params=params)


class ConcentrationConfig(StudyConfig):
    """Config of the concentration study (defaults: ``concentration.toml``)."""

    study: Literal["concentration"] = NAME
    # 1. synthetic dimension sweep
    synthetic: list[SyntheticData] = Field(default_factory=list)
    synthetic_model: ModelSpec = Field(default_factory=lambda: ModelSpec(name="mlp"))
    class_index: NonNegativeInt = 0
    n_fresh: PositiveInt = 10_000
    n_points: PositiveInt = 300
    overshoot: float = Field(0.02, ge=0)
    max_iter: PositiveInt = 50
    # 2. real data: empirical concentration vs the models' adversarial risk
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(default_factory=list)
    norm: Literal["l2", "linf"] = "l2"
    eps: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0])
    pgd_steps: PositiveInt = 20
    balls: PositiveInt = 5
    overcover: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0, 4.0],
                                   min_length=1)
    calibration: float = Field(0.25, ge=0, lt=1)
    centres: PositiveInt | None = None
    max_train: PositiveInt = 3000
    n_test: PositiveInt | None = None

    @model_validator(mode="after")
    def _check(self) -> ConcentrationConfig:
        unique_labels([s.dataset for s in self.synthetic], "synthetic")
        unique_labels(self.models, "models")
        positive_budgets(self.eps, "eps")
        if not self.synthetic and not self.models:
            raise ValueError("synthetic and models: give at least one synthetic dataset or one "
                             "real-data model")
        if any(not 0 <= v < 1e6 for v in self.overcover) or self.overcover != sorted(
                self.overcover):
            raise ValueError(f"overcover: increasing values >= 0, got {self.overcover}")
        if self.n_points > self.n_fresh:
            raise ValueError(f"n_points: at most n_fresh ({self.n_fresh}), got {self.n_points}")
        for i, entry in enumerate(self.synthetic):
            if self.class_index >= entry.n_classes:
                raise ValueError(f"class_index: {self.class_index} is not a class of "
                                 f"synthetic.{i} ({entry.label}, {entry.n_classes} classes)")
        return self

    def entry(self, label: str) -> SyntheticData:
        return next(s for s in self.synthetic if s.label == label)

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)


class ConcentrationResult(CellResult):
    """A ``synthetic`` cell (``synthetic``) or a ``real`` cell (``real``)."""

    synthetic: SyntheticPart | None = None
    real: RealPart | None = None

    def metrics(self) -> dict[str, float]:
        part = self.synthetic or self.real
        return part.metrics() if part is not None else {}


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
