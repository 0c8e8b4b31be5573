"""The noise-error study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import DatasetSpec, ModelSpec, StudyConfig, positive_budgets, unique_labels

NAME: Final = "noise-error"


class NoiseErrorConfig(StudyConfig):
    """Config of the noise-error study (defaults: ``config.toml``)."""

    study: Literal["noise-error"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 200
    # Gaussian noise x + σz, z ~ N(0, I), unclipped, in input units; the grid, smallest first
    sigmas: list[float] = Field(default_factory=lambda: [0.05, 0.1, 0.2, 0.3, 0.5],
                                min_length=1)
    n_noise: PositiveInt = 100
    # the prediction is read at the smallest σ whose noise error is in [min_error, 0.5)
    min_error: float = Field(0.05, gt=0, lt=0.5)
    # DeepFool (L2, unbounded), as the robustness study calls it
    overshoot: float = Field(0.02, ge=0)
    max_iter: PositiveInt = 50

    @model_validator(mode="after")
    def _check(self) -> NoiseErrorConfig:
        unique_labels(self.models, "models")
        positive_budgets(self.sigmas, "sigmas")
        if any(a >= b for a, b in zip(self.sigmas, self.sigmas[1:], strict=False)):
            raise ValueError(f"sigmas: list them smallest first, each once, got {self.sigmas}")
        return self

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)

    @property
    def middle_sigma(self) -> float:
        """The middle σ of the grid (the upper middle of an even grid): where the models'
        noise errors are compared."""
        return self.sigmas[len(self.sigmas) // 2]
