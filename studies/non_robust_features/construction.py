"""How Ilyas et al. (2019) build their training sets, and what each construction measures.

- ``relabelled``: D_rand and D_det (their Table 1). Every training point x of class y is
  attacked on a *standard* model towards a target class t with a targeted attack of small budget,
  and the result x + δ is labelled t. The robust features of x + δ still say y (a robust model
  mostly still reads y), so a model trained on these pairs can only learn to predict the true
  label of a clean test point through the non-robust features δ added.
- ``matched``: D_R (and D_NR, their Figure 2). For every training point x, gradient descent
  from another, seeded, training point x₀ (or uniform noise) on ‖g(x_r) − g(x)‖₂, with g a
  model's representation (the input of its last linear layer): x_r carries only the features g
  uses, with the label y. With g of an adversarially trained model these are robust features.

Each construction is a ``Dataset`` whose ``spec`` names the recipe, the source data and model,
the seed and the sha256 of the tensors, so models trained on it are cached under exactly it.
Gradient evaluations are counted by a forward hook (``GradientCount``), not assumed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from transfer import Attack, Dataset, Model, forward_hooked, perturbation_norm, steepest_ascent

MATCH_VALUES = 2**18  # input values matched at once: all of digits, ~85 CIFAR-10 images
MATCH_MIN_POINTS = 16


class GradientCount:
    """Counts the points of every forward pass through ``module`` made with gradients enabled
    (each is one gradient evaluation per point for the attacks and the matching here)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.points = 0
        self._handle: Any = None

    def _count(self, _: nn.Module, inputs: Any, __: Any) -> None:
        if torch.is_grad_enabled():
            self.points += len(inputs[0])

    def __enter__(self) -> GradientCount:
        self._handle = self.module.register_forward_hook(self._count)
        return self

    def __exit__(self, *_: Any) -> None:
        self._handle.remove()


def sha256_of(*tensors: torch.Tensor) -> str:
    """The sha256 of the tensors' bytes (CPU, contiguous), with their shapes and dtypes."""
    digest = hashlib.sha256()
    for tensor in tensors:
        array = tensor.detach().cpu().contiguous()
        digest.update(f"{tuple(array.shape)}{array.dtype}".encode())
        digest.update(array.numpy().tobytes())
    return digest.hexdigest()


def constructed(data: Dataset, name: str, x: torch.Tensor, y: torch.Tensor,
                recipe: dict[str, Any]) -> Dataset:
    """``data`` with its training set replaced by ``(x, y)`` (the test set is kept, clean and
    correctly labelled); the spec names the recipe and the tensors' sha256."""
    x, y = x.detach().cpu().float(), y.detach().cpu().long()
    return Dataset(name=f"{data.name}-{name}", x_train=x, y_train=y, x_test=data.x_test,
                   y_test=data.y_test, class_names=data.class_names, bounds=data.bounds,
                   spec={"name": f"{data.name}-{name}", "source": data.spec, "recipe": recipe,
                         "sha256": sha256_of(x, y)})


@dataclass(frozen=True)
class Relabelled:
    """D_rand or D_det: the attacked points, their targets (the new labels), the points kept."""

    x_adv: torch.Tensor
    targets: torch.Tensor
    reached: torch.Tensor  # the standard model predicts the target on x + δ
    kept: torch.Tensor  # the points of the training set that enter the dataset
    gradients: int


def relabelled(model: Model, attack: Attack, x: torch.Tensor, y: torch.Tensor, eps: float, *,
               bounds: tuple[float, float], seed: int, keep: str) -> Relabelled:
    """Attack every point towards the attack's target rule and label it with its target;
    ``keep = "reached"`` keeps only the points where the model predicts the target after."""
    module = model.torch_module
    if module is None:
        raise ValueError(f"{type(model).__name__} has no torch module to attack")
    with GradientCount(module) as count:
        result = attack(model, x, y, eps, bounds=bounds, seed=seed)
    if result.targets is None:
        raise ValueError("the attack returned no targets: it must be targeted (target rule)")
    x_adv, targets = result.x_adv.cpu(), result.targets.cpu()
    with torch.no_grad():
        reached = model.predict(x_adv.to(model.device)).cpu() == targets
    kept = reached if keep == "reached" else torch.ones_like(reached)
    if not kept.any():
        raise ValueError("keep = 'reached': the attack reached its target on no training point; "
                         "raise attack_eps or the attack's steps, or keep = 'all'")
    return Relabelled(x_adv, targets, reached, kept, count.points)


