"""The scikit-learn adapter: an estimator on flattened inputs, with an exact differentiable torch
twin of its decision function where one exists, stored with skops (untrusted types refused)."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..contracts.data import Dataset
from ..contracts.models import Model, freeze
from .tree_structure import TREE, check_trees


class LinearTwin(nn.Module):
    """Exact torch copy of a scikit-learn linear decision function ``x @ coef.T + intercept``.

    A binary estimator (one row of ``coef``) becomes the two logits ``(0, f(x))``, whose softmax is
    scikit-learn's ``predict_proba`` for logistic regression and whose argmax is its ``predict``.
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        super().__init__()
        coef = np.atleast_2d(coef)
        if coef.shape[0] == 1:
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.array([0.0, float(np.ravel(intercept)[0])])
        self.linear = nn.Linear(coef.shape[1], coef.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
            self.linear.bias.copy_(torch.as_tensor(np.ravel(intercept), dtype=torch.float32))
        freeze(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


def _trusted_skops_types(untrusted: list[str]) -> list[str]:
    """``untrusted`` when each is a scikit-learn, NumPy or SciPy sparse type that skops does not
    warn about, or a tree that ``check_trees`` checks once loaded; else a ``ValueError``."""
    from skops.io.exceptions import UNTRUSTED_TYPE_REASONS

    allowed = ("sklearn.", "numpy.", "scipy.sparse.")
    refused = [name for name in untrusted if not name.startswith(allowed)
               or (name in UNTRUSTED_TYPE_REASONS and name != TREE)]
    if refused:
        raise ValueError(f"refusing to load a scikit-learn model holding types {refused}: only "
                         "scikit-learn, NumPy and SciPy sparse types are trusted, and not those "
                         "skops warns can read memory out of bounds")
    return untrusted


class SklearnModel(Model):
    """A scikit-learn estimator on flattened inputs.

    Subclasses implement ``make_estimator(seed)``. Those with ``"gradients"`` also implement
    ``make_twin(estimator) -> nn.Module``, an exact differentiable copy of the decision function;
    ``predict`` always asks scikit-learn itself.
    """

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.estimator: Any = None
        self.twin: nn.Module | None = None

    @abstractmethod
    def make_estimator(self, seed: int) -> Any: ...

    def make_twin(self, estimator: Any) -> nn.Module | None:
        return None

    def _fit(self, dataset: Dataset, seed: int) -> None:
        estimator = self.make_estimator(seed)
        estimator.fit(dataset.x_train.flatten(1).numpy(), dataset.y_train.numpy())
        self._set_estimator(estimator)

    def _set_estimator(self, estimator: Any) -> None:
        self.estimator = estimator
        twin = self.make_twin(estimator)
        self.twin = freeze(twin.to(self.device)) if twin is not None else None

    @property
    def torch_module(self) -> nn.Module | None:
        return self.twin

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.twin is None:
            return super().logits(x)
        return self.twin(x.to(self.device))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.detach().flatten(1).cpu().numpy()
        if len(flat) == 0:
            return torch.zeros(0, dtype=torch.int64, device=x.device)
        labels = self.estimator.predict(flat)
        return torch.as_tensor(labels, dtype=torch.int64, device=x.device)

    def _save(self, directory: Path) -> None:
        import skops.io

        skops.io.dump(self.estimator, directory / "estimator.skops")

    def _load(self, directory: Path) -> None:
        self._set_estimator(load_skops(directory / "estimator.skops"))


def load_skops(path: Path) -> Any:
    """A scikit-learn object saved with ``skops.io.dump``, loaded only when every type it holds
    is scikit-learn's, NumPy's or SciPy's sparse matrices (else a ``ValueError`` naming them),
    and returned only when its decision trees' nodes are sound (``check_trees``)."""
    import skops.io

    trusted = _trusted_skops_types(skops.io.get_untrusted_types(file=path))
    loaded = skops.io.load(path, trusted=trusted)
    check_trees(loaded, str(path))
    return loaded
