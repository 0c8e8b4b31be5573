"""The spectral-alignment study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import AttackSpec, DatasetSpec, ModelSpec, StudyConfig, unique_labels

NAME: Final = "spectral-alignment"


KINDS: Final = ("deepfool", "pgd", "random", "random-row-space")


class SpectralAlignmentConfig(StudyConfig):
    """Config of the spectral-alignment study (defaults: ``config.toml``)."""

    study: Literal["spectral-alignment"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 200
    pgd: AttackSpec = Field(default_factory=lambda: AttackSpec(
        name="pgd", params={"norm": "l2", "steps": 10}))
    pgd_eps: float = Field(1.0, gt=0)
    overshoot: float = Field(0.02, ge=0)
    max_first_layer_inputs: PositiveInt = 4096

    @model_validator(mode="after")
    def _check(self) -> SpectralAlignmentConfig:
        unique_labels(self.models, "models")
        return self

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)
