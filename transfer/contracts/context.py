"""What a cell gets to work with: its study's config, the registry, the device, seeded generators
and the trained-model cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import torch

from ..plugging.registry import Registry
from .attacks import Attack
from .cell import stable_hash
from .data import Dataset, evaluation_points
from .models import Model
from .specs import AttackSpec, ComponentSpec, DatasetSpec, ModelsConfig, ModelSpec, StudyConfig
from .traits import ModelTraits, model_traits

if TYPE_CHECKING:  # the cache is handed in by the runner, which builds it
    from ..training.model_cache import ModelCache, ModelRecord

ConfigT = TypeVar("ConfigT", bound=StudyConfig)


def build(registry: Registry, spec: ComponentSpec) -> Any:
    """The registered plugin a spec names, built with its parameters (validated beforehand)."""
    return registry.get(spec.kind, spec.name)(**spec.params)


class Context(Generic[ConfigT]):
    """Handed to ``Study.run``: the validated config, the registry, the device, the model cache."""

    def __init__(
        self, registry: Registry, config: ConfigT, device: torch.device, cache: ModelCache,
        amp: bool = False,
    ) -> None:
        self.registry = registry
        self.config = config
        self.device = device
        self.cache = cache
        self.amp = amp  # mixed precision in every model's forward pass (training stays float32)
        self.models_used: dict[str, ModelRecord] = {}
        self._datasets: dict[str, Dataset] = {}
        self._memo: dict[Any, Any] = {}
        self._models: dict[tuple[str, str, int], tuple[Model, ModelRecord]] = {}

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per process for each key (e.g. an adversarial batch that several
        cells reuse); later calls return the stored value."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def dataset(self, spec: DatasetSpec) -> Dataset:
        """The dataset a spec names, loaded once per process."""
        key = stable_hash(spec.model_dump())
        if key not in self._datasets:
            self._datasets[key] = build(self.registry, spec)
        return self._datasets[key]

    def datasets(self) -> dict[str, Dataset]:
        """The datasets loaded so far in this process, by the hash of their spec."""
        return dict(self._datasets)

    def traits(self, spec: ModelSpec) -> ModelTraits:
        """What the model a spec names can do, without building it."""
        return model_traits(self.registry, spec)

    def model(self, spec: ModelSpec, dataset: Dataset, seed: int) -> Model:
        """The trained, read-only model (from the cache, or trained now and cached); looked up
        once per process (a study asks for its models in every cell)."""
        found = (spec.model_dump_json(), dataset.fingerprint, seed)
        if found not in self._models:
            untrained = build(self.registry, spec)
            untrained.registry = self.registry
            self._models[found] = self.cache.get(spec, untrained, dataset, seed, self.device)
        model, record = self._models[found]
        model.amp = self.amp
        self.models_used[record.key] = record
        return model

    def model_key(self, spec: ModelSpec, dataset: Dataset, seed: int) -> str:
        """The cache key of the model a spec names, trained on ``dataset`` with ``seed``."""
        return self.cache.key(spec.name, build(self.registry, spec).params, dataset, seed)

    def evaluation_index(self, data: Dataset) -> torch.Tensor:
        """The test points every cell evaluates: a seeded sample of ``n_points``; for a
        ``ModelsConfig`` with ``points = "all-correct"``, drawn from the points every model
        (sources and targets, each on its training set) classifies correctly."""
        config = self.config
        n_points = int(getattr(config, "n_points", len(data.y_test)))
        if not isinstance(config, ModelsConfig) or config.points == "all":
            return evaluation_points(len(data.y_test), n_points, config.seed)

        def all_correct() -> torch.Tensor:
            assert isinstance(config, ModelsConfig)
            correct = torch.ones(len(data.y_test), dtype=torch.bool)
            for spec, training, seed in config.trained_models(data):
                model = self.model(spec, training, seed)
                correct &= model.predict(data.x_test.to(self.device)).cpu() == data.y_test
            candidates = torch.nonzero(correct).flatten()
            if len(candidates) == 0:
                raise ValueError('points = "all-correct": no test point is classified correctly '
                                 'by every model; use points = "all"')
            return candidates[evaluation_points(len(candidates), n_points, config.seed)]

        return self.remember(("all-correct", data.fingerprint), all_correct)

    def attack(self, spec: AttackSpec) -> Attack:
        attack: Attack = build(self.registry, spec)
        attack.name = spec.name
        return attack

    def generator(self, seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

