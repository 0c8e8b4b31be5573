"""The torch adapter: a network trained with Adam, early stopping on a seeded validation split."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .data import Dataset, stratified_split
from .models import DECISION, GRADIENTS, Model, freeze
from .training_progress import report_epoch


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
        for epoch in range(p["epochs"]):
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
            report_epoch(epoch + 1, p["epochs"], valid_loss)
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

    def _save(self, directory: Path) -> None:
        assert self.net is not None, "model is not trained"
        torch.save(self.net.state_dict(), directory / "weights.pt")

    def _load(self, directory: Path) -> None:
        assert self.input_shape is not None and self.n_classes is not None
        net = self.build(self.input_shape, self.n_classes)
        state = torch.load(directory / "weights.pt", map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        self.net = freeze(net.to(self.device))
