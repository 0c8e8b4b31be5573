"""The ensemble of source models an attack crafts on (Liu et al. 2017): their logits,
probabilities or losses combined (``COMBINE``) into one differentiable model."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from transfer import DECISION, GRADIENTS, Model

from .config import COMBINE


def _total(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """The sum of tensors, left to right."""
    return functools.reduce(operator.add, terms)


class EnsembleModel(Model):
    """Several differentiable models as one: the attack sees their combined output.

    ``logits``: the weighted mean of the members' logits; ``probabilities``: the log of the
    weighted mean of their softmax outputs; ``losses``: the weighted sum of their cross-entropies
    (``logits`` is then the weighted mean of logits, used for predictions).
    """

    capabilities = frozenset({GRADIENTS, DECISION})

    def __init__(self, members: list[Model], weights: list[float] | None = None,
                 combine: str = "logits") -> None:
        if combine not in COMBINE:
            raise ValueError(f"combine must be one of {', '.join(COMBINE)}, not {combine!r}")
        if not members:
            raise ValueError("an ensemble needs at least one member")
        super().__init__(combine=combine)
        weights = weights or [1.0] * len(members)
        total = sum(weights)
        self.members, self.weights, self.combine = members, [w / total for w in weights], combine
        self.device = members[0].device
        self.n_classes = members[0].n_classes

    def _fit(self, dataset: Any, seed: int) -> None:
        raise NotImplementedError("an ensemble is built from trained members")

    def _save(self, directory: Path) -> None:
        raise NotImplementedError("an ensemble is not cached; its members are")

    def _load(self, directory: Path) -> None:
        raise NotImplementedError("an ensemble is not cached; its members are")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        pairs = zip(self.weights, self.members, strict=True)
        if self.combine == "probabilities":
            mean = _total(w * m.logits(x).softmax(dim=1) for w, m in pairs)
            return torch.log(mean.clamp_min(1e-30))
        return _total(w * m.logits(x) for w, m in pairs)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.combine != "losses":
            return super().loss(x, y)
        return _total(w * m.loss(x, y) for w, m in zip(self.weights, self.members, strict=True))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.logits(x).argmax(dim=1)
