"""Maxout network (Goodfellow et al. 2013, "Maxout networks"): each hidden unit is the maximum of
``pieces`` affine functions, h_i(x) = max_j (xᵀW_ij + b_ij). The network Goodfellow et al. (2014)
attacked with FGSM on MNIST."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from transfer import TorchModel, hookimpl


class MaxoutLayer(nn.Module):
    """``units`` maxout units of ``pieces`` linear pieces each."""

    def __init__(self, width: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(width, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.units, self.pieces).amax(dim=2)

    def lipschitz_bound(self, input_shape: tuple[int, ...]) -> float:
        """|max_j a_j − max_j b_j| ≤ max_j |a_j − b_j|, so the L2 bound is σ_max of the stacked
        pieces' weight."""
        return torch.linalg.matrix_norm(self.linear.weight.detach().double(), ord=2).item()


class Maxout(TorchModel):
    """Maxout MLP on flattened inputs; ``hidden`` lists units per layer, ``pieces`` per unit."""

    def __init__(
        self, hidden: Sequence[int] = (240, 240), pieces: int = 5, **training: Any
    ) -> None:
        super().__init__(hidden=[int(h) for h in hidden], pieces=pieces, **training)

    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for units in self.params["hidden"]:
            layers.append(MaxoutLayer(width, units, self.params["pieces"]))
            width = units
        layers.append(nn.Linear(width, n_classes))
        return nn.Sequential(*layers)


@hookimpl
def register_models(register: Any) -> None:
    register("maxout", Maxout)
