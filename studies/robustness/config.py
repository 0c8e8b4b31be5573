"""The robustness study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import (
    AttackSpec,
    DatasetSpec,
    ModelSpec,
    StudyConfig,
    positive_budgets,
    unique_labels,
)

NAME: Final = "robustness"


class RobustnessConfig(StudyConfig):
    """Config of the robustness study (defaults: ``config.toml``)."""

    study: Literal["robustness"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    models: list[ModelSpec] = Field(min_length=1)
    n_points: PositiveInt = 300
    attacks: list[AttackSpec] = Field(default_factory=lambda: [
        AttackSpec(name="fgsm"), AttackSpec(name="pgd", params={"steps": 10})])
    eps: list[float] = Field(default_factory=lambda: [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    transfer_attack: AttackSpec = Field(default_factory=lambda: AttackSpec(name="fgsm"))
    transfer_eps: float = Field(0.1, gt=0)
    overshoot: float = Field(0.02, ge=0)
    n_noise: PositiveInt = 1000
    confidence: float = Field(0.5, gt=0, lt=1)
    # measured only for the rubbish-class share (no white-box, transfer or ρ_adv cell): the
    # contrast Goodfellow et al. (2014, §8) set against the linear models, an RBF network whose
    # units are trained as independent class probabilities (see config.toml)
    contrast: list[ModelSpec] = Field(default_factory=lambda: [
        ModelSpec(name="rbf-net", params={"loss": "units"})])

    @model_validator(mode="after")
    def _check(self) -> RobustnessConfig:
        unique_labels(self.models, "models")
        unique_labels(self.models + self.contrast, "models and contrast")
        unique_labels(self.attacks, "attacks")
        positive_budgets(self.eps, "eps")
        return self

    def model(self, label: str) -> ModelSpec:
        """The spec labelled ``label``, of ``models`` or ``contrast``."""
        return next(m for m in [*self.models, *self.contrast] if m.label == label)
