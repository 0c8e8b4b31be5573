"""The attack contract.

An attack is a small, stateless call ``attack(model, x, y, eps, bounds=..., seed=...)`` that
returns an :class:`AttackResult`: the adversarial batch (on the model's device, inside the
``eps``-ball of its norm and, unless ``clip=False``, inside the dataset's ``bounds``), the target
classes a targeted attack aimed at, and what the attack measured (queries, iterations).
``requires`` names the model capabilities it needs.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

import torch

from ..mathematics.chunking import points_per_chunk
from ..mathematics.geometry import per_sample_norm, project
from .attack_checks import AttackOutputError, check_attack_output
from .models import GRADIENTS, Model
from .traits import ModelTraits

Norm = Literal["linf", "l2"]
TargetRule = Literal["none", "random", "least-likely", "next", "dataset"]
NORMS: tuple[str, ...] = get_args(Norm)
TARGET_RULES: tuple[str, ...] = get_args(TargetRule)


@dataclass(frozen=True)
class AttackResult:
    """What an attack call did: ``x_adv`` (detached, the shape of ``x``), the ``targets`` of a
    targeted attack (else ``None``), ``measures`` such as ``{"queries_mean": ...}``, and the
    ``perturbation`` an attack adds unchanged to every point (a universal one), if any."""

    x_adv: torch.Tensor
    targets: torch.Tensor | None = None
    measures: dict[str, float] = field(default_factory=dict)
    perturbation: torch.Tensor | None = None  # the one perturbation of a universal attack


class Attack(ABC):
    """Base of every attack. Subclasses pass all their parameters to ``__init__``.

    Every subclass's ``__call__`` is wrapped so that its output is checked (see
    ``attack_checks``): a batch of the wrong shape, NaN/inf, or points outside the eps-ball or
    (when clipping) the bounds raise ``AttackOutputError`` instead of being measured. The wrapper
    also splits a batch too large for memory into chunks (``chunking``; ``chunked = False`` for
    an attack whose points interact)."""

    requires: ClassVar[frozenset[str]] = frozenset({GRADIENTS})
    learns: ClassVar[bool] = False  # True: call ``learn`` on training points before attacking
    chunked: ClassVar[bool] = True  # False: the points interact, never split them into chunks
    minimal: ClassVar[bool] = False  # True: moves each point only as far as it needs (eps
    # caps the move), so a study compares it with noise of its own size, not of size eps
    name: str = ""  # the registered name, set when the attack is built for a study

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is not None and not getattr(call, "checked", False):
            cls.__call__ = _checked(call)  # type: ignore[method-assign]

    def __init__(self, *, norm: str = "linf", clip: bool = True, **params: Any) -> None:
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, not {norm!r}")
        target = params.get("target", "none")
        if target not in TARGET_RULES:
            raise ValueError(f"target must be one of {', '.join(TARGET_RULES)}, not {target!r}")
        self.norm = norm
        self.clip = clip
        self.params = {"norm": norm, "clip": clip, **params}
        self.given_targets: torch.Tensor | None = None  # for target = "dataset", per call

    def learn(self, model: Model, x: torch.Tensor, y: torch.Tensor, eps: float, *,
              bounds: tuple[float, float], seed: int = 0) -> None:
        """For an attack that ``learns`` (a universal perturbation): learn from the model's
        training points before it is applied to test points. Others need nothing."""
        return None

    def supports(self, traits: ModelTraits) -> str | None:
        """Why this attack cannot run on a model with these traits, or ``None`` when it can."""
        return traits.missing(self.requires, type(self).__name__)

    def chosen_targets(
        self, model: Model, x: torch.Tensor, y: torch.Tensor, seed: int
    ) -> torch.Tensor | None:
        """The target classes of a targeted attack (``target`` parameter), else ``None``.

        ``random``: a uniformly random other class (seeded); ``least-likely``: the class the
        model scores lowest on the clean input (Kurakin et al. 2016); ``next``: (y + 1) mod the
        number of classes (Ilyas et al. 2019's deterministic D_det); ``dataset``: the targets the
        caller passed (``attack(..., targets=...)``: a dataset's ``targets_test``).
        """
        rule = self.params.get("target", "none")
        if rule == "none":
            return None
        if rule == "dataset":
            if self.given_targets is None:
                raise ValueError('target = "dataset" needs a dataset that names a target class '
                                 "per test point (image-folder: labels.csv with a "
                                 "targeted_label column)")
            return self.given_targets.to(y.device)
        n_classes = model.n_classes or int(y.max()) + 1
        if rule == "next":
            return (y + 1).remainder(n_classes)
        if rule == "random":
            generator = torch.Generator().manual_seed(seed)
            offset = torch.randint(1, n_classes, (len(y),), generator=generator)
            return (y.cpu() + offset).remainder(n_classes).to(y.device)
        with torch.no_grad():
            return model.logits(x.to(model.device)).argmin(dim=1).to(y.device)

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
    ) -> AttackResult:
        """The adversarial version of ``x`` and what the attack did."""

    def with_targets(self, model: Model, x: torch.Tensor, y: torch.Tensor, eps: float, *,
                     bounds: tuple[float, float], seed: int = 0,
                     targets: torch.Tensor | None = None) -> AttackResult:
        """The call, with one target class per point (a dataset's ``targets_of``) for
        ``target = "dataset"``; the other rules ignore ``targets``."""
        return self(model, x, y, eps, bounds=bounds, seed=seed,  # type: ignore[call-arg]
                    targets=targets)

    def finish(
        self,
        x: torch.Tensor,
        x_adv: torch.Tensor,
        eps: float,
        bounds: tuple[float, float],
        *,
        targets: torch.Tensor | None = None,
        measures: dict[str, float] | None = None,
    ) -> AttackResult:
        """The result of a call: ``x_adv`` constrained (see ``constrain``), the targets and the
        measures."""
        return AttackResult(self.constrain(x, x_adv, eps, bounds), targets, dict(measures or {}))

    def constrain(
        self, x: torch.Tensor, x_adv: torch.Tensor, eps: float, bounds: tuple[float, float]
    ) -> torch.Tensor:
        """Project ``x_adv`` onto the eps-ball around ``x`` and, if clipping, onto the bounds.

        Points already inside the ball are returned exactly as given (no ``x + (x_adv - x)``
        rounding), which matters to attacks that place points right at a decision threshold."""
        if self.norm == "linf":
            x_adv = torch.clamp(x_adv, min=x - eps, max=x + eps)
        else:
            delta = x_adv - x
            inside = per_sample_norm(delta, self.norm) <= eps
            x_adv = torch.where(inside, x_adv, x + project(delta, eps, self.norm))
        if self.clip:
            x_adv = x_adv.clamp(*bounds)
        return x_adv.detach()


def _checked(call: Callable[..., Any]) -> Callable[..., AttackResult]:
    signature = inspect.signature(call)

    @functools.wraps(call)
    def checked(self: Attack, *args: Any, targets: torch.Tensor | None = None,
                **kwargs: Any) -> AttackResult:
        """The call, chunked, its output checked; ``targets``: one target class per point, used
        by ``target = "dataset"`` (ignored by the other rules)."""
        given = signature.bind(self, *args, **kwargs)
        given.apply_defaults()
        arguments = {k: v for k, v in given.arguments.items() if k != "self"}
        x, y = arguments["x"], arguments["y"]
        size = points_per_chunk(arguments["model"], x) if self.chunked else len(x)

        def part(start: int, stop: int, **changed: Any) -> Any:
            self.given_targets = None if targets is None else targets[start:stop]
            try:
                return call(self, **{**arguments, **changed})
            finally:
                self.given_targets = None

        if len(x) <= size:
            result = part(0, len(x))
        else:  # chunk i is attacked with seed + i (chunk 0 as the whole batch would be)
            seed = arguments.get("seed", 0)
            result = _joined([part(start, start + size, x=x[start : start + size],
                                   y=y[start : start + size],
                                   **({"seed": seed + i} if "seed" in arguments else {}))
                              for i, start in enumerate(range(0, len(x), size))])
        name = self.name or type(self).__name__
        if not isinstance(result, AttackResult):
            raise AttackOutputError(
                f"attack {name!r} returned {type(result).__name__}, not an AttackResult"
            )
        bounds = given.arguments.get("bounds") if self.clip else None
        check_attack_output(name, self.norm, given.arguments["x"], result.x_adv,
                            float(given.arguments["eps"]), bounds)
        return result

    checked.checked = True  # type: ignore[attr-defined]
    return checked


def _joined(parts: list[Any]) -> Any:
    """The results of consecutive chunks as one: batches and targets concatenated, measures
    averaged over points (a part that is no ``AttackResult`` is returned for the checks)."""
    wrong = next((part for part in parts if not isinstance(part, AttackResult)), None)
    if wrong is not None:
        return wrong
    sizes = [len(part.x_adv) for part in parts]
    targets = [part.targets for part in parts]
    keys = set().union(*(part.measures for part in parts))
    return AttackResult(
        torch.cat([part.x_adv for part in parts]),
        torch.cat(targets) if all(t is not None for t in targets) else None,  # type: ignore[misc]
        {k: sum(n * part.measures.get(k, 0.0) for n, part in zip(sizes, parts, strict=True))
         / sum(sizes) for k in keys},
        parts[0].perturbation)
