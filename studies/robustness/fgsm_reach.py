"""FGSM's robustness the DeepFool paper's way (Moosavi-Dezfooli et al. 2016, Table 1): the
smallest eps at which x + eps·sign ∇ₓJ misclassifies ``share`` (90%) of the test points, one eps
for the whole set, and ρ_adv = mean ‖eps·sign ∇ₓJ‖₂/‖x‖₂ at that eps, next to DeepFool's ρ_adv
(mean ‖r*‖₂/‖x‖₂ over the points it fools), with a bootstrap over the test points of their ratio.

The error is read at each point's own first flip along the sign (the only eps where the error
can rise), from the median flip upwards; a resample of the points re-reads the 90% eps from the
same per-point flags. Used by the robustness study's cell; read by nothing else."""

from __future__ import annotations

import math

import torch
from pydantic import BaseModel, ConfigDict

from transfer import Model

SHARE = 0.9  # "the smallest eps such that 90% of the data are misclassified"
DRAWS = 2000


class FgsmReach(BaseModel):
    """One model: FGSM's 90% eps and ρ_adv, DeepFool's ρ_adv, their ratio with a 95% point
    bootstrap interval, and the points behind each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eps: float  # inf when FGSM never misclassifies the share
    rho_fgsm: float
    rho_deepfool: float
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    points: int
    deepfool_points: int  # points DeepFool fooled (its ρ's denominator)

    def text(self) -> str:
        return (f"ρ FGSM {self.rho_fgsm:.3f} (eps {self.eps:.3g}, {self.points} points) / "
                f"ρ DeepFool {self.rho_deepfool:.3f} ({self.deepfool_points} points) = "
                f"{self.ratio:.2f} [{self.ratio_ci_low:.2f}, {self.ratio_ci_high:.2f}]")


def _first_reaching(flags: torch.Tensor, weights: torch.Tensor, share: float) -> torch.Tensor:
    """Per row of ``weights`` (resampled point counts), the index of the first candidate eps
    whose weighted error reaches ``share`` (len(candidates) when none does)."""
    errors = weights @ flags.double() / weights.sum(dim=1, keepdim=True)  # (draws, candidates)
    reached = errors >= share - 1e-12
    first = reached.double().argmax(dim=1)
    return torch.where(reached.any(dim=1), first, torch.full_like(first, flags.shape[1]))


def fgsm_reach(model: Model, x: torch.Tensor, y: torch.Tensor, sign: torch.Tensor,
               fgsm_l2: torch.Tensor, deepfool_l2: torch.Tensor, seed: int,
               share: float = SHARE, draws: int = DRAWS) -> FgsmReach:
    """``sign`` = sign ∇ₓJ per point; ``fgsm_l2`` the L2 length of each point's first flip along
    it (inf: none), ``deepfool_l2`` DeepFool's ‖r*‖₂ (inf: not fooled)."""
    n = len(x)
    sign_l2 = sign.flatten(1).norm(dim=1).cpu().double().clamp_min(1e-12)
    x_l2 = x.flatten(1).norm(dim=1).cpu().double().clamp_min(1e-12)
    first_eps = fgsm_l2.double() / sign_l2
    finite = torch.sort(first_eps[torch.isfinite(first_eps)]).values
    candidates = finite[len(finite) // 2:] * (1 + 1e-6)  # the fooled side of each flip
    flags = torch.zeros((n, len(candidates)), dtype=torch.bool)
    with torch.no_grad():
        for j, eps in enumerate(candidates.tolist()):
            flags[:, j] = (model.predict(x + eps * sign) != y).cpu()
    per_point_fgsm = sign_l2 / x_l2  # ρ at eps = eps · this
    fooled = torch.isfinite(deepfool_l2)
    per_point_deepfool = torch.where(fooled, deepfool_l2.double() / x_l2,
                                     torch.zeros(n, dtype=torch.float64))

    def ratios(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                               torch.Tensor]:
        index = _first_reaching(flags, weights, share)
        eps = torch.cat([candidates, torch.tensor([math.inf], dtype=torch.float64)])[index]
        rho_fgsm = eps * (weights @ per_point_fgsm) / weights.sum(dim=1)
        rho_deepfool = (weights @ per_point_deepfool) / (weights @ fooled.double())
        return eps, rho_fgsm, rho_deepfool, rho_fgsm / rho_deepfool

    eps, rho_fgsm, rho_deepfool, ratio = (v.item() for v in ratios(
        torch.ones((1, n), dtype=torch.float64)))
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(n, (draws, n), generator=generator)
    weights = torch.zeros((draws, n), dtype=torch.float64).scatter_add_(
        1, picks, torch.ones((draws, n), dtype=torch.float64))
    replicates = ratios(weights)[3]
    replicates = replicates[torch.isfinite(replicates)]
    low, high = ((torch.quantile(replicates, 0.025).item(), torch.quantile(replicates, 0.975)
                  .item()) if len(replicates) else (math.nan, math.nan))
    return FgsmReach(eps=eps, rho_fgsm=rho_fgsm, rho_deepfool=rho_deepfool, ratio=ratio,
                     ratio_ci_low=low, ratio_ci_high=high, points=n,
                     deepfool_points=int(fooled.sum()))
