"""The non-robust-features study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from transfer import AttackSpec, DatasetSpec, ModelSpec, StudyConfig

NAME: Final = "non-robust-features"


TrainingSet = Literal["D", "D-adv", "D_R", "D_NR", "D_rand", "D_det"]


SETS: tuple[TrainingSet, ...] = get_args(TrainingSet)


TARGET_RULE = {"D_rand": "random", "D_det": "next"}


HIDDEN = [256, 32]  # a 32-dim representation, narrower than the 64 pixels (else g is injective)


def _mlp(**extra: Any) -> ModelSpec:
    return ModelSpec(name="mlp", params={"hidden": HIDDEN, "batch_size": 128, **extra})


class NonRobustFeaturesConfig(StudyConfig):
    """Config of the non-robust-features study (defaults: ``config.toml``)."""

    study: Literal["non-robust-features"] = NAME
    dataset: DatasetSpec = Field(default_factory=lambda: DatasetSpec(name="digits"))
    sets: list[TrainingSet] = Field(default_factory=lambda: list(SETS), min_length=1)
    model: ModelSpec = Field(default_factory=_mlp)
    robust_model: ModelSpec = Field(default_factory=lambda: _mlp(
        adversarial={"method": "pgd", "eps": 1.0, "norm": "l2", "steps": 7}))
    fresh_model: ModelSpec | None = None  # trained on D_R, D_NR, D_rand, D_det; default: model
    attack: AttackSpec = Field(default_factory=lambda: AttackSpec(
        name="pgd", params={"norm": "l2", "steps": 100}))
    attack_eps: float = Field(1.0, gt=0)
    keep: Literal["all", "reached"] = "all"
    match_steps: PositiveInt = 200
    match_step_size: float = Field(0.1, gt=0)
    match_start: Literal["other-point", "noise"] = "other-point"
    # Ilyas et al.'s ratios: robust training at L2 attack_eps (above), evaluation at half
    evaluation: AttackSpec = Field(default_factory=lambda: AttackSpec(
        name="pgd", params={"steps": 20, "norm": "l2"}))
    eps: float = Field(0.5, gt=0)
    n_points: PositiveInt | None = None  # test points evaluated; default: all
    n_examples: NonNegativeInt = 6  # example images kept per constructed set, for the grid

    @model_validator(mode="after")
    def _check(self) -> NonRobustFeaturesConfig:
        if len(set(self.sets)) != len(self.sets):
            raise ValueError(f"sets: a training set is listed twice: {self.sets}")
        if "target" in self.attack.params:
            raise ValueError("attack.params.target: set by the study (random for D_rand, next "
                             "for D_det); remove it")
        return self

    def fresh(self) -> ModelSpec:
        return self.fresh_model or self.model
