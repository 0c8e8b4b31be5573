"""The attack contract and the tensor operations attacks share.

An attack is a small, stateless call ``attack(model, x, y, eps, bounds=..., seed=...) -> x_adv``:
batched, on the model's device, inside the ``eps``-ball of its norm and (unless ``clip=False``)
inside the dataset's ``bounds``. ``requires`` names the model capabilities it needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch

from .models import GRADIENTS, Model

NORMS = ("linf", "l2")
TARGET_RULES = ("none", "random", "least-likely")


class Attack(ABC):
    """Base of every attack. Subclasses pass all their parameters to ``__init__``."""

    requires: ClassVar[frozenset[str]] = frozenset({GRADIENTS})

    def __init__(self, *, norm: str = "linf", clip: bool = True, **params: Any) -> None:
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, not {norm!r}")
        target = params.get("target", "none")
        if target not in TARGET_RULES:
            raise ValueError(f"target must be one of {', '.join(TARGET_RULES)}, not {target!r}")
        self.norm = norm
        self.clip = clip
        self.params = {"norm": norm, "clip": clip, **params}
        self.stats: dict[str, float] = {}  # what the last call measured (e.g. queries used)

    def chosen_targets(
        self, model: Model, x: torch.Tensor, y: torch.Tensor, seed: int
    ) -> torch.Tensor | None:
        """The target classes of a targeted attack (``target`` parameter), else ``None``.

        ``random``: a uniformly random other class (seeded); ``least-likely``: the class the
        model scores lowest on the clean input (Kurakin et al. 2016).
        """
        rule = self.params.get("target", "none")
        if rule == "none":
            return None
        if rule == "random":
            n_classes = model.n_classes or int(y.max()) + 1
            generator = torch.Generator().manual_seed(seed)
            offset = torch.randint(1, n_classes, (len(y),), generator=generator)
            return (y.cpu() + offset).remainder(n_classes).to(y.device)
        with torch.no_grad():
            return model.logits(x.to(model.device)).argmin(dim=1).to(y.device)

    def supports(self, model: Model) -> str | None:
        """Why this attack cannot run on ``model``, or ``None`` when it can."""
        missing = sorted(self.requires - model.capabilities)
        if missing:
            return (
                f"{type(self).__name__} needs {', '.join(missing)}, "
                f"which {type(model).__name__} does not have (capabilities: "
                f"{', '.join(sorted(model.capabilities))})"
            )
        return None

    @abstractmethod
    def __call__(
        self,
        model: Model,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        *,
        bounds: tuple[float, float],
        seed: int = 0,
    ) -> torch.Tensor:
        """Adversarial version of ``x`` (same shape, detached)."""

    def finish(
        self, x: torch.Tensor, x_adv: torch.Tensor, eps: float, bounds: tuple[float, float]
    ) -> torch.Tensor:
        """Project ``x_adv`` onto the eps-ball around ``x`` and, if clipping, onto the bounds.

        Points already inside the ball are returned exactly as given (no ``x + (x_adv - x)``
        rounding), which matters to attacks that place points right at a decision threshold."""
        if self.norm == "linf":
            x_adv = torch.clamp(x_adv, min=x - eps, max=x + eps)
        else:
            delta = x_adv - x
            inside = _per_sample_norm(delta, self.norm) <= eps
            x_adv = torch.where(inside, x_adv, x + project(delta, eps, self.norm))
        if self.clip:
            x_adv = x_adv.clamp(*bounds)
        return x_adv.detach()


def loss_gradient(
    model: Model, x: torch.Tensor, y: torch.Tensor, targets: torch.Tensor | None = None
) -> torch.Tensor:
    """The direction that makes the attack succeed, w.r.t. the input only (no parameter
    gradients): ∇ₓ of the summed cross-entropy with the true labels ``y``, or, for a targeted
    attack, −∇ₓ of the cross-entropy with the ``targets`` (``Model.loss``)."""
    x = x.detach().requires_grad_(True)
    labels = y if targets is None else targets
    (grad,) = torch.autograd.grad(model.loss(x, labels.to(x.device)), x)
    return grad if targets is None else -grad


def _per_sample_norm(v: torch.Tensor, norm: str) -> torch.Tensor:
    flat = v.flatten(1)
    value = flat.abs().amax(dim=1) if norm == "linf" else flat.norm(dim=1)
    return value.view(-1, *([1] * (v.dim() - 1)))


def steepest_ascent(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The unit-norm direction of steepest ascent: ``sign(g)`` for L-inf, ``g/‖g‖₂`` for L2."""
    if norm == "linf":
        return grad.sign()
    return grad / _per_sample_norm(grad, "l2").clamp_min(1e-12)


def project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """Euclidean projection of each sample of ``delta`` onto the ``eps``-ball of ``norm``."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    scale = (eps / _per_sample_norm(delta, "l2").clamp_min(1e-12)).clamp(max=1.0)
    return delta * scale


def perturbation_norm(delta: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-sample norm of a perturbation, shape ``(n,)``."""
    return _per_sample_norm(delta, norm).flatten()


def random_in_ball(
    shape: torch.Size, eps: float, norm: str, generator: torch.Generator
) -> torch.Tensor:
    """Uniform samples from the ``eps``-ball of ``norm`` (seeded through ``generator``)."""
    if norm == "linf":
        return (torch.rand(shape, generator=generator) * 2 - 1) * eps
    direction = torch.randn(shape, generator=generator)
    direction = direction / _per_sample_norm(direction, "l2").clamp_min(1e-12)
    dim = direction[0].numel()
    radius = torch.rand(shape[0], generator=generator) ** (1.0 / dim) * eps
    return direction * radius.view(-1, *([1] * (len(shape) - 1)))
