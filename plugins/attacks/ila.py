"""ILA, the intermediate level attack (Huang et al. 2019, "Enhancing adversarial example
transferability with an intermediate level attack", the ILAP projection loss): first a guide
x' from the baseline attack (BIM, i.e. I-FGSM, ``guide_steps`` [10] steps), then ``steps`` [10]
I-FGSM steps of eps/steps that maximise the projection of the layer's change onto the guide's:

    L(x_adv) = (F_l(x_adv) − F_l(x)) · (F_l(x') − F_l(x)) / ‖F_l(x') − F_l(x)‖₂

with F_l the output of ``layer`` (a module name of the source network; default: its middle
layer, see ``features``). Untargeted, as the paper. ``decay`` > 0 adds momentum. Costs
``guide_steps`` + ``steps`` gradients per point (plus two forward passes).

Example::

    x_adv = ILA(layer="layer2")(resnet, x, y, eps=16 / 255, bounds=(0.0, 1.0)).x_adv
"""

from __future__ import annotations

from typing import Any

import torch

from transfer import Model, Norm, hookimpl

from .features import capturing, output_of, source_layer
from .mifgsm import MIFGSM
from .pgd import BIM


class ILA(MIFGSM):
    """Projection of the intermediate-layer change onto a baseline attack's, maximised."""

    def __init__(self, norm: Norm = "linf", steps: int = 10, decay: float = 0.0,
                 clip: bool = True, layer: str | None = None, guide_steps: int = 10,
                 **options: Any) -> None:
        if guide_steps < 1:
            raise ValueError(f"guide_steps must be at least 1, not {guide_steps}")
        super().__init__(norm, steps, decay, clip, "none", **options)
        self.params.update(layer=layer, guide_steps=guide_steps)
        self._layer: torch.nn.Module | None = None
        self._clean: torch.Tensor | None = None
        self._direction: torch.Tensor | None = None

    def prepare(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                targets: torch.Tensor | None, eps: float, bounds: tuple[float, float],
                generator: torch.Generator) -> None:
        self._layer = source_layer(model, self.params["layer"], "ila")
        guide = BIM(self.params["norm"], steps=self.params["guide_steps"], clip=self.clip)
        x_guide = guide(model, x, y, eps, bounds=bounds).x_adv
        self.gradients += self.params["guide_steps"] * len(x)
        with torch.no_grad(), capturing(self._layer) as captured:
            model.logits(x)
            assert captured.output is not None
            self._clean = captured.output.flatten(1)
            model.logits(x_guide)
            change = captured.output.flatten(1) - self._clean
        self._direction = change / change.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def objective(self, model: Model, x: torch.Tensor, y: torch.Tensor,
                  targets: torch.Tensor | None) -> torch.Tensor:
        assert self._layer is not None and self._clean is not None
        assert self._direction is not None
        change = output_of(model, self._layer, x).flatten(1) - self._clean
        return (change * self._direction).sum()


@hookimpl
def register_attacks(register: Any) -> None:
    register("ila", ILA)
