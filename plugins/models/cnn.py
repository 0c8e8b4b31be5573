"""A small convolutional network for 1- and 3-channel images: two 3x3 conv layers, max-pooling,
and a two-layer read-out; trained with Adam and early stopping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transfer import TorchModel, hookimpl


class MaxPool(nn.MaxPool2d):
    """``nn.MaxPool2d`` on a channels-last copy of its input: the same numbers, forward and
    backward (a maximum does not round), several times faster on the CPU for small maps (the
    average pooling and the flattening after it take the layout as they find it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # nn.MaxPool2d's call: TorchScript too
        return F.max_pool2d(x.contiguous(memory_format=torch.channels_last), self.kernel_size,
                            self.stride, self.padding, self.dilation, ceil_mode=self.ceil_mode)


class CNN(TorchModel):
    """Conv(3x3)-ReLU-Conv(3x3)-ReLU-MaxPool(2)-Linear-ReLU-Linear, for (C, H, W) inputs."""

    def __init__(
        self, channels: Sequence[int] = (32, 64), hidden: int = 128, **training: Any
    ) -> None:
        super().__init__(channels=[int(c) for c in channels], hidden=hidden, **training)

    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        if len(input_shape) != 3:
            raise ValueError(f"cnn needs image inputs (C, H, W), not shape {input_shape}")
        first, second = self.params["channels"]
        size = min(4, input_shape[1] // 2, input_shape[2] // 2)
        return nn.Sequential(
            nn.Conv2d(input_shape[0], first, 3, padding=1), nn.ReLU(),
            nn.Conv2d(first, second, 3, padding=1), nn.ReLU(),
            MaxPool(2), nn.AdaptiveAvgPool2d(size), nn.Flatten(),
            nn.Linear(second * size * size, self.params["hidden"]), nn.ReLU(),
            nn.Linear(self.params["hidden"], n_classes),
        )


@hookimpl
def register_models(register: Any) -> None:
    register("cnn", CNN)
