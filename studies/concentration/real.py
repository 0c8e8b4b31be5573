"""The real-data half of the concentration study (Mahloujifar et al. 2019): for a trained model with
held-out error α and a budget ε, the empirical concentration (the held-out measure of the
ε-expansion of a union of balls covering α of the training points, ``cover``) next
to the model's own adversarial risk at ε (the share of held-out points it misclassifies, or that
PGD at ε makes it misclassify).

How the two compare: h(α, ε) ≤ the union-of-balls estimate (a restricted search), and the PGD risk
≤ the model's true adversarial risk (a finite attack); so the measured gap, PGD risk − estimate,
UNDERSTATES the true gap between the model's risk and the concentration bound (up to sampling
error, which the 95% intervals carry). A gap means concentration of the data alone does not
explain the model's vulnerability; risk close to the estimate means it could.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel, ConfigDict

from transfer import AttackSpec, Context, ModelSpec, Rate, evaluation_points

from .cover import calibrated_cover, distances, inside


class RealPart(BaseModel):
    """One (model, ε) cell: α, the PGD adversarial risk, the concentration estimate (all on the
    same held-out points), the cover's held-out coverage and its training-set numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    norm: str
    alpha: Rate  # the model's held-out error
    risk: Rate  # misclassified, or fooled by PGD at eps
    concentration: Rate  # held-out points inside the eps-expansion of the union of balls
    coverage: Rate  # held-out points inside the union itself (its measure: compare with α)
    train_points: int  # the points the cover was searched on
    overcover: float  # δ: the cover was built for (1 + δ)·α of them
    calibration_coverage: float  # share of the calibration points in the union (≥ α: δ chosen)
    train_coverage: float
    train_expansion: float
    radii: list[float]
    gradients: int
    gradients_minimum: int
    distance_evaluations: int

    @property
    def gap(self) -> float:
        """The adversarial risk the concentration of the data does not account for."""
        return self.risk.rate - self.concentration.rate

    def metrics(self) -> dict[str, float]:
        return {**self.alpha.metrics("alpha"), **self.risk.metrics("adversarial_risk"),
                **self.concentration.metrics("concentration"),
                **self.coverage.metrics("coverage"), "gap": self.gap,
                "train_points": float(self.train_points), "overcover": self.overcover,
                "calibration_coverage": self.calibration_coverage,
                "train_coverage": self.train_coverage, "train_expansion": self.train_expansion,
                "balls_used": float(len(self.radii)), "gradients": float(self.gradients),
                "gradients_minimum": float(self.gradients_minimum),
                "distance_evaluations": float(self.distance_evaluations)}


def pgd_spec(config: Any) -> AttackSpec:
    """PGD (Madry et al. 2017: random start, ``pgd_steps`` steps of 2.5·ε/steps) in the study's
    norm."""
    return AttackSpec(name="pgd", params={"norm": config.norm, "steps": config.pgd_steps})


def measure_real(ctx: Context[Any], spec: ModelSpec, eps: float) -> RealPart:
    """α, PGD's adversarial risk and the empirical concentration for one model and budget."""
    config = ctx.config
    data = ctx.dataset(config.dataset)
    model = ctx.model(spec, data, config.seed)
    held_out = (torch.arange(len(data.y_test)) if config.n_test is None
                else evaluation_points(len(data.y_test), config.n_test, config.seed))
    x, y = data.x_test[held_out].to(ctx.device), data.y_test[held_out].to(ctx.device)
    attack_spec = pgd_spec(config)
    x_adv = ctx.attack(attack_spec)(model, x, y, eps, bounds=data.bounds, seed=config.seed).x_adv
    with torch.no_grad():
        wrong = (model.predict(x) != y).cpu()
        fooled = (model.predict(x_adv) != y).cpu()
    every = torch.ones(len(y), dtype=torch.bool)
    alpha = Rate.of(wrong, every)

    def training_distances() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        chosen = evaluation_points(len(data.y_train), config.max_train, config.seed)
        held = torch.zeros(len(chosen), dtype=torch.bool)
        held[evaluation_points(len(chosen), round(config.calibration * len(chosen)),
                               config.seed + 1)] = True
        points = data.x_train[chosen]
        dist = distances(points, points, config.norm)
        return points[~held], dist[~held][:, ~held], dist[held][:, ~held], held

    points, search, calibration, _ = ctx.remember(
        ("concentration-distances", data.fingerprint, config.norm, config.max_train,
         config.calibration, config.seed), training_distances)
    n = len(points)
    cover, delta, share = calibrated_cover(search, calibration, alpha.rate, config.overcover,
                                           config.balls, eps, config.centres)
    to_centres = (distances(x.cpu(), points[list(cover.centres)], config.norm) if cover.centres
                  else torch.zeros((len(y), 0), dtype=torch.float64))
    return RealPart(
        norm=config.norm, alpha=alpha, risk=Rate.of(wrong | fooled, every),
        concentration=Rate.of(inside(to_centres, cover, eps), every),
        coverage=Rate.of(inside(to_centres, cover), every), train_points=n, overcover=delta,
        calibration_coverage=share, train_coverage=cover.covered / n,
        train_expansion=cover.expanded / n, radii=list(cover.radii),
        gradients=config.pgd_steps * len(y), gradients_minimum=len(y),
        distance_evaluations=(n + len(calibration)) ** 2 + len(y) * len(cover.centres))
