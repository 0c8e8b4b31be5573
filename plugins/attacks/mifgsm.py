"""Momentum iterative FGSM (Dong et al. 2018, "Boosting adversarial attacks with momentum",
Algorithm 1), the standard transfer booster, and the engine the other transfer attacks compose:

    g_{t+1} = μ·g_t + ĝ(x_t) / ‖ĝ(x_t)‖₁,    x_{t+1} = Π(x_t + α·sign(g_{t+1}))

with α = eps/steps, μ = ``decay`` and Π the projection onto the eps-ball and the bounds (L2: the
step is α·g/‖g‖₂). ĝ is the loss gradient, changed by what is switched on (each a parameter, so
they compose: DI-TI-MI is ``transforms = ["diversity", "translation"]``):

- ``nesterov``: ĝ at the look-ahead point x_t + α·μ·g_t (NI-FGSM, Lin et al. 2020);
- ``variance_samples`` N > 0: ĝ + v_t, v_t the mean gradient at N uniform points within
  ``variance_bound``·eps of x_{t−1} minus the gradient there (VMI-FGSM, Wang & He 2021);
- ``transforms``: ĝ averaged over transformed copies of the input (``input_transforms``:
  ``diversity``, ``scale``, ``admix``) and smoothed by ``translation``;
- ``backward``: ``"sgm"`` (skip gradient, ``gamma``) or ``"linbp"`` (linear backward from
  ``linear_from``), the source's backward pass changed while crafting (``backward_passes``).

With none of them this is Dong et al.'s MI-FGSM; with ``decay = 0`` it is BIM (I-FGSM).
``target = "random"``, ``"least-likely"``, ``"next"`` or ``"dataset"`` makes it targeted. The
attack logs ``attack_gradients_per_point``: the backward passes it took per point, counted.

Example::

    x_adv = MIFGSM(steps=10, decay=1.0)(model, x, y, eps=0.1, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Literal

import torch

from transfer import (
    Attack,
    AttackResult,
    Model,
    Norm,
    TargetRule,
    hookimpl,
    points_per_chunk,
    steepest_ascent,
)

from .backward_passes import linear_backward, skip_gradient
from .input_transforms import Copy, TransformSettings, copies, translated

Backward = Literal["none", "sgm", "linbp"]


class MIFGSM(Attack):
    """Iterative FGSM whose step follows an accumulated, L1-normalised gradient (momentum)."""

    def __init__(
        self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0, clip: bool = True,
        target: TargetRule = "none", nesterov: bool = False, variance_samples: int = 0,
        variance_bound: float = 1.5, transforms: Sequence[str] = (),
        diversity_prob: float = 0.5, resize_rate: float = 1.1, scale_copies: int = 5,
        admix_copies: int = 3, admix_portion: float = 0.2, kernel_size: int = 15,
        kernel_sigma: float = 3.0, backward: Backward = "none", gamma: float = 0.2,
        linear_from: str | None = None,
    ) -> None:
        if steps < 1:
            raise ValueError(f"steps must be at least 1, not {steps}")
        if variance_samples < 0 or variance_bound < 0:
            raise ValueError("variance_samples and variance_bound must not be negative")
        if backward not in ("none", "sgm", "linbp"):
            raise ValueError(f"backward must be none, sgm or linbp, not {backward!r}")
        settings = TransformSettings(diversity_prob, resize_rate, scale_copies, admix_copies,
                                     admix_portion, kernel_size, kernel_sigma)
        settings.check(transforms)
        super().__init__(
            norm=norm, clip=clip, steps=steps, decay=decay, target=target, nesterov=nesterov,
            variance_samples=variance_samples, variance_bound=variance_bound,
            transforms=list(transforms), diversity_prob=diversity_prob, resize_rate=resize_rate,
            scale_copies=scale_copies, admix_copies=admix_copies, admix_portion=admix_portion,
            kernel_size=kernel_size, kernel_sigma=kernel_sigma, backward=backward, gamma=gamma,
            linear_from=linear_from)
        self.settings = settings
        self.gradients = 0  # points through a forward and backward pass in the current call

    def __call__(
        self,
        model: Model,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        *,
        bounds: tuple[float, float],
        seed: int = 0,
    ) -> AttackResult:
        p = self.params
        steps, decay = p["steps"], p["decay"]
        x = x.to(model.device)
        targets = self.chosen_targets(model, x, y, seed)
        generator = torch.Generator().manual_seed(seed)
        alpha = eps / steps
        momentum = torch.zeros_like(x)
        variance = torch.zeros_like(x)
        x_adv = x
        self.gradients = 0
        with self.backward_pass(model) as changed:
            self.prepare(model, x, y, targets, eps, bounds, generator)
            for _ in range(steps):
                at = x_adv + alpha * decay * momentum if p["nesterov"] else x_adv
                grad = self.gradient(model, at, y, targets, generator)
                if p["variance_samples"]:  # this step uses the variance of the last one
                    tuned = grad + variance
                    variance = self.variance(model, x_adv, y, targets, grad, eps, generator)
                    grad = tuned
                l1 = grad.abs().flatten(1).sum(1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
                momentum = decay * momentum + grad / l1
                x_adv = self.constrain(x, x_adv + alpha * steepest_ascent(momentum, self.norm),
                                       eps, bounds)
        measures = {"gradients_per_point": self.gradients / len(x)}
        if p["backward"] != "none":
            measures[f"{p['backward']}_modules"] = float(changed)
        return AttackResult(x_adv, targets, measures)

    def backward_pass(self, model: Model) -> contextlib.AbstractContextManager[int]:
        """SGM's or LinBP's backward pass over the source's torch module, or nothing."""
        backward = self.params["backward"]
        if backward == "none":
            return contextlib.nullcontext(0)
        module = model.torch_module
        if module is None:
            raise ValueError(f"backward = {backward!r} needs a torch module; "
                             f"{type(model).__name__} has none")
        if backward == "sgm":
            return skip_gradient(module, self.params["gamma"])
        return linear_backward(module, self.params["linear_from"])

    def prepare(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                targets: torch.Tensor | None, eps: float, bounds: tuple[float, float],
                generator: torch.Generator) -> None:
        """Work done once per call before the steps (a feature-level attack's guide)."""
        return None

    def objective(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                  targets: torch.Tensor | None) -> torch.Tensor:
        """What the attack ascends: the summed cross-entropy with the labels, or minus that with
        the targets (``Model.loss``); feature-level attacks replace it."""
        if targets is None:
            return model.loss(x, y)
        return -model.loss(x, targets)

    def gradient(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                 targets: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
        """ĝ: the objective's input gradient averaged over the transformed copies, smoothed by
        ``translation``. The copies go through the model together, as many per batch as the
        memory at hand allows (``points_per_chunk``); an attack with its own objective takes
        them one at a time."""
        made: list[Copy] = copies(x, self.params["transforms"], self.settings, generator)
        own = type(self).objective is not MIFGSM.objective
        group = 1 if own else max(1, points_per_chunk(model, x, len(x) * len(made)) // len(x))
        total = torch.zeros_like(x)
        for start in range(0, len(made), group):
            part = made[start:start + group]
            point = x.detach().requires_grad_(True)
            batch = torch.cat([transform(point) for transform in part])
            labels = y.repeat(len(part))
            aimed = None if targets is None else targets.repeat(len(part))
            (grad,) = torch.autograd.grad(self.objective(model, batch, labels, aimed), point)
            total += grad
            self.gradients += len(part) * len(x)  # points through a forward and backward
        total /= len(made)
        if "translation" in self.params["transforms"]:
            total = translated(total, self.settings.kernel_size, self.settings.kernel_sigma)
        return total

    def variance(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                 targets: torch.Tensor | None, grad: torch.Tensor, eps: float,
                 generator: torch.Generator) -> torch.Tensor:
        """v: the mean of ĝ at ``variance_samples`` uniform points of the L-inf cube of side
        2·``variance_bound``·eps around x, minus ĝ(x) (Wang & He 2021, eq. 7). Without input
        transformations the samples go through the model together, as many as memory allows."""
        bound = self.params["variance_bound"] * eps
        samples = self.params["variance_samples"]
        shifts = [(torch.rand(x.shape, generator=generator) * 2 - 1).to(x) * bound
                  if not self.params["transforms"] else None for _ in range(samples)]
        together = 1 if self.params["transforms"] else max(
            1, points_per_chunk(model, x, len(x) * samples) // len(x))
        total = torch.zeros_like(x)
        for start in range(0, samples, together):
            part = shifts[start:start + together]
            if part[0] is None:  # transformations draw from the generator between samples
                shift = (torch.rand(x.shape, generator=generator) * 2 - 1).to(x) * bound
                total += self.gradient(model, x + shift, y, targets, generator)
                continue
            points = torch.cat([x + shift for shift in part if shift is not None])
            repeated = None if targets is None else targets.repeat(len(part))
            grads = self.gradient(model, points, y.repeat(len(part)), repeated, generator)
            total += grads.view(len(part), *x.shape).sum(dim=0)
        return total / samples - grad


@hookimpl
def register_attacks(register: Any) -> None:
    register("mifgsm", MIFGSM)
