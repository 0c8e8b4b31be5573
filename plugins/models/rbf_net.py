"""Shallow RBF network (Goodfellow et al. 2014 §7): p(y = i | x) ∝ exp(−β_i‖x − μ_i‖²), with
learned centres μ and widths β > 0. Goodfellow et al. found it far more resistant to adversarial
examples than linear models, at the cost of accuracy. ``centres_per_class`` > 1 sums several such
kernels per class (a log-sum-exp of their logits)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from transfer import Dataset, TorchModel, hookimpl


class RBFLayer(nn.Module):
    """logit_i(x) = log Σ_k exp(−β_ik‖x − μ_ik‖²) over the k centres of class i."""

    def __init__(self, dim: int, n_classes: int, per_class: int, beta: float) -> None:
        super().__init__()
        self.n_classes, self.per_class = n_classes, per_class
        self.centres = nn.Parameter(torch.rand(n_classes * per_class, dim))
        inverse = math.log(math.expm1(beta))  # softplus⁻¹(beta)
        self.raw_beta = nn.Parameter(torch.full((n_classes * per_class,), inverse))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        squared = (x * x).sum(1, keepdim=True) - 2 * x @ self.centres.T + (
            self.centres * self.centres).sum(1)
        logits = -F.softplus(self.raw_beta) * squared.clamp_min(0)
        return logits.view(-1, self.n_classes, self.per_class).logsumexp(dim=2)


class RBFNet(TorchModel):
    """Shallow RBF network with learned class centres (initialised at class samples)."""

    def __init__(
        self, centres_per_class: int = 5, beta: float = 0.1, lr: float = 1e-2, **training: Any
    ) -> None:
        super().__init__(centres_per_class=centres_per_class, beta=beta, lr=lr, **training)

    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        return RBFLayer(math.prod(input_shape), n_classes, self.params["centres_per_class"],
                        self.params["beta"])

    def initialise(self, net: nn.Module, dataset: Dataset, seed: int) -> None:
        """Centres start at random training samples of their own class."""
        assert isinstance(net, RBFLayer)
        generator = torch.Generator().manual_seed(seed)
        flat = dataset.x_train.flatten(1)
        with torch.no_grad():
            for label in range(dataset.n_classes):
                members = flat[dataset.y_train == label]
                pick = torch.randint(len(members), (net.per_class,), generator=generator)
                start = label * net.per_class
                net.centres[start : start + net.per_class] = members[pick]


@hookimpl
def register_models(register: Any) -> None:
    register("rbf-net", RBFNet)
