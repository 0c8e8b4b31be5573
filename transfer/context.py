"""What a cell gets to work with: the registry, the device, seeded generators and the model cache.

A model with the same family, parameters, dataset and seed is trained once, ever: trained weights
are kept under ``TRANSFER_CACHE_DIR`` (default ``~/.cache/transfer``), torch state dicts loaded with
``weights_only=True`` and scikit-learn estimators through skops, never pickle.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from .attacks import Attack
from .data import Dataset
from .models import Model
from .registry import Registry
from .study import AttackSpec, ComponentSpec, DatasetSpec, ModelSpec, StudyConfig, stable_hash

CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    configured = os.environ.get("TRANSFER_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "transfer"


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA device here")
    return torch.device(device)


def accepted_parameters(factory: Any) -> set[str] | None:
    """The keyword parameters a factory accepts, following ``**params`` up to the contract base;
    ``None`` when it accepts anything."""
    bound: set[str] = set()
    if isinstance(factory, functools.partial):
        bound = set(factory.keywords)
        positional = len(factory.args)
        factory = factory.func
    else:
        positional = 0
    functions = (
        [(c, vars(c)["__init__"]) for c in factory.__mro__ if "__init__" in vars(c)]
        if isinstance(factory, type)
        else [(None, factory)]
    )
    names: set[str] = set()
    for owner, function in functions:
        if owner in (Model, Attack):
            return names - bound
        parameters = [p for p in inspect.signature(function).parameters.values()
                      if p.name != "self"]
        if owner is factory or owner is None:  # arguments a partial fills are not parameters
            parameters = parameters[positional:]
        names |= {p.name for p in parameters
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names - bound
    return None


def instantiate(registry: Registry, spec: ComponentSpec) -> Any:
    """Build a registered plugin from its spec; an unknown parameter names the allowed ones."""
    factory = registry.get(spec.kind, spec.name)
    allowed = accepted_parameters(factory)
    unknown = sorted(set(spec.params) - allowed) if allowed is not None else []
    if unknown:
        raise ValueError(
            f"{spec.kind} {spec.name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(allowed or ())) or 'none'}"
        )
    return factory(**spec.params)


def component_specs(config: Any) -> list[ComponentSpec]:
    """Every dataset/model/attack spec inside a config, however deeply nested."""
    if isinstance(config, ComponentSpec):
        return [config]
    if isinstance(config, StudyConfig) or hasattr(config, "model_fields"):
        fields = type(config).model_fields
        return [s for name in fields for s in component_specs(getattr(config, name))]
    if isinstance(config, list | tuple):
        return [s for item in config for s in component_specs(item)]
    if isinstance(config, dict):
        return [s for item in config.values() for s in component_specs(item)]
    return []


def validate_components(registry: Registry, config: StudyConfig) -> None:
    """Fail before any work when a config names an unknown plugin or parameter."""
    for spec in component_specs(config):
        instantiate(registry, spec)


@dataclass
class ModelRecord:
    """One trained model: where its weights are and how well it does on clean test data."""

    key: str
    family: str
    params: dict[str, Any]
    dataset: dict[str, Any]
    seed: int
    clean_accuracy: float
    path: str


class ModelCache:
    """Trained models on disk (and in memory for this process), keyed by what determines them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._memory: dict[str, tuple[Model, ModelRecord]] = {}

    @staticmethod
    def key(family: str, params: dict[str, Any], dataset: Dataset, seed: int) -> str:
        return stable_hash([CACHE_FORMAT, family, params, dataset.spec, seed], length=20)

    def get(
        self, spec: ModelSpec, model: Model, dataset: Dataset, seed: int, device: torch.device
    ) -> tuple[Model, ModelRecord]:
        key = self.key(spec.name, model.params, dataset, seed)
        if key in self._memory:
            return self._memory[key]
        folder = self.root / "models" / key
        meta_file = folder / "record.json"
        if meta_file.exists():
            record = ModelRecord(**json.loads(meta_file.read_text()))
            model.to(device)
            model.load(folder)
        else:
            model.to(device)
            model.fit(dataset, seed)
            with torch.no_grad():
                accuracy = (model.predict(dataset.x_test) == dataset.y_test.to(device)).float()
            record = ModelRecord(
                key, spec.name, model.params, dataset.spec, seed, accuracy.mean().item(),
                str(folder),
            )
            self._write(folder, model, record)
        self._memory[key] = (model, record)
        return model, record

    def _write(self, folder: Path, model: Model, record: ModelRecord) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
        try:
            model.save(staging)
            (staging / "record.json").write_text(json.dumps(asdict(record), default=str))
            os.replace(staging, folder)
        except OSError:
            if not (folder / "record.json").exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class Context:
    """Handed to ``Study.run``: the validated config, the registry, the device, the model cache."""

    def __init__(
        self, registry: Registry, config: StudyConfig, device: torch.device, cache: ModelCache
    ) -> None:
        self.registry = registry
        self.config = config
        self.device = device
        self.cache = cache
        self.models_used: dict[str, ModelRecord] = {}
        self._datasets: dict[str, Dataset] = {}
        self._memo: dict[Any, Any] = {}

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per process for each key (e.g. an adversarial batch that several
        cells reuse); later calls return the stored value."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def dataset(self, spec: DatasetSpec) -> Dataset:
        key = stable_hash(spec.model_dump())
        if key not in self._datasets:
            self._datasets[key] = instantiate(self.registry, spec)
        return self._datasets[key]

    def unfitted_model(self, spec: ModelSpec) -> Model:
        return instantiate(self.registry, spec)

    def model(self, spec: ModelSpec, dataset: Dataset, seed: int) -> Model:
        """The trained model (from the cache, or trained now and cached)."""
        model, record = self.cache.get(spec, self.unfitted_model(spec), dataset, seed, self.device)
        self.models_used[record.key] = record
        return model

    def attack(self, spec: AttackSpec) -> Attack:
        return instantiate(self.registry, spec)

    def generator(self, seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)
