"""Multi-layer perceptron on flattened inputs (ReLU hidden layers), trained with Adam."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import nn

from transfer import TorchModel, hookimpl


class MLP(TorchModel):
    """Fully connected ReLU network; ``hidden`` lists the hidden layer widths."""

    def __init__(self, hidden: Sequence[int] = (256, 256), **training: Any) -> None:
        super().__init__(hidden=[int(h) for h in hidden], **training)

    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for hidden in self.params["hidden"]:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        return nn.Sequential(*layers)


@hookimpl
def register_models(register: Any) -> None:
    register("mlp", MLP)
