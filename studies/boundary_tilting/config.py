"""The boundary-tilting study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import DatasetSpec, ModelSpec, StudyConfig

NAME: Final = "boundary-tilting"


class BoundaryTiltingConfig(StudyConfig):
    """Config of the boundary-tilting study (defaults: ``config.toml``)."""

    study: Literal["boundary-tilting"] = NAME
    # digits split half and half: the 3s and 7s give ~180 test points (the default quarter: ~90)
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(
        name="digits", params={"test_fraction": 0.5}))
    classes: list[int] = Field(default_factory=lambda: [3, 7], min_length=2, max_length=2)
    model: ModelSpec = Field(default_factory=lambda: ModelSpec(name="logreg"))
    param: str = "C"  # the model parameter swept: its L2 regularisation
    values: list[float] = Field(
        default_factory=lambda: [0.0001, 0.001, 0.01, 0.1, 1.0, 10.0, 100.0], min_length=2)
    # which end of ``values`` regularises more: "smaller" for an inverse penalty (C),
    # "larger" for a penalty (weight_decay)
    stronger: Literal["smaller", "larger"] = "smaller"
    n_points: PositiveInt | None = None  # None: every test point of the two classes

    @model_validator(mode="after")
    def _check(self) -> BoundaryTiltingConfig:
        if self.classes[0] == self.classes[1] or min(self.classes) < 0:
            raise ValueError(f"classes: two different class indices, not {self.classes}")
        if any(v <= 0 for v in self.values):
            raise ValueError(f"values: every value must be positive (a log axis), not "
                             f"{self.values}")
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"values: each value once, not {self.values}")
        if self.param in self.model.params:
            raise ValueError(f"model.params.{self.param}: the study sweeps {self.param} "
                             "through values; leave it out of the model's parameters")
        return self

    def swept(self, value: float) -> ModelSpec:
        """The model at one value of the sweep."""
        return ModelSpec(name=self.model.name, params={**self.model.params, self.param: value},
                         label=f"{self.model.label} {self.param}={value:g}")

    def by_strength(self, values: list[float]) -> list[float]:
        """``values`` from the strongest regularisation to the weakest."""
        return sorted(values, reverse=self.stronger == "larger")
