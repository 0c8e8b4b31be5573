"""A model's input normalization as part of the model: ``(x − mean) / std`` per channel before
the network, so that data and attacks stay in pixel space (``[0, 1]`` for images) and an eps such
as 8/255 means what the papers mean."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def check_normalization(mean: Sequence[float] | None, std: Sequence[float] | None
                        ) -> tuple[list[float], list[float]] | None:
    """``(mean, std)`` as float lists, or ``None``; else an error naming the parameter."""
    if mean is None and std is None:
        return None
    if mean is None or std is None:
        raise ValueError("mean and std: give both (one value per input channel) or neither")
    if len(mean) != len(std) or not mean:
        raise ValueError(f"mean and std need the same number of values, got {len(mean)} and "
                         f"{len(std)}")
    if any(not s > 0 for s in std):
        raise ValueError(f"std: every value must be positive, got {list(std)}")
    return [float(m) for m in mean], [float(s) for s in std]


class Normalize(nn.Module):
    """``(x − mean) / std``, mean and std per channel (dimension 1) or one value for all."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1, *[1] * (x.dim() - 2)) if len(self.mean) > 1 else (1,) * x.dim()
        return (x - self.mean.view(shape)) / self.std.view(shape)

    def lipschitz_bound(self, input_shape: tuple[int, ...]) -> float:
        """(x − mean)/std scales each coordinate by 1/std: its L2 constant is 1/min(std)."""
        return float(1 / self.std.min())


def normalized(inner: nn.Module, mean: Sequence[float], std: Sequence[float]) -> nn.Sequential:
    """The network ``inner`` after its input normalization (``[0]`` normalizes, ``[1]`` is
    ``inner``)."""
    return nn.Sequential(Normalize(mean, std), inner)
