"""The study contract: a pydantic config, a plan of independent cells, one run per cell, a summary.

A :class:`Cell` is plain hashable data with a stable key, so it can be resumed, shipped to another
process or machine, and found again in MLflow.
"""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .context import Context
    from .data import Dataset


def stable_hash(value: Any, length: int = 16) -> str:
    """A short sha256 of a JSON-able value; equal values give equal hashes across machines."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Cell:
    """One independent unit of a study: its name and plain parameters (names, numbers, seeds)."""

    study: str
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def make(cls, study: str, **params: Any) -> Cell:
        return cls(study, tuple(sorted((k, _freeze(v)) for k, v in params.items())))

    def __getitem__(self, name: str) -> Any:
        return dict(self.params)[name]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def key(self) -> str:
        return stable_hash([self.study, self.params])

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params)


@dataclass
class CellResult:
    """What a cell produced: metrics for MLflow, JSON-able ``data`` for the summary.

    ``series`` are metrics along a step (e.g. k, eps index): ``{name: [[step, value], ...]}``,
    which MLflow draws as curves. ``status`` is ``"ok"`` or ``"n/a"`` (an impossible pairing,
    explained by ``reason``).
    """

    metrics: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    reason: str = ""
    series: dict[str, list[list[float]]] = field(default_factory=dict)

    @classmethod
    def not_applicable(cls, reason: str) -> CellResult:
        return cls(status="n/a", reason=reason)

    def to_json(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "data": self.data, "status": self.status,
                "reason": self.reason, "series": self.series}

    @classmethod
    def from_json(cls, blob: dict[str, Any]) -> CellResult:
        return cls(**blob)


@dataclass
class Table:
    """A summary table: named columns of equal length."""

    columns: dict[str, list[Any]]
    title: str = ""


@dataclass
class Summary:
    """What a study's summary logs to the parent run and prints on the terminal."""

    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    terminal: list[Table] = field(default_factory=list)


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


class ModelsConfig(StudyConfig):
    """A study over several models on one dataset: optional ``sources`` and ``targets`` (model
    labels; default all), a fixed sample of ``n_points`` test points, and Papernot et al.'s
    ``disjoint`` protocol (sources and targets trained on disjoint halves of the training set)."""

    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    sources: list[str] | None = None
    targets: list[str] | None = None
    n_points: PositiveInt = 300
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


def unique_labels(specs: list[ComponentSpec], field_name: str) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.label in seen:
            raise ValueError(
                f"{field_name}: label {spec.label!r} is used twice; give one of them a 'label'"
            )
        seen.add(spec.label)


class Study(ABC):
    """Base of every study. Subclasses set ``Config`` and ``default_config`` (a TOML file)."""

    Config: ClassVar[type[StudyConfig]] = StudyConfig
    default_config: ClassVar[Path | None] = None

    def validate(self, config: StudyConfig, ctx: Context) -> None:
        """Checks that need the plugins (e.g. model capabilities); raise ``ValueError`` with a
        message naming the field. Runs before any cell."""
        return None

    @abstractmethod
    def plan(self, config: StudyConfig) -> list[Cell]:
        """The independent cells of this study, in a stable order."""

    @abstractmethod
    def run(self, cell: Cell, ctx: Context) -> CellResult:
        """Compute one cell. ``ctx.config`` is the validated config."""

    @abstractmethod
    def summarize(self, config: StudyConfig, results: dict[Cell, CellResult]) -> Summary:
        """Tables, figures and headline metrics over every finished cell."""
