"""Constructed cells of the noise-vs-adversarial study, for its three claims.

One config: a linear model (softmax), two deep networks (mlp, cnn) and an RBF network on the
8x8 digits (d = 64), eps on a five-point grid up to 0.5, random subspaces of dimension 1, 4 and
16, no dimension sweep; a ``curves`` and a ``minimal-norm`` cell per model, as the study's
``plan`` makes them. Each model is a ``Profile``: the R² of its logit curves along the adversarial
direction, its clean error, its error along the adversarial and random sign directions at eps
0.25 and 0.5, and per subspace dimension m the median ‖r_S‖/‖r*‖ over √(d/m) among the points
whose subspace flipped them and how many of the 100 points it never flipped. ``world`` builds
the cells the study's ``run`` would record from the profiles (every one over the 100 evaluation
points, 3 of them plotted); the cases change one number.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from typing import Any

from scipy.stats import beta

from transfer import Cell
from transfer.studies.noise_vs_adversarial.config import NAME, NoiseVsAdversarialConfig
from transfer.studies.noise_vs_adversarial.result import (
    Curves,
    MinimalNorm,
    NoiseVsAdversarialResult,
    RatioRow,
)

from . import Case

STUDY = "noise-vs-adversarial"
D, CLASSES = 64, 10
EPS = [-0.5, -0.25, 0.0, 0.25, 0.5]  # the grid eps_max = 0.5, eps_steps = 5 makes
SETTINGS: dict[str, Any] = {"n_points": 100, "eps_max": 0.5, "eps_steps": len(EPS),
                            "plot_points": 3, "subspace_dims": [1, 4, 16]}
SPREAD = 0.5  # the flipped points' ratios run from (1 - SPREAD) to (1 + SPREAD) × their median


@dataclass(frozen=True)
class Profile:
    """What one model's two cells say (see the module docstring)."""

    r2: float  # R² of the logit curves along the adversarial direction
    clean: float  # clean error
    adversarial: tuple[float, float]  # error along the adversarial direction at eps 0.25, 0.5
    noise: tuple[float, float]  # error along random sign directions at eps 0.25, 0.5
    q: tuple[float, float, float]  # per m = 1, 4, 16: median of the flipped ratios / √(d/m)
    misses: tuple[int, int, int] = (0, 0, 0)  # per m: points the subspace never flipped


PROFILES: dict[str, Profile] = {
    "softmax": Profile(1.0, 0.04, (0.75, 0.99), (0.06, 0.15), (1.3, 1.05, 1.0)),
    "mlp": Profile(0.97, 0.03, (0.85, 1.0), (0.05, 0.2), (1.2, 1.1, 1.1)),
    "cnn": Profile(0.95, 0.02, (0.7, 0.98), (0.04, 0.12), (1.25, 1.15, 1.2), (0, 0, 2)),
    "rbf-net": Profile(0.3, 0.05, (0.3, 0.6), (0.08, 0.2), (1.35, 1.3, 1.3), (0, 2, 5)),
}


def _logits(r2: float, slope: float, labels: list[int], eps: list[float]
            ) -> list[list[list[float]]]:
    """(point, class, eps) logits: the true class falling at ``slope``, the others rising at a
    tenth of it, bent the more the lower ``r2``."""
    return [[[(2.0 if k == y else 0.1 * k) + (-slope if k == y else slope / 10) * e
              + 6 * (1 - r2) * e * e for e in eps] for k in range(CLASSES)] for y in labels]


def curves(p: Profile, config: NoiseVsAdversarialConfig) -> Curves:
    """The ``curves`` part of a model with profile ``p``: against the gradient's sign the error
    falls below the clean one, along it and along random signs it rises."""
    labels = [i % CLASSES for i in range(min(config.plot_points, config.n_points))]
    (a1, a2), (r1, r2) = p.adversarial, p.noise
    return Curves(eps=EPS, clean_error=p.clean,
                  error_adversarial=[0.0, p.clean / 2, p.clean, a1, a2],
                  error_random=[r2, r1, p.clean, r1, r2],
                  logits_adversarial=_logits(p.r2, 3.5, labels, EPS),
                  logits_random=_logits(min(p.r2, 0.8), 0.4, labels, EPS), labels=labels,
                  points=config.n_points,
                  r2_adversarial=p.r2, r2_random=min(p.r2, 0.8), slope_adversarial=3.5,
                  slope_random=0.4)


