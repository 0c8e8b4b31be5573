"""The lipschitz study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import Field, PositiveInt

from transfer import DatasetSpec, ModelSpec, StudyConfig, unique_labels

NAME: Final = "lipschitz"


class LipschitzConfig(StudyConfig):
    """Config of the lipschitz study (defaults: ``config.toml`` beside this file)."""

    study: Literal["lipschitz"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 100
    pgd_eps: float = Field(1.0, gt=0)
    pgd_steps: PositiveInt = 10
    power_iterations: PositiveInt = 2000
    clever_points: PositiveInt = 20
    clever_batches: PositiveInt = 20
    clever_batch_size: PositiveInt = 64
    clever_radius: float = Field(0.5, gt=0)

    def model_post_init(self, context: Any) -> None:
        unique_labels(self.models, "models")
