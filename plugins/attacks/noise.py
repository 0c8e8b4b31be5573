"""Random noise at the attack's norm: the control row of every transfer study (Goodfellow et al.
2014 §6; Szegedy et al. 2013, Table 2). It needs nothing from the model.

``distribution``: ``sign`` (each coordinate ±eps: L-inf norm exactly eps), ``uniform`` (U(−eps, eps)
per coordinate) or ``gaussian`` (N(0, 1) scaled so its L-inf norm is eps). With ``norm="l2"`` every
draw is rescaled to L2 norm exactly eps. Seeded: the same seed gives the same noise.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import torch

from transfer import Attack, AttackResult, Model, Norm, hookimpl, perturbation_norm

Distribution = Literal["sign", "uniform", "gaussian"]
DISTRIBUTIONS = get_args(Distribution)


class Noise(Attack):
    """Seeded random perturbation of norm eps, independent of the model."""

    requires = frozenset()

    def __init__(
        self, distribution: Distribution = "sign", norm: Norm = "linf", clip: bool = True
    ) -> None:
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {', '.join(DISTRIBUTIONS)}, not {distribution!r}"
            )
        super().__init__(norm=norm, clip=clip, distribution=distribution)

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
        generator = torch.Generator().manual_seed(seed)
        draw = torch.randn(x.shape, generator=generator)
        if self.params["distribution"] == "sign":
            draw = draw.sign()
        elif self.params["distribution"] == "uniform":
            draw = torch.rand(x.shape, generator=generator) * 2 - 1
        if self.norm == "l2" or self.params["distribution"] == "gaussian":
            scale = perturbation_norm(draw, self.norm).clamp_min(1e-12)
            draw = draw / scale.view(-1, *([1] * (x.dim() - 1)))
        delta = eps * draw
        x = x.to(model.device)
        return self.finish(x, x + delta.to(x.device), eps, bounds)


@hookimpl
def register_attacks(register: Any) -> None:
    register("noise", Noise)
