"""Which models of a robustness config are adversarially trained, and their normal counterparts."""

from __future__ import annotations

from typing import Any, Final

from transfer import ModelSpec

NORMAL: Final = "normal"


def group_of(spec: ModelSpec) -> str:
    """``normal``, or the model's adversarial training method."""
    adversarial = spec.params.get("adversarial")
    return str(adversarial["method"]) if isinstance(adversarial, dict) else NORMAL


def training_eps(spec: ModelSpec) -> float | None:
    """The eps a model was adversarially trained at (``None``: normal, or unbounded)."""
    adversarial = spec.params.get("adversarial")
    eps = adversarial.get("eps") if isinstance(adversarial, dict) else None
    return float(eps) if eps is not None else None


def counterparts(config: Any) -> list[tuple[ModelSpec, ModelSpec]]:
    """(normal model, adversarially trained model) of the same family, for every model trained
    at an eps (a DeepFool fine-tuning without eps has no budget to compare at)."""
    normal: dict[str, ModelSpec] = {}
    for spec in config.models:
        if group_of(spec) == NORMAL:
            normal.setdefault(spec.name, spec)
    return [(normal[spec.name], spec) for spec in config.models
            if training_eps(spec) is not None and spec.name in normal]


def nearest(values: list[float], value: float) -> int:
    """The index of the entry of ``values`` closest to ``value``."""
    return min(range(len(values)), key=lambda i: abs(values[i] - value))
