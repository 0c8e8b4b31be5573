"""The model contract and its two adapters: torch networks and scikit-learn estimators.

A model is built from its family's parameters, trained by ``fit(dataset, seed)`` and answers
``logits(x)`` / ``predict(x)`` on tensors. ``capabilities`` says what attacks may use:
``"gradients"`` (``logits`` is differentiable) and ``"decision"`` (labels; every model has it).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .data import Dataset, stratified_split

GRADIENTS = "gradients"
DECISION = "decision"
TREE = "tree"  # a single scikit-learn decision tree whose structure attacks may read


class Model(ABC):
    """Base of every model. Subclasses pass all their hyper-parameters to ``__init__``."""

    capabilities: ClassVar[frozenset[str]] = frozenset({DECISION})

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.device = torch.device("cpu")
        self.input_shape: tuple[int, ...] | None = None
        self.n_classes: int | None = None

    @property
    def has_gradients(self) -> bool:
        return GRADIENTS in self.capabilities

    def fit(self, dataset: Dataset, seed: int) -> None:
        """Train on ``dataset``'s training split; the same seed gives the same model."""
        self.input_shape, self.n_classes = dataset.input_shape, dataset.n_classes
        self._fit(dataset, seed)

    @abstractmethod
    def _fit(self, dataset: Dataset, seed: int) -> None: ...

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores, shape ``(n, n_classes)``; differentiable when the model has gradients."""
        raise NotImplementedError(f"{type(self).__name__} is decision-only: it has no logits")

    @abstractmethod
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted class indices (int64) on ``x``'s device."""

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss attacks differentiate: summed cross-entropy of the logits (per-sample
        gradients do not depend on the batch). Ensembles may combine their members' losses."""
        return torch.nn.functional.cross_entropy(self.logits(x), y.to(self.device), reduction="sum")

    def to(self, device: torch.device | str) -> Model:
        self.device = torch.device(device)
        return self

    @property
    def torch_module(self) -> nn.Module | None:
        """The differentiable torch module behind ``logits`` (a network or a twin), if any; the
        theory studies read its layers."""
        return None

    def save(self, directory: Path) -> None:
        """Write the trained state into ``directory`` (no pickle)."""
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"input_shape": list(self.input_shape or ()), "n_classes": self.n_classes}
        (directory / "shape.json").write_text(json.dumps(meta))
        self._save(directory)

    def load(self, directory: Path) -> None:
        """Read a state written by ``save``."""
        meta = json.loads((directory / "shape.json").read_text())
        self.input_shape, self.n_classes = tuple(meta["input_shape"]), meta["n_classes"]
        self._load(directory)

    @abstractmethod
    def _save(self, directory: Path) -> None: ...

    @abstractmethod
    def _load(self, directory: Path) -> None: ...


def freeze(module: nn.Module) -> nn.Module:
    """Evaluation mode with parameters that never accumulate gradients (attacks need only dL/dx)."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
        parameter.grad = None
    return module


class TorchModel(Model):
    """A torch network trained with Adam and early stopping on a seeded validation split.

    Subclasses implement ``build(input_shape, n_classes) -> nn.Module``.
    """

    capabilities = frozenset({GRADIENTS, DECISION})

    def __init__(
        self,
        *,
        epochs: int = 60,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 8,
        validation_fraction: float = 0.1,
        **params: Any,
    ) -> None:
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            patience=patience,
            validation_fraction=validation_fraction,
            **params,
        )
        self.net: nn.Module | None = None

    @abstractmethod
    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module: ...

    def initialise(self, net: nn.Module, dataset: Dataset, seed: int) -> None:
        """Data-dependent initialisation before training (default: the layers' own)."""
        return None

    def _fit(self, dataset: Dataset, seed: int) -> None:
        p = self.params
        torch.manual_seed(seed)
        net = self.build(dataset.input_shape, dataset.n_classes)
        self.initialise(net, dataset, seed)
        net = net.to(self.device)
        train, valid = stratified_split(dataset.y_train.numpy(), p["validation_fraction"], seed)
        x_train = dataset.x_train[train].to(self.device)
        y_train = dataset.y_train[train].to(self.device)
        x_valid = dataset.x_train[valid].to(self.device)
        y_valid = dataset.y_train[valid].to(self.device)
        optimizer = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        generator = torch.Generator().manual_seed(seed)
        best_loss, best_state, waited = float("inf"), None, 0
        for _ in range(p["epochs"]):
            net.train()
            order = torch.randperm(len(x_train), generator=generator).to(self.device)
            for start in range(0, len(order), p["batch_size"]):
                batch = order[start : start + p["batch_size"]]
                optimizer.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(net(x_train[batch]), y_train[batch])
                loss.backward()
                optimizer.step()
            net.eval()
            with torch.no_grad():
                valid_loss = nn.functional.cross_entropy(net(x_valid), y_valid).item()
            if valid_loss < best_loss - 1e-6:
                best_loss, waited = valid_loss, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
                if waited >= p["patience"]:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net = freeze(net)

    @property
    def torch_module(self) -> nn.Module | None:
        return self.net

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        assert self.net is not None, "model is not trained"
        return self.net(x.to(self.device))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.logits(x).argmax(dim=1)

    def to(self, device: torch.device | str) -> Model:
        super().to(device)
        if self.net is not None:
            self.net.to(self.device)
        return self

    def _save(self, directory: Path) -> None:
        assert self.net is not None, "model is not trained"
        torch.save(self.net.state_dict(), directory / "weights.pt")

    def _load(self, directory: Path) -> None:
        assert self.input_shape is not None and self.n_classes is not None
        net = self.build(self.input_shape, self.n_classes)
        state = torch.load(directory / "weights.pt", map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        self.net = freeze(net.to(self.device))


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
    allowed = ("sklearn.", "numpy.", "scipy.sparse.")
    refused = [name for name in untrusted if not name.startswith(allowed)]
    if refused:
        raise ValueError(f"refusing to load a scikit-learn model holding types {refused}")
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

    def to(self, device: torch.device | str) -> Model:
        super().to(device)
        if self.twin is not None:
            self.twin.to(self.device)
        return self

    def _save(self, directory: Path) -> None:
        import skops.io

        skops.io.dump(self.estimator, directory / "estimator.skops")

    def _load(self, directory: Path) -> None:
        import skops.io

        path = directory / "estimator.skops"
        trusted = _trusted_skops_types(skops.io.get_untrusted_types(file=path))
        self._set_estimator(skops.io.load(path, trusted=trusted))
