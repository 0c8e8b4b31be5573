"""What a config names: registered plugins with their parameters, and the bases configs share.

Every study config derives from :class:`StudyConfig`; unknown fields are errors. A
:class:`ComponentSpec` names a registered dataset, model or attack and its parameters.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

if TYPE_CHECKING:
    from .data import Dataset


class ComponentSpec(BaseModel):
    """A registered plugin by name, with its parameters (``"mlp"`` alone is accepted too)."""

    model_config = ConfigDict(extra="forbid")
    kind: ClassVar[str] = ""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _default_label(self) -> ComponentSpec:
        if not self.label:
            self.label = self.name
        return self


class DatasetSpec(ComponentSpec):
    kind: ClassVar[str] = "dataset"


class ModelSpec(ComponentSpec):
    kind: ClassVar[str] = "model"


class AttackSpec(ComponentSpec):
    kind: ClassVar[str] = "attack"


class StudyConfig(BaseModel):
    """Base of every study config. Unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")

    study: str
    seed: int = 0


def positive_budgets(values: list[float], field_name: str) -> None:
    """Every budget a positive, finite number; else an error naming the field."""
    if any(not (v > 0 and math.isfinite(v)) for v in values):
        raise ValueError(f"{field_name}: every budget must be a positive number, got {values}")


def unique_labels(specs: list[Any], field_name: str) -> None:
    """No two specs of a list share a label; else an error naming the field."""
    seen: set[str] = set()
    for spec in specs:
        if spec.label in seen:
            raise ValueError(
                f"{field_name}: label {spec.label!r} is used twice; give one of them a 'label'"
            )
        seen.add(spec.label)


class ModelsConfig(StudyConfig):
    """A study over several models on one dataset: optional ``sources`` and ``targets`` (model
    labels; default all), a fixed sample of ``n_points`` test points (``points = "all-correct"``:
    drawn from the test points every model classifies correctly, as transfer benchmarks do), and
    Papernot et al.'s ``disjoint`` protocol (sources and targets trained on disjoint halves of
    the training set)."""

    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    sources: list[str] | None = None
    targets: list[str] | None = None
    n_points: PositiveInt = 300
    points: Literal["all", "all-correct"] = "all"
    disjoint: bool = True

    @model_validator(mode="after")
    def _check_models(self) -> ModelsConfig:
        unique_labels(self.models, "models")
        labels = [m.label for m in self.models]
        for field_name in ("sources", "targets"):
            for label in getattr(self, field_name) or []:
                if label not in labels:
                    raise ValueError(f"{field_name}: {label!r} is not a model label; allowed: "
                                     f"{', '.join(labels)}")
        return self

    def model(self, label: str) -> ModelSpec:
        return next(m for m in self.models if m.label == label)

    def source_labels(self) -> list[str]:
        return self.sources or [m.label for m in self.models]

    def target_labels(self) -> list[str]:
        return self.targets or [m.label for m in self.models]

    def training_sets(self, data: Dataset) -> tuple[Dataset, Dataset]:
        """(what sources train on, what targets train on)."""
        if not self.disjoint:
            return data, data
        return data.half("a", self.seed), data.half("b", self.seed)

    def trained_models(self, data: Dataset) -> list[tuple[ModelSpec, Dataset, int]]:
        """Every source on the sources' training set and every target on the targets', as
        (spec, training set, seed)."""
        sources, targets = self.training_sets(data)
        return ([(self.model(label), sources, self.seed) for label in self.source_labels()]
                + [(self.model(label), targets, self.seed) for label in self.target_labels()])


class AttacksConfig(ModelsConfig):
    """A study that runs a list of attacks at a list of budgets over several models."""

    attacks: list[AttackSpec] = Field(min_length=1)
    eps: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_attacks(self) -> AttacksConfig:
        unique_labels(self.attacks, "attacks")
        positive_budgets(self.eps, "eps")
        return self

    def attack(self, label: str) -> AttackSpec:
        return next(a for a in self.attacks if a.label == label)