def row(m: int, q: float, misses: int, points: int) -> RatioRow:
    """The ratios in random m-dimensional subspaces: ``points - misses`` flipped points whose
    median is ``q`` × √(d/m), evenly spread around it; ``misses`` points never flipped."""
    predicted = math.sqrt(D / m)
    flipped = points - misses
    ratios = [predicted * q * (1 + SPREAD * (2 * i / max(flipped - 1, 1) - 1))
              for i in range(flipped)]
    return RatioRow(m=m, median=statistics.median(ratios) if ratios else math.nan,
                    mean=statistics.fmean(ratios) if ratios else math.nan, predicted=predicted,
                    linear_median=1 / math.sqrt(beta.median(m / 2, (D - m) / 2)),
                    no_flip_share=misses / points, ratios=ratios)


def minimal_norm(p: Profile, config: NoiseVsAdversarialConfig) -> MinimalNorm:
    """The ``minimal-norm`` part of a model with profile ``p``, over every evaluation point."""
    points = config.n_points
    return MinimalNorm(d=D, points=points, deepfool_l2_mean=1.1, rows=[
        row(m, q, misses, points)
        for m, q, misses in zip(config.subspace_dims, p.q, p.misses, strict=True)])


def world(changes: dict[str, dict[str, Any]] | None = None, **settings: Any
          ) -> tuple[NoiseVsAdversarialConfig, dict[Cell, NoiseVsAdversarialResult]]:
    """The config (``SETTINGS``, with ``settings``) and every planned cell, each model's profile
    with ``changes`` (model -> field -> value)."""
    config = NoiseVsAdversarialConfig.model_validate(
        {"study": NAME, "models": list(PROFILES), **SETTINGS, **settings})
    found = {}
    for m in config.models:
        p = replace(PROFILES[m.label], **(changes or {}).get(m.label, {}))
        found[Cell.make(NAME, part="curves", model=m.label, data=-1)] = \
            NoiseVsAdversarialResult(curves=curves(p, config))
        found[Cell.make(NAME, part="minimal-norm", model=m.label, data=-1)] = \
            NoiseVsAdversarialResult(minimal_norm=minimal_norm(p, config))
    return config, found


def case(changes: dict[str, dict[str, Any]] | None = None, **settings: Any) -> Case:
    """A case: ``world`` with these changes."""
    return lambda: world(changes, **settings)


CASES: dict[str, dict[str, Case]] = {
    "near-linear": {
        # mlp 0.97 and cnn 0.95, the RBF network 0.30 below both (softmax's R² ≡ 1 left out)
        "PASS": case(),
        # the cnn's logits bend: R² 0.45, below CURVED (0.5)
        "FAIL": case({"cnn": {"r2": 0.45}}),
        # the cnn's R² 0.7: neither near-linear (0.9) nor curved (0.5)
        "INCONCLUSIVE": case({"cnn": {"r2": 0.7}}),
    },
    "adversarial-beats-noise": {
        # read where the adversarial error first reaches 50%: at eps 0.25 for the networks
        # (e.g. mlp 82% vs 2% extra error), at eps 0.5 for the RBF network (55% vs 15%)
        "PASS": case(),
        # random signs at eps 0.5 add 60% to the RBF network's error, adversarial ones 55%
        "FAIL": case({"rbf-net": {"noise": (0.08, 0.65)}}),
        # random signs add 35%: the adversarial direction 1.6 times as harmful, not 2
        "INCONCLUSIVE": case({"rbf-net": {"noise": (0.08, 0.4)}}),
    },
    "sqrt-d-over-m": {
        # every median within 1.35 × √(d/m) (the RBF network's 5 misses at m = 16 included)
        "PASS": case(),
        # 16-dimensional subspaces never flip 60 of the RBF network's 100 points: the median,
        # counting them as infinite, is infinite
        "FAIL": case({"rbf-net": {"misses": (0, 2, 60)}}),
        # at m = 16 the RBF network's flipped points' median 1.8 × √(d/m) (1.85 with its 5
        # misses counted): beyond 1.5, within 1.5² = 2.25
        "INCONCLUSIVE": case({"rbf-net": {"q": (1.35, 1.3, 1.8)}}),
    },
}
