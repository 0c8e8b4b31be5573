"""What a registered model family can do, read from its class without building a model."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ..plugging.registry import Registry
from .specs import ModelSpec


@dataclass(frozen=True)
class ModelTraits:
    """A model family's class name (for messages), its capabilities, and the parameters that
    name a file it loads instead of training (``Model.loaded_from``)."""

    kind: str
    capabilities: frozenset[str]
    loaded_from: tuple[str, ...] = ()

    def trains(self, spec: ModelSpec) -> bool:
        """Whether the model a spec names is trained (not loaded from the user's file)."""
        return not any(spec.params.get(name) for name in self.loaded_from)

    def missing(self, required: frozenset[str], who: str) -> str | None:
        """Why ``who`` (an attack or a study part) cannot use this model, or ``None``."""
        absent = sorted(required - self.capabilities)
        if not absent:
            return None
        return (f"{who} needs {', '.join(absent)}, which {self.kind} does not have "
                f"(capabilities: {', '.join(sorted(self.capabilities))})")


def model_traits(registry: Registry, spec: ModelSpec) -> ModelTraits:
    """Traits of the model a spec names. A class factory is read, not built; a plain function
    factory has to be called (the only way to learn what it returns)."""
    factory = registry.get("model", spec.name)
    owner = factory.func if isinstance(factory, partial) else factory
    if isinstance(owner, type):
        return ModelTraits(owner.__name__, frozenset(getattr(owner, "capabilities", ())),
                           tuple(getattr(owner, "loaded_from", ())))
    model = factory(**spec.params)
    return ModelTraits(type(model).__name__, frozenset(model.capabilities),
                       tuple(getattr(model, "loaded_from", ())))


def require_gradients(registry: Registry, named: list[tuple[str, ModelSpec]], why: str) -> None:
    """For ``Study.validate``: a ``ValueError`` naming the first config field (``named``: field,
    spec) whose model has no gradients, and ``why`` the study needs them."""
    from .models import GRADIENTS

    for field, spec in named:
        traits = model_traits(registry, spec)
        if GRADIENTS not in traits.capabilities:
            raise ValueError(f"{field}: {spec.label!r} ({traits.kind}) has no gradients; {why}")
