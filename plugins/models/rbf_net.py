"""Shallow RBF network (Goodfellow et al. 2014 §7): a unit per class,
p(y = i | x) = exp(−β_i‖x − μ_i‖²), with learned centres μ and widths β > 0, each unit an
independent probability (not normalised over the classes). Goodfellow et al. found it far more
resistant to adversarial examples than linear models, at the cost of accuracy, and (§8) confident
on none of their Gaussian noise inputs. ``centres_per_class`` > 1 averages several such kernels
per class: the logit is the log-sum-exp of their log-kernels, the unit exp(logit)/k.
``confidences`` are the class units themselves, in (0, 1]: far from every centre every class's is
near 0. ``loss`` is what training minimises: ``"softmax"`` (default) the cross-entropy of the
softmax of the logits, which only needs the classes' units to differ (they may be tiny
everywhere, on the data too); ``"units"`` each unit's binary cross-entropy against the one-hot
label (one-vs-rest, Goodfellow et al.'s independent units: near 1 on its class's data, near 0
elsewhere). Predictions are the argmax of the logits, the same as of the units."""

from __future__ import annotations

import math
from typing import Any, Literal

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
        self, centres_per_class: int = 5, beta: float = 0.1, lr: float = 1e-2,
        loss: Literal["softmax", "units"] = "softmax", **training: Any
    ) -> None:
        if loss == "units":  # recorded only when asked: the default keeps every cache key
            if training.get("adversarial") is not None:
                raise ValueError("loss = 'units' trains the RBF units on clean data; adversarial "
                                 "training's objective is the softmax cross-entropy")
            training["loss"] = loss
        elif loss != "softmax":
            raise ValueError(f"loss must be 'softmax' or 'units', not {loss!r}")
        super().__init__(centres_per_class=centres_per_class, beta=beta, lr=lr, **training)

    def training_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """With ``loss = "units"``: the binary cross-entropy of every class's unit
        u_i = exp(logit_i)/k against the one-hot label, averaged over points and classes, in log
        space (log u_i = logit_i − log k ≤ 0, log(1 − u_i) = log(−expm1(log u_i))), each log
        clamped at −100 as ``binary_cross_entropy`` does; else the softmax cross-entropy."""
        if self.params.get("loss") != "units":
            return super().training_loss(logits, y)
        log_u = (logits - math.log(self.params["centres_per_class"])).clamp_max(0.0)
        tiny = torch.finfo(log_u.dtype).tiny  # 1 − u rounds to 0 at a centre: a finite gradient
        log_rest = torch.log((-torch.expm1(log_u)).clamp_min(tiny))
        target = F.one_hot(y, logits.shape[1]).to(log_u.dtype)
        return -(target * log_u.clamp_min(-100.0)
                 + (1 - target) * log_rest.clamp_min(-100.0)).mean()

    def confidences(self, x: torch.Tensor) -> torch.Tensor:
        """Class i's RBF unit, the mean of its k kernels exp(−β‖x − μ‖²): exp(logit_i)/k in
        (0, 1], each class independent (not normalised over the classes)."""
        return (self.logits(x) - math.log(self.params["centres_per_class"])).exp()

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
