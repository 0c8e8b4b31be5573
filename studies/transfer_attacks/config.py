"""The transfer-attacks study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from transfer import AttacksConfig

NAME: Final = "transfer-attacks"
TargetMode = Literal["none", "random", "least-likely", "next", "dataset"]
DEFAULT_MODES: tuple[TargetMode, ...] = ("none", "random")


class TransferAttacksConfig(AttacksConfig):
    """Config of the transfer-attacks study (defaults: ``config.toml`` beside this file).

    TransferAttack's protocol by default: the points every model classifies correctly, each attack
    untargeted (``"none"``) and targeted (``"random"``: a seeded other class per point; an
    attack without a ``target`` parameter is untargeted only, its targeted cell ``n/a``)."""

    study: Literal["transfer-attacks"] = NAME
    points: Literal["all", "all-correct"] = "all-correct"
    modes: list[TargetMode] = Field(default_factory=lambda: list(DEFAULT_MODES), min_length=1)
