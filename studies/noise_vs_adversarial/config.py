"""The noise-vs-adversarial study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import AttackSpec, DatasetSpec, ModelSpec, StudyConfig, unique_labels

NAME: Final = "noise-vs-adversarial"


class NoiseVsAdversarialConfig(StudyConfig):
    """Config of the noise-vs-adversarial study (defaults: ``config.toml``)."""

    study: Literal["noise-vs-adversarial"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 100
    # 1. curves
    eps_max: float = Field(0.5, gt=0)
    eps_steps: PositiveInt = 41
    n_random: PositiveInt = 3
    plot_points: PositiveInt = 3
    # 2. minimal-norm ratio
    subspace_dims: list[PositiveInt] = Field(default_factory=lambda: [1, 4, 16])
    # 3. dimension sweep
    sweep_models: list[ModelSpec] = Field(default_factory=list)
    sweep_datasets: list[DatasetSpec] = Field(default_factory=list)
    sweep_eps: float = Field(0.1, gt=0)
    sweep_attack: AttackSpec = Field(default_factory=lambda: AttackSpec(name="fgsm",
                                                                         params={"clip": False}))

    @model_validator(mode="after")
    def _check(self) -> NoiseVsAdversarialConfig:
        unique_labels(self.models, "models")
        unique_labels(self.sweep_models, "sweep_models")
        if self.eps_steps < 3:
            raise ValueError("eps_steps: a curve needs at least 3 points")
        return self
