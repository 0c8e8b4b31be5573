"""The manifold study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import DatasetSpec, ModelSpec, StudyConfig, unique_labels

NAME: Final = "manifold"


class ManifoldConfig(StudyConfig):
    """Config of the manifold study (defaults: ``config.toml``)."""

    study: Literal["manifold"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 200
    # the local PCA at each test point: its nearest training points (all classes) and the
    # dimension m of the tangent plane kept
    neighbours: PositiveInt = 20
    dimension: PositiveInt = 8
    # DeepFool (L2, unbounded): full space, restricted to the tangent plane, to a random m-plane
    overshoot: float = Field(0.02, ge=0)
    max_iter: PositiveInt = 50

    @model_validator(mode="after")
    def _check(self) -> ManifoldConfig:
        unique_labels(self.models, "models")
        if self.dimension >= self.neighbours:
            raise ValueError(f"dimension: the local PCA of {self.neighbours} neighbours has at "
                             f"most {self.neighbours - 1} directions; got {self.dimension}")
        return self

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)
