"""FIA, the feature importance-aware attack (Wang et al. 2021, "Feature importance-aware
transferable adversarial attacks", eq. 5-6): the aggregate gradient Δ of the true class's logit
with respect to the output F_l of ``layer``, summed over ``copies`` [30] copies of the input whose
pixels are each dropped with probability ``drop_rate`` [0.3] and normalised per point, weighs the
features; MI-FGSM (10 steps of eps/10, decay 1.0) then lowers the weighted features:

    L(x_adv) = −Σ Δ ⊙ F_l(x_adv)

so features that support the true class shrink and those against it grow. ``layer``: a module
name of the source network (default: its middle layer, see ``features``). Untargeted, as the
paper. Costs ``copies`` + ``steps`` gradients per point.

Example::

    x_adv = FIA(layer="layer2")(resnet, x, y, eps=16 / 255, bounds=(0.0, 1.0), seed=0).x_adv
"""

from __future__ import annotations

from typing import Any

import torch

from transfer import Model, Norm, hookimpl

from .features import capturing, output_of, source_layer
from .mifgsm import MIFGSM


class FIA(MIFGSM):
    """MI-FGSM on the intermediate features, weighted by their aggregate gradient."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 1.0,
                 clip: bool = True, layer: str | None = None, copies: int = 30,
                 drop_rate: float = 0.3, **options: Any) -> None:
        if copies < 1 or not 0 <= drop_rate < 1:
            raise ValueError("copies must be at least 1 and drop_rate lie in [0, 1)")
        super().__init__(norm, steps, decay, clip, "none", **options)
        self.params.update(layer=layer, copies=copies, drop_rate=drop_rate)
        self._layer: torch.nn.Module | None = None
        self._weights: torch.Tensor | None = None

    def prepare(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                targets: torch.Tensor | None, eps: float, bounds: tuple[float, float],
                generator: torch.Generator) -> None:
        self._layer = source_layer(model, self.params["layer"], "fia")
        total: torch.Tensor | float = 0.0
        for _ in range(self.params["copies"]):
            keep = (torch.rand(x.shape, generator=generator) >= self.params["drop_rate"]).to(x)
            point = (x * keep).detach().requires_grad_(True)
            with capturing(self._layer) as captured:
                logits = model.logits(point)
            assert captured.output is not None
            true_class = logits.gather(1, y.to(logits.device).view(-1, 1)).sum()
            (grad,) = torch.autograd.grad(true_class, captured.output)
            total = total + grad
            self.gradients += len(x)
        assert isinstance(total, torch.Tensor)
        norm = total.flatten(1).norm(dim=1).clamp_min(1e-12)
        self._weights = (total / norm.view(-1, *([1] * (total.dim() - 1)))).detach()

    def objective(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                  targets: torch.Tensor | None) -> torch.Tensor:
        assert self._layer is not None and self._weights is not None
        return -(self._weights * output_of(model, self._layer, x)).sum()


@hookimpl
def register_attacks(register: Any) -> None:
    register("fia", FIA)
