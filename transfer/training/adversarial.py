"""Adversarial training, the "harnessing" half of Goodfellow et al. (2014): the settings every
torch model family takes as ``params.adversarial``, and the examples and objective it trains on.

Methods (``method``):

- ``fgsm`` (Goodfellow et al. 2014, §6): J̃ = α·J(x) + (1 − α)·J(x + eps·sign ∇ₓJ), α = 0.5.
- ``pgd`` (Madry et al. 2017): train on PGD examples from a random start in the eps-ball
  (``steps``, ``step_size`` = 2.5·eps/steps by default, ``restarts``: the worst start per point).
- ``fgsm-rs`` (Wong et al. 2020, "fast is better than free"): one step of 1.25·eps from a uniform
  random start, projected. Its failure mode, catastrophic overfitting, shows as the held-out PGD
  accuracy collapsing; the epoch kept is the one with the best held-out PGD accuracy.
- ``deepfool-finetune`` (Moosavi-Dezfooli et al. 2016, §4.3): the clean model, then ``epochs``
  more epochs at ``lr_factor``·lr on DeepFool examples (L2; unbounded unless ``eps`` is given).

``alpha`` weighs the clean loss (0.5 for ``fgsm``, 0 otherwise: the others train on adversarial
examples only). ``attack`` replaces the method's own attack by any registered attack, a plugin's
too. Examples are crafted with the network in eval mode from input gradients only (no parameter
gradient is accumulated); training then resumes in train mode. Every epoch the held-out split is
attacked with PGD at ``eps`` (``eval_steps`` steps): the robust accuracy that selects the epoch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, get_args

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from ..contracts.attacks import Attack, Norm
from ..contracts.specs import AttackSpec
from ..mathematics.geometry import perturbation_norm

if TYPE_CHECKING:
    from ..contracts.models import Model
    from ..plugging.registry import Registry

Method = Literal["fgsm", "pgd", "fgsm-rs", "deepfool-finetune"]
METHODS: tuple[str, ...] = get_args(Method)


class AdversarialTraining(BaseModel):
    """What ``params.adversarial`` of a torch model family holds (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Method
    eps: float | None = Field(default=None, gt=0)
    norm: Norm | None = None  # linf; l2 for deepfool-finetune
    alpha: float | None = Field(default=None, ge=0, le=1)
    steps: int = Field(default=7, ge=1)
    step_size: float | None = Field(default=None, gt=0)
    restarts: int = Field(default=1, ge=1)
    epochs: int = Field(default=5, ge=1)  # deepfool-finetune's extra epochs
    lr_factor: float = Field(default=0.5, gt=0)  # deepfool-finetune's learning rate factor
    eval_steps: int = Field(default=10, ge=1)
    attack: AttackSpec | None = None

    @model_validator(mode="after")
    def _budget(self) -> AdversarialTraining:
        if self.eps is None and self.method != "deepfool-finetune":
            raise ValueError(f"method {self.method!r} needs eps, the training budget "
                             "(e.g. eps = 0.1)")
        return self

    @property
    def finetunes(self) -> bool:
        return self.method == "deepfool-finetune"

    @property
    def clean_weight(self) -> float:
        """α, the weight of the clean loss."""
        if self.alpha is not None:
            return self.alpha
        return 0.5 if self.method == "fgsm" else 0.0

    @property
    def budget(self) -> float:
        return self.eps if self.eps is not None else math.inf

    @property
    def norm_used(self) -> str:
        return self.norm or ("l2" if self.finetunes else "linf")

    def crafting_attack(self) -> AttackSpec:
        """The attack whose examples the model trains on."""
        if self.attack is not None:
            return self.attack
        norm = self.norm_used
        if self.method == "fgsm":
            return AttackSpec(name="fgsm" if norm == "linf" else "fgm", params={"norm": norm})
        if self.method == "deepfool-finetune":
            return AttackSpec(name="deepfool", params={"norm": norm})
        steps = self.steps if self.method == "pgd" else 1
        default_step = 2.5 * self.budget / steps if self.method == "pgd" else 1.25 * self.budget
        return AttackSpec(name="pgd", params={"norm": norm, "steps": steps,
                                              "alpha": self.step_size or default_step,
                                              "random_start": True})

    def evaluation_attack(self) -> AttackSpec | None:
        """The held-out check: PGD at eps (none for an unbounded DeepFool fine-tuning)."""
        if self.eps is None:
            return None
        return AttackSpec(name="pgd", params={"norm": self.norm_used, "steps": self.eval_steps,
                                              "random_start": True})


def rho_adv(l2: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Moosavi-Dezfooli et al.'s robustness per point: a perturbation's L2 norm ``l2`` (shape
    ``(n,)``) relative to the point's, ‖r‖₂ / ‖x‖₂."""
    return l2 / perturbation_norm(x, "l2").to(l2).clamp_min(1e-12)


class AdversarialExamples:
    """Crafts the training and held-out examples of one model being trained (``model``, whose
    ``logits`` run the network being trained) and computes the training objective."""

    def __init__(self, settings: AdversarialTraining, model: Model, net: nn.Module,
                 bounds: tuple[float, float], registry: Registry) -> None:
        self.settings, self.model, self.net, self.bounds = settings, model, net, bounds
        self.attack = _build(registry, settings.crafting_attack())
        check = settings.evaluation_attack()
        self.check = _build(registry, check) if check is not None else None

    def craft(self, attack: Attack, x: torch.Tensor, y: torch.Tensor, seed: int
              ) -> torch.Tensor:
        """``attack``'s examples against the network in eval mode (train mode restored)."""
        was_training = self.net.training
        self.net.eval()
        try:
            best = attack(self.model, x, y, self.settings.budget, bounds=self.bounds,
                          seed=seed).x_adv
            for restart in range(1, self.settings.restarts):  # keep each point's worst start
                other = attack(self.model, x, y, self.settings.budget, bounds=self.bounds,
                               seed=seed + 7919 * restart).x_adv
                with torch.no_grad():
                    worse = _losses(self.net, other, y) > _losses(self.net, best, y)
                best = torch.where(worse.view(-1, *[1] * (x.dim() - 1)), other, best)
        finally:
            self.net.train(was_training)
        return best.detach()

    def objective(self, x: torch.Tensor, y: torch.Tensor, seed: int
                  ) -> tuple[torch.Tensor, float]:
        """α·CE(x) + (1 − α)·CE(x_adv) on one batch (mean over the batch), and CE(x_adv)."""
        x_adv = self.craft(self.attack, x, y, seed)
        alpha = self.settings.clean_weight
        adversarial = nn.functional.cross_entropy(self.net(x_adv), y)
        loss = adversarial if alpha == 0 else (
            alpha * nn.functional.cross_entropy(self.net(x), y) + (1 - alpha) * adversarial)
        return loss, adversarial.item()

    def held_out(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> dict[str, float]:
        """On the held-out split (network in eval mode): the loss on the training attack's
        examples, and the PGD accuracy at eps (or, unbounded, the mean ρ_adv of the examples)."""
        x_adv = self.craft(self.attack, x, y, seed)
        with torch.no_grad():
            measured = {"valid_adversarial_loss":
                        nn.functional.cross_entropy(self.net(x_adv), y).item()}
        if self.check is None:
            rho = rho_adv(perturbation_norm(x_adv - x, "l2"), x)
            measured["valid_rho_adv"] = rho.mean().item()
            return measured
        x_pgd = self.craft(self.check, x, y, seed + 1)
        with torch.no_grad():
            correct = self.net(x_pgd).argmax(dim=1) == y
        measured["valid_robust_accuracy"] = correct.float().mean().item()
        return measured


def _build(registry: Registry, spec: AttackSpec) -> Attack:
    attack: Attack = registry.create("attack", spec.name, **spec.params)
    attack.name = spec.name
    return attack


def _losses(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(net(x), y, reduction="none")
