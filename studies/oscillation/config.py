"""The oscillation study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import (
    FOREST,
    GRADIENTS,
    NEIGHBORS,
    TREE,
    DatasetSpec,
    ModelSpec,
    StudyConfig,
    unique_labels,
)

from .distances import Search

NAME: Final = "oscillation"


ALL: Final = "all"


Size = PositiveInt | Literal["all"]


MEASURABLE: Final = frozenset({GRADIENTS, NEIGHBORS, TREE, FOREST})  # logits or predict_proba


class OscillationConfig(StudyConfig):
    """Config of the oscillation study (defaults: ``config.toml``)."""

    study: Literal["oscillation"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    sizes: list[Size] = Field(default_factory=lambda: list[Size]([100, 200, 400, 800, ALL]),
                              min_length=1)
    label_noise: float = Field(0.1, ge=0, lt=1)
    control: bool = True  # label-noise-0 cells at the smallest and the largest size
    n_points: PositiveInt = 100
    n_noise: PositiveInt = 50
    candidates: PositiveInt = 2
    confidence: float = Field(0.5, ge=0.5, lt=1)
    budget: float = Field(0.25, gt=0)
    overshoot: float = Field(0.02, ge=0)
    max_iter: PositiveInt = 50

    @model_validator(mode="after")
    def _check(self) -> OscillationConfig:
        unique_labels(self.models, "models")
        numbers = [s for s in self.sizes if s != ALL]
        if numbers != sorted(set(numbers)) or self.sizes.count(ALL) > 1 or (
                ALL in self.sizes and self.sizes[-1] != ALL):
            raise ValueError(f"sizes: distinct training-set sizes in increasing order, \"all\" "
                             f"(the whole training set) at most once and last; got {self.sizes}")
        return self

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)

    def control_sizes(self) -> list[Size]:
        """The sizes of the label-noise-0 control: the smallest and the largest, when the
        control is on, the labels carry noise (else it would repeat the cells) and there are
        two sizes to compare."""
        if not self.control or self.label_noise == 0 or len(self.sizes) < 2:
            return []
        return [self.sizes[0], self.sizes[-1]]

    def search(self) -> Search:
        return Search(count=self.candidates, confidence=self.confidence,
                      overshoot=self.overshoot, max_iter=self.max_iter)