def representation_layer(module: nn.Module, sample: torch.Tensor) -> nn.Linear:
    """The last ``nn.Linear`` a forward pass calls: its input is the representation g(x)."""
    called: list[nn.Linear] = []
    forward_hooked(module, sample, lambda layer, _, __: called.append(layer)
                   if isinstance(layer, nn.Linear) else None)
    if not called:
        raise ValueError(f"{type(module).__name__} has no linear layer: no representation "
                         "(the input of the last linear layer) to match")
    return called[-1]


def represent(module: nn.Module, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """g(x): the input of ``layer`` in a forward pass of ``module`` (differentiable), flat."""
    seen: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _, inputs, __: seen.append(inputs[0]))
    try:
        module(x)
    finally:
        handle.remove()
    return seen[-1].flatten(1)


@dataclass(frozen=True)
class Matched:
    """D_R or D_NR: the matched points, the starts, and ‖g(x_r) − g(x)‖₂ / ‖g(x)‖₂ per point
    before (at the start) and after the descent."""

    x_r: torch.Tensor
    start: torch.Tensor
    before: torch.Tensor
    after: torch.Tensor
    gradients: int


def starts(x: torch.Tensor, how: str, bounds: tuple[float, float], seed: int) -> torch.Tensor:
    """Where each descent starts: another training point (a seeded derangement: never the point
    itself), or noise: uniform within the bounds, or for unbounded data Gaussian with the
    training points' per-coordinate mean and standard deviation."""
    generator = torch.Generator().manual_seed(seed)
    if how == "noise":
        lo, hi = bounds
        if math.isfinite(lo) and math.isfinite(hi):
            return lo + (hi - lo) * torch.rand(x.shape, generator=generator)
        return x.mean(0) + x.std(0) * torch.randn(x.shape, generator=generator)
    n = len(x)
    order = torch.randperm(n, generator=generator)
    other = order.roll(1)  # i -> order[i - 1]: a cyclic derangement over a random order
    index = torch.empty(n, dtype=torch.long)
    index[order] = other
    return x[index].clone()


def matched(model: Model, x: torch.Tensor, start: torch.Tensor, *, steps: int,
            step_size: float, bounds: tuple[float, float]) -> Matched:
    """Normalised gradient descent on ‖g(x_r) − g(x)‖₂ from ``start``, with a step decaying
    linearly from ``step_size`` to 0, clipped to the data bounds after every step."""
    module = model.torch_module
    if module is None:
        raise ValueError(f"{type(model).__name__} has no torch module: no representation")
    device = model.device
    layer = representation_layer(module, x[:1].to(device))
    chunk = max(MATCH_MIN_POINTS, MATCH_VALUES // max(x[0].numel(), 1))
    parts: list[torch.Tensor] = []
    before: list[torch.Tensor] = []
    after: list[torch.Tensor] = []
    with GradientCount(module) as count:
        for first in range(0, len(x), chunk):
            goal_x = x[first : first + chunk].to(device)
            x_r = start[first : first + chunk].to(device)
            with torch.no_grad():
                goal = represent(module, layer, goal_x)
                size = goal.norm(dim=1).clamp_min(1e-12)
                before.append(((represent(module, layer, x_r) - goal).norm(dim=1) / size).cpu())
            for step in range(steps):
                x_r = x_r.detach().requires_grad_(True)
                loss = (represent(module, layer, x_r) - goal).norm(dim=1).sum()
                (grad,) = torch.autograd.grad(loss, x_r)
                size_now = step_size * (1 - step / steps)
                x_r = (x_r.detach() - size_now * steepest_ascent(grad, "l2")).clamp(*bounds)
            with torch.no_grad():
                after.append(((represent(module, layer, x_r) - goal).norm(dim=1) / size).cpu())
            parts.append(x_r.detach().cpu())
    return Matched(torch.cat(parts), start, torch.cat(before), torch.cat(after), count.points)


def relative_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖a − b‖₂ / ‖b‖₂ per point."""
    return perturbation_norm(a - b, "l2") / perturbation_norm(b, "l2").clamp_min(1e-12)
