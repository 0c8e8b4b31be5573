"""The torch adapter: a network trained with Adam, early stopping on a seeded validation split,
on clean data or adversarially (``params.adversarial``, see ``adversarial_training``), or read
from the user's weight file (``params.weights``, see ``checkpoints``), with its input
normalization (``mean``, ``std``) part of the network."""

from __future__ import annotations

import math
from abc import abstractmethod
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..contracts.data import Dataset, stratified_split
from ..contracts.models import DECISION, GRADIENTS, Model, freeze
from .adversarial import AdversarialExamples, AdversarialTraining
from .checkpoints import file_identity, load_weights, locate
from .normalization import check_normalization, normalized
from .progress import report_epoch

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # x, y train; x, y valid
PREDICT_CHUNK = 256  # points per forward pass of ``predict``


class TorchModel(Model):
    """A torch network trained with Adam and early stopping on a seeded validation split.

    Subclasses implement ``build(input_shape, n_classes) -> nn.Module``. ``adversarial`` trains
    it on adversarial examples instead (``AdversarialTraining``); absent, nothing changes.
    ``weights`` (a state-dict file) loads it instead of training: nothing is trained, and the
    file's path, size and sha256 are part of ``params`` (the cache key, the model's run).
    ``mean`` and ``std`` put an input normalization in front of the network. ``keep = "last"``
    trains on every training point for all ``epochs`` and keeps the last epoch: no held-out
    split, no early stopping, a network that can fit (interpolate) its training set.
    Per-epoch losses (and held-out robust accuracy) are kept in ``curves()``.
    """

    capabilities = frozenset({GRADIENTS, DECISION})
    loaded_from = ("weights",)

    def __init__(
        self,
        *,
        epochs: int = 60,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 8,
        validation_fraction: float = 0.1,
        adversarial: AdversarialTraining | None = None,
        keep: Literal["best", "last"] = "best",
        weights: str | None = None,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        **params: Any,
    ) -> None:
        if weights is not None:
            params.update(file_identity(locate(weights)))
        normalization = check_normalization(mean, std)
        if normalization is not None:
            params["mean"], params["std"] = normalization
        if keep == "last":  # recorded only when asked: the default keeps every cache key
            if adversarial is not None:
                raise ValueError("keep = 'last' trains on every point without a held-out split; "
                                 "adversarial training selects its epoch on one: use 'best'")
            params["keep"] = keep
        elif keep != "best":
            raise ValueError(f"keep must be 'best' or 'last', not {keep!r}")
        if adversarial is not None:  # a dict from a config, checked here
            settings = AdversarialTraining.model_validate(adversarial)
            params["adversarial"] = settings.model_dump(mode="json", exclude_none=True)
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
        self.history: dict[str, list[float]] = {}
        self._best_epoch = 0

    @abstractmethod
    def build(self, input_shape: tuple[int, ...], n_classes: int) -> nn.Module: ...

    def initialise(self, net: nn.Module, dataset: Dataset, seed: int) -> None:
        """Data-dependent initialisation before training (default: the layers' own)."""
        return None

    def training_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What clean training minimises and early stopping reads on the held-out split, from
        the network's logits (mean over the batch): their cross-entropy by default. Not the loss
        attacks differentiate (``loss``); adversarial training's objective stays cross-entropy."""
        return nn.functional.cross_entropy(logits, y)

    def network(self, input_shape: tuple[int, ...], n_classes: int,
                inner: nn.Module | None = None) -> nn.Module:
        """``build``'s network (or ``inner``), after the input normalization when there is one."""
        net = inner if inner is not None else self.build(input_shape, n_classes)
        if "mean" in self.params:
            return normalized(net, self.params["mean"], self.params["std"])
        return net

    def load_pretrained(self, net: nn.Module, file: Path) -> None:
        """Load the user's weight file into ``build``'s network (a family may read it its own
        way, e.g. a TorchScript file that is the network)."""
        load_weights(net, file)

    def _fit(self, dataset: Dataset, seed: int) -> None:
        """Train (clean, then adversarially when asked), or load the user's weights; with both,
        the loaded network is the start of the adversarial training (a fine-tuning)."""
        p = self.params
        torch.manual_seed(seed)
        net = self.build(dataset.input_shape, dataset.n_classes)
        pretrained = "weights" in p
        if pretrained:
            self.load_pretrained(net, Path(p["weights"]))
        settings = (AdversarialTraining.model_validate(p["adversarial"])
                    if "adversarial" in p else None)
        if pretrained and settings is None:  # the user's own model: nothing is trained
            self.net = freeze(self.network(dataset.input_shape, dataset.n_classes, net)
                              .to(self.device))
            return
        if len(dataset.y_train) == 0:
            raise ValueError(f"dataset {dataset.name!r} has no training points: give the model "
                             "weights = <file> to load instead of training")
        if not pretrained:
            self.initialise(net, dataset, seed)
        net = self.network(dataset.input_shape, dataset.n_classes, net).to(self.device)
        if p.get("keep") == "last":  # every point trains; nothing is held out or selected
            train, valid = np.arange(len(dataset.y_train)), np.arange(0)
        else:
            train, valid = stratified_split(dataset.y_train.numpy(), p["validation_fraction"],
                                            seed)
        split = (dataset.x_train[train].to(self.device), dataset.y_train[train].to(self.device),
                 dataset.x_train[valid].to(self.device), dataset.y_train[valid].to(self.device))
        self.net, self.history = net, {}  # attacks crafting training examples call ``logits``
        if settings is None or (settings.finetunes and not pretrained):
            self._train(net, split, seed, epochs=p["epochs"], lr=p["lr"], examples=None)
        if settings is not None:
            from ..plugging.plugin_manager import load_registry

            examples = AdversarialExamples(settings, self, net, dataset.bounds,
                                           self.registry or load_registry())
            self._train(net, split, seed, examples=examples,
                        epochs=settings.epochs if settings.finetunes else p["epochs"],
                        lr=p["lr"] * (settings.lr_factor if settings.finetunes else 1.0))
        self.net = freeze(net)

    def _train(self, net: nn.Module, split: Split, seed: int, *, epochs: int, lr: float,
               examples: AdversarialExamples | None) -> None:
        """Adam for ``epochs`` epochs, keeping the epoch with the best held-out score: the
        lowest clean loss, or with adversarial training the highest robust accuracy (a
        DeepFool fine-tuning, and ``keep = "last"``, keep the last epoch)."""
        p = self.params
        x_train, y_train, x_valid, y_valid = split
        optimizer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=p["weight_decay"])
        generator = torch.Generator().manual_seed(seed)
        select = (examples is None or not examples.settings.finetunes) and "keep" not in p
        if not select:
            self._best_epoch = 0  # the last
        best_score, best_state, waited = float("inf"), None, 0
        for epoch in range(epochs):
            net.train()
            order = torch.randperm(len(x_train), generator=generator).to(self.device)
            sums = {"train_loss": 0.0, "train_adversarial_loss": 0.0}
            for number, start in enumerate(range(0, len(order), p["batch_size"])):
                batch = order[start : start + p["batch_size"]]
                optimizer.zero_grad(set_to_none=True)
                if examples is None:
                    loss = self.training_loss(net(x_train[batch]), y_train[batch])
                else:
                    loss, adversarial = examples.objective(
                        x_train[batch], y_train[batch], seed=(seed * 1009 + epoch) * 100_003
                        + number)
                    sums["train_adversarial_loss"] += adversarial * len(batch)
                loss.backward()
                optimizer.step()
                sums["train_loss"] += loss.item() * len(batch)
            net.eval()
            with torch.no_grad():
                valid_loss = (self.training_loss(net(x_valid), y_valid).item()
                              if len(y_valid) else math.nan)
            measured = {"train_loss": sums["train_loss"] / len(order), "valid_loss": valid_loss}
            if examples is not None:
                measured["train_adversarial_loss"] = sums["train_adversarial_loss"] / len(order)
                measured.update(examples.held_out(x_valid, y_valid, seed=seed + epoch))
            for name, value in measured.items():
                self.history.setdefault(name, []).append(value)
            report_epoch(epoch + 1, epochs, valid_loss)
            if not select:
                continue
            robust = measured.get("valid_robust_accuracy")
            score = valid_loss if robust is None else 1 - robust
            if score < best_score - 1e-6:
                best_score, waited = score, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                self._best_epoch = len(self.history["valid_loss"])
            else:
                waited += 1
                if waited >= p["patience"]:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)

    def curves(self) -> dict[str, list[float]]:
        return self.history

    def measures(self) -> dict[str, float]:
        """Epochs run, the epoch kept and, with adversarial training, its held-out robust
        accuracy and whether it collapsed after (Wong et al.'s catastrophic overfitting:
        below half its best)."""
        if not self.history:
            return {}
        measured = {"epochs_run": float(len(self.history["valid_loss"])),
                    "best_epoch": float(self._best_epoch or len(self.history["valid_loss"]))}
        robust = self.history.get("valid_robust_accuracy")
        if robust:
            kept = robust[self._best_epoch - 1] if self._best_epoch else robust[-1]
            peak = 0.0
            collapsed = False
            for value in robust:
                collapsed = collapsed or (peak >= 0.2 and value < peak / 2)
                peak = max(peak, value)
            measured.update({"kept_robust_accuracy": kept,
                             "catastrophic_overfitting": float(collapsed)})
        return measured

    @property
    def torch_module(self) -> nn.Module | None:
        return self.net

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output in float32; with ``amp``, computed under autocast (float16 on
        CUDA, bfloat16 on the CPU), so attacks and predictions run in mixed precision."""
        assert self.net is not None, "model is not trained"
        if not self.amp:
            return self.net(x.to(self.device))
        kind = self.device.type
        with torch.autocast(kind, dtype=torch.float16 if kind == "cuda" else torch.bfloat16):
            return self.net(x.to(self.device)).float()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([self.logits(part).argmax(dim=1)
                              for part in x.split(PREDICT_CHUNK)]) if len(x) else \
                torch.zeros(0, dtype=torch.int64, device=self.device)

    def _save(self, directory: Path) -> None:
        assert self.net is not None, "model is not trained"
        torch.save(self.net.state_dict(), directory / "weights.pt")

    def _load(self, directory: Path) -> None:
        assert self.input_shape is not None and self.n_classes is not None
        net = self.network(self.input_shape, self.n_classes)
        state = torch.load(directory / "weights.pt", map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        self.net = freeze(net.to(self.device))
