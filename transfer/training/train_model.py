"""A trained model outside any study (tests, benchmarks, notebooks), through the same cache as
the studies."""

from __future__ import annotations

from ..contracts.context import Context
from ..contracts.data import Dataset
from ..contracts.models import Model
from ..contracts.specs import ModelSpec, StudyConfig
from ..contracts.validation import check_parameters
from ..mathematics.device import resolve_device
from ..plugging.plugin_manager import load_registry
from ..plugging.registry import Registry
from .model_cache import ModelCache


def train_model(
    spec: ModelSpec | str,
    dataset: Dataset,
    *,
    seed: int = 0,
    registry: Registry | None = None,
    cache_dir: str | None = None,
    device: str = "auto",
) -> Model:
    """A trained model outside any study (tests, benchmarks, notebooks), through the same cache
    as the studies: ``train_model("mlp", data)`` or ``train_model(ModelSpec(...), data)``."""
    spec = ModelSpec(name=spec) if isinstance(spec, str) else spec
    registry = registry or load_registry()
    check_parameters(registry, spec)
    context: Context[StudyConfig] = Context(
        registry, StudyConfig(study=""), resolve_device(device), ModelCache(cache_dir)
    )
    return context.model(spec, dataset, seed)
