"""Multinomial logistic (softmax) regression in torch: one linear layer, cross-entropy loss.

The linear model of Goodfellow et al. (2014) §3: its logits are exactly linear in the input, so
FGSM moves the gap between two classes by exactly eps·(w_y − w_j)ᵀsign(g).
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from transfer import TorchModel, hookimpl


class Softmax(TorchModel):
    """Softmax regression (a single linear layer); ``weight_decay`` is the L2 penalty."""

    def __init__(self, weight_decay: float = 1e-4, lr: float = 1e-2, **training: Any) -> None:
        super().__init__(weight_decay=weight_decay, lr=lr, **training)

    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), n_classes))


@hookimpl
def register_models(register: Any) -> None:
    register("softmax", Softmax)
