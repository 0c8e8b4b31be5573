"""The ensemble-source study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import model_validator

from transfer import AttacksConfig

NAME: Final = "ensemble-source"


COMBINE = ("logits", "probabilities", "losses")


class EnsembleSourceConfig(AttacksConfig):
    """Config of the ensemble-source study (defaults: ``config.toml`` beside this file)."""

    study: Literal["ensemble-source"] = NAME
    combine: Literal["logits", "probabilities", "losses"] = "logits"
    weights: dict[str, float] | None = None
    whitebox: bool = True

    @model_validator(mode="after")
    def _check(self) -> EnsembleSourceConfig:
        labels = [m.label for m in self.models]
        for label, weight in (self.weights or {}).items():
            if label not in labels or not weight > 0:
                raise ValueError(f"weights: {label!r} must be a model label with a weight > 0")
        return self
