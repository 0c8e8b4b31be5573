"""The subspace-dimension study's config: what a user sets (defaults in ``config.toml``)."""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import Field, PositiveInt, model_validator

from transfer import ModelsConfig, positive_budgets

NAME: Final = "subspace-dimension"


GRID_RATIO = 1.25  # the L2 grid of k


def default_ks(norm: str, dim: int, largest: int) -> list[int]:
    """L2: every k of a geometric grid of ratio 1.25 (1, 2, 3, 4, 5, 6, 7, 9, 12, 15, 18, 23, ...)
    up to min(dim, largest), so the most directions found over k is not missed between powers of
    two; L-inf: the powers of 4 the Hadamard construction needs."""
    top = min(dim, largest)
    if norm == "l2":
        grid = sorted({round(GRID_RATIO ** i) for i in range(int(math.log(top, GRID_RATIO)) + 1)})
        return grid + ([top] if grid[-1] != top else [])
    return [4 ** i for i in range(int(math.log(top, 4)) + 1)]


class SubspaceDimensionConfig(ModelsConfig):
    """Config of the subspace-dimension study (defaults: ``config.toml``)."""

    study: Literal["subspace-dimension"] = NAME
    l2_eps: list[float] = Field(default_factory=lambda: [1.0, 2.0, 3.0])
    linf_eps: list[float] = Field(default_factory=list)
    max_k: PositiveInt = 256
    n_points: PositiveInt = 200
    clip: bool = True

    @model_validator(mode="after")
    def _check(self) -> SubspaceDimensionConfig:
        if not self.l2_eps and not self.linf_eps:
            raise ValueError("l2_eps, linf_eps: give at least one budget")
        positive_budgets([*self.l2_eps, *self.linf_eps], "l2_eps, linf_eps")
        return self
