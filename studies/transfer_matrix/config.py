"""The transfer-matrix study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

from typing import Final, Literal

from transfer import AttacksConfig

NAME: Final = "transfer-matrix"


class TransferMatrixConfig(AttacksConfig):
    """Config of the transfer-matrix study (defaults: ``config.toml`` beside this file)."""

    study: Literal["transfer-matrix"] = NAME
    figures: Literal["per-attack", "all"] = "per-attack"
    """``per-attack``: one heatmap figure per attack, its eps side by side; ``all`` adds one
    figure per (attack, eps)."""
