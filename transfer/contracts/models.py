"""The model contract (its adapters: ``torch_model.TorchModel``, ``sklearn_model.SklearnModel``).

A model is built from its family's parameters, trained by ``fit(dataset, seed)`` and answers
``logits(x)`` / ``predict(x)`` on tensors (and ``confidences(x)``, each class's confidence in
[0, 1]). ``capabilities`` says what attacks may use: ``"gradients"`` (``logits`` is
differentiable) and ``"decision"`` (labels; every model has it).
A trained model handed out by the cache is read-only (``read_only``): it is shared by every cell
of a process, so it cannot be moved, and a study that needs a changed copy takes ``module_copy``.
"""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from .data import Dataset

if TYPE_CHECKING:
    from ..plugging.registry import Registry

GRADIENTS = "gradients"
DECISION = "decision"
TREE = "tree"  # a single scikit-learn decision tree whose structure attacks may read
FOREST = "forest"  # a scikit-learn ensemble of trees (``estimators_``) voting by mean probability
NEIGHBORS = "neighbors"  # a nearest-neighbour classifier whose stored training points attacks read


class Model(ABC):
    """Base of every model. Subclasses pass all their hyper-parameters to ``__init__``."""

    capabilities: ClassVar[frozenset[str]] = frozenset({DECISION})
    loaded_from: ClassVar[tuple[str, ...]] = ()  # parameters naming a file loaded, not trained

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.device = torch.device("cpu")
        self.input_shape: tuple[int, ...] | None = None
        self.n_classes: int | None = None
        self.read_only = False
        self.registry: Registry | None = None  # set by the study: other plugins it may build
        self.amp = False  # mixed precision in the forward pass (``--amp``; set by the study)

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

    def confidences(self, x: torch.Tensor) -> torch.Tensor:
        """Each class's confidence in [0, 1] for ``x``, shape ``(n, n_classes)``: by default the
        softmax of ``logits``; a model whose class outputs are independent units (an RBF unit per
        class) returns them unnormalised. Needs logits; callers use ``torch.no_grad``."""
        return torch.softmax(self.logits(x), dim=1)

    @abstractmethod
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted class indices (int64) on ``x``'s device."""

    def measures(self) -> dict[str, float]:
        """What training spent or reached beyond clean accuracy (e.g. a substitute's victim
        queries), logged as metrics on the model's run; kept with the cached model."""
        return {}

    def curves(self) -> dict[str, list[float]]:
        """Per-epoch values of training (e.g. ``valid_loss``), logged as metric histories on the
        model's run; kept with the cached model."""
        return {}

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss attacks differentiate: summed cross-entropy of the logits (per-sample
        gradients do not depend on the batch). Ensembles may combine their members' losses."""
        return torch.nn.functional.cross_entropy(self.logits(x), y.to(self.device), reduction="sum")

    def to(self, device: torch.device | str) -> Model:
        device = torch.device(device)
        if self.read_only and device != self.device:
            raise RuntimeError(f"{type(self).__name__} is shared read-only by the model cache; "
                               "use module_copy() for a copy on another device or dtype")
        self.device = device
        if self.torch_module is not None:
            self.torch_module.to(device)
        return self

    @property
    def torch_module(self) -> nn.Module | None:
        """The differentiable torch module behind ``logits`` (a network or a twin), if any; the
        theory studies read its layers."""
        return None

    def module_copy(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
    ) -> nn.Module:
        """A frozen copy of ``torch_module`` in ``dtype`` on ``device``; the shared model stays
        untouched (e.g. float64 for exact bounds)."""
        module = self.torch_module
        if module is None:
            raise ValueError(f"{type(self).__name__} has no torch module to copy")
        return freeze(copy.deepcopy(module).to(device=device, dtype=dtype))

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


