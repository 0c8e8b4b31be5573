"""The concentration study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from transfer import DatasetSpec, ModelSpec, StudyConfig, positive_budgets, unique_labels

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
    """Config of the concentration study (defaults: ``config.toml``)."""

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
