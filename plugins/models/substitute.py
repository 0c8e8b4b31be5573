"""Black-box substitute (Papernot et al. 2017, "Practical black-box attacks against machine
learning", Algorithm 1): a differentiable model trained from a victim's labels alone, so that
any model, even a decision-only one, can be attacked through it.

From ``seed_points`` training inputs (stratified, seeded) labelled by the victim, for each of
``rounds`` rounds: train the substitute (``architecture``, from scratch) on the labelled set S,
then grow it by Jacobian-based augmentation, S ← S ∪ {clip(x + λ·sign(∇ₓ F_{O(x)}(x)))} with F
the substitute's logits and O(x) the victim's label, and have the victim label the new points.
Every victim label is a query; the victim is never asked more than ``max_queries`` times (the
last augmentation is cut to fit). The queries spent and the substitute's agreement with the
victim on the test set after each round are logged on the model's run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from transfer import (
    DECISION,
    GRADIENTS,
    Dataset,
    Model,
    ModelSpec,
    hookimpl,
    load_registry,
    stratified_split,
    train_model,
)


class Substitute(Model):
    """A substitute for ``victim`` trained by Jacobian-based dataset augmentation."""

    capabilities = frozenset({GRADIENTS, DECISION})

    def __init__(self, victim: str | dict[str, Any] = "knn",
                 architecture: str | dict[str, Any] = "mlp", seed_points: int = 150,
                 rounds: int = 6, step: float = 0.1, max_queries: int = 10_000) -> None:
        if seed_points < 1 or rounds < 1 or max_queries < seed_points:
            raise ValueError("seed_points and rounds must be positive and max_queries at least "
                             "seed_points")
        super().__init__(victim=victim, architecture=architecture, seed_points=seed_points,
                         rounds=rounds, step=step, max_queries=max_queries)
        self.inner: Model | None = None
        self.history: dict[str, list[float]] = {"queries": [], "agreement": []}

    @staticmethod
    def _spec(value: str | dict[str, Any]) -> ModelSpec:
        return ModelSpec(name=value) if isinstance(value, str) else ModelSpec.model_validate(value)

    def _fresh(self) -> Model:
        spec = self._spec(self.params["architecture"])
        model: Model = (self.registry or load_registry()).create("model", spec.name,
                                                                  **spec.params)
        model.registry = self.registry
        return model.to(self.device)

    def _fit(self, dataset: Dataset, seed: int) -> None:
        victim = train_model(self._spec(self.params["victim"]), dataset, seed=seed,
                             device=str(self.device), registry=self.registry)
        budget, lo_hi = self.params["max_queries"], dataset.bounds
        fraction = min(self.params["seed_points"] / len(dataset.y_train), 1.0)
        chosen = (stratified_split(dataset.y_train.numpy(), 1 - fraction, seed)[0]
                  if fraction < 1 else torch.arange(len(dataset.y_train)))
        x = dataset.x_train[torch.as_tensor(chosen)][: self.params["seed_points"]]
        y = victim.predict(x.to(self.device)).cpu()
        queries = len(x)
        reference = victim.predict(dataset.x_test.to(self.device)).cpu()  # evaluation only
        for round_ in range(self.params["rounds"]):
            self.inner = self._fresh()
            labelled = dataclasses.replace(dataset, x_train=x, y_train=y,
                                           spec={**dataset.spec, "substitute_round": round_})
            self.inner.fit(labelled, seed + round_)
            agreement = (self.predict(dataset.x_test.to(self.device)).cpu() == reference)
            self.history["queries"].append(float(queries))
            self.history["agreement"].append(agreement.float().mean().item())
            if round_ == self.params["rounds"] - 1 or queries >= budget:
                break
            new = self._augment(x, y, lo_hi)[: budget - queries]
            x, y = torch.cat([x, new]), torch.cat([y, victim.predict(new.to(self.device)).cpu()])
            queries += len(new)

    def _augment(self, x: torch.Tensor, y: torch.Tensor, bounds: tuple[float, float]
                 ) -> torch.Tensor:
        """x + λ·sign(∇ₓ F_{O(x)}(x)), clipped to the bounds."""
        assert self.inner is not None
        points = x.to(self.device).clone().requires_grad_(True)
        chosen = self.inner.logits(points).gather(1, y.to(self.device)[:, None]).sum()
        (gradient,) = torch.autograd.grad(chosen, points)
        return (x + self.params["step"] * gradient.sign().cpu()).clamp(*bounds).detach()

    def measures(self) -> dict[str, float]:
        """What training spent and reached: victim queries and agreement, in total and per
        round."""
        measured = {"queries": self.history["queries"][-1],
                    "agreement": self.history["agreement"][-1]}
        for i, (q, a) in enumerate(zip(self.history["queries"], self.history["agreement"],
                                       strict=True)):
            measured[f"queries.round{i}"], measured[f"agreement.round{i}"] = q, a
        return measured

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        assert self.inner is not None, "the substitute is not trained"
        return self.inner.logits(x)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).argmax(dim=1)

    @property
    def torch_module(self) -> torch.nn.Module | None:
        return self.inner.torch_module if self.inner is not None else None

    def to(self, device: torch.device | str) -> Model:
        super().to(device)
        if self.inner is not None:
            self.inner.to(device)
        return self

    def _save(self, directory: Path) -> None:
        assert self.inner is not None
        self.inner.save(directory)  # the same input shape: its shape.json is the outer one
        (directory / "history.json").write_text(json.dumps(self.history))

    def _load(self, directory: Path) -> None:
        self.inner = self._fresh()
        self.inner.load(directory)
        self.history = json.loads((directory / "history.json").read_text())


@hookimpl
def register_models(register: Any) -> None:
    register("substitute", Substitute)
