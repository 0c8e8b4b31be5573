"""Constructed cells of the lipschitz study, for its three claims.

One config: a linear model (softmax), three deep networks (mlp, maxout, cnn) and an RBF network
on the 8x8 digits, one cell per model as the study's ``plan`` makes them. Each model is a
``Profile``: its per-layer bounds (their product is ``L_upper``, infinite for the RBF layer, which
the bounds leave unsupported), L_upper / L_emp, the smallest ‖δ‖₂ / certified radius among its
adversarial examples, how many of the CLEVER points DeepFool flips, and whether DeepFool's
distances rise (``trend`` +1) or fall (-1) with CLEVER's scores. ``result`` turns a profile into
the cell result the study's ``run`` would record (checks only for a finite bound, a violation for
every example inside its radius); the cases change one number of one profile (or of the config).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from transfer import Cell
from transfer.studies.lipschitz.bounds import LayerBound
from transfer.studies.lipschitz.config import NAME, LipschitzConfig
from transfer.studies.lipschitz.result import LipschitzResult

from . import Case

STUDY = "lipschitz"
ERRORS = 0.03  # share of the evaluation points each model misclassifies
PGD_SHARE = 0.6  # of the correct points, the share PGD (L2, eps 1.0) flips; DeepFool flips all
RBF_L_EMP = 2.4  # the RBF network's largest Jacobian norm (its certified bound is infinite)

Layers = tuple[tuple[str, tuple[int, ...], float], ...]  # (kind, input shape, bound) per layer


@dataclass(frozen=True)
class Profile:
    """What one model's cell says (see the module docstring)."""

    layers: Layers
    tightness: float  # L_upper / L_emp (for a finite bound)
    nearest: float = 1.4  # smallest ‖δ‖₂ / certified radius among the examples found
    flipped: int = 19  # of the CLEVER points, those DeepFool flips (the rest: NaN distance)
    trend: int = 1  # +1: DeepFool's distance rises with CLEVER's score; -1: it falls


FLAT = (("Flatten", (1, 8, 8), 1.0),)
PROFILES: dict[str, Profile] = {
    "softmax": Profile(FLAT + (("Linear", (64,), 4.2),), tightness=1.0, nearest=1.1),
    "mlp": Profile(FLAT + (("Linear", (64,), 6.1), ("ReLU", (256,), 1.0),
                           ("Linear", (256,), 5.3), ("ReLU", (256,), 1.0),
                           ("Linear", (256,), 3.2)), tightness=7.5),
    "maxout": Profile(FLAT + (("MaxoutLayer", (64,), 5.6), ("MaxoutLayer", (240,), 4.1),
                              ("Linear", (240,), 2.7)), tightness=3.9),
    "cnn": Profile((("Conv2d", (1, 8, 8), 3.1), ("ReLU", (32, 8, 8), 1.0),
                    ("Conv2d", (32, 8, 8), 6.4), ("ReLU", (64, 8, 8), 1.0),
                    ("MaxPool2d", (64, 8, 8), 1.0), ("Flatten", (64, 4, 4), 1.0),
                    ("Linear", (1024,), 4.8), ("ReLU", (128,), 1.0), ("Linear", (128,), 2.9)),
                   tightness=8.5, nearest=2.2),
    "rbf-net": Profile((("RBFLayer", (1, 8, 8), math.inf),), tightness=math.inf),
}
DEEP = ("mlp", "maxout", "cnn")


def _layer(index: int, kind: str, shape: tuple[int, ...], bound: float) -> LayerBound:
    detail = ("1-Lipschitz" if bound == 1.0 else f"unsupported layer type {kind}"
              if math.isinf(bound) else f"σ_max of the {kind} weight")
    return LayerBound(str(index), kind, shape, detail, bound)


def result(profile: Profile, n_points: int, clever_points: int) -> LipschitzResult:
    """The cell of a model with this profile, on ``n_points`` evaluation points."""
    upper = math.prod(bound for *_, bound in profile.layers)
    empirical = upper / profile.tightness if math.isfinite(upper) else RBF_L_EMP
    margins = [1.5 + 0.1 * (i % 7) for i in range(n_points)]  # logit margin per point
    correct = n_points - round(ERRORS * n_points)
    fooled = ({"deepfool": correct, "pgd": round(PGD_SHARE * correct)}
              if math.isfinite(upper) else {})  # no radius to check without a finite bound
    ratios, scatter, violations = [], [], []
    for attack, count in fooled.items():
        for k in range(count):
            ratio = profile.nearest * (1 + 0.25 * (k % 5)) * (2 if attack == "pgd" else 1)
            radius = margins[k] / (math.sqrt(2) * upper)
            ratios.append(ratio)
            scatter.append((attack, radius, ratio * radius))
            if ratio < 1 - 1e-6:
                violations.append({"attack": attack, "point": k,
                                   "perturbation_l2": ratio * radius, "certified_radius": radius})
    shown = min(clever_points, n_points)
    spread = [((7 * i) % shown) / shown for i in range(shown)]  # a fixed shuffle of [0, 1)
    local = [empirical * (0.4 + 0.5 * s) for s in spread]  # CLEVER's L_local, below L_emp
    scores = [margin / value for margin, value in zip(margins, local, strict=False)]
    low, high = min(scores), max(scores)
    distances = [1.3 * (score if profile.trend > 0 else low + high - score)
                 * (1 + 0.05 * ((3 * i) % 5 - 2)) if i < profile.flipped else math.nan
                 for i, score in enumerate(scores)]
    return LipschitzResult(
        L_upper=upper, L_emp=empirical,
        layers=[_layer(i, *row) for i, row in enumerate(profile.layers)],
        unsupported=[f"{i} ({kind})" for i, (kind, _, bound) in enumerate(profile.layers)
                     if math.isinf(bound)],
        clever=local, radius_checks=len(ratios), perturbation_over_radius=ratios,
        scatter=scatter, violations=violations, clever_score=scores, deepfool_l2=distances)


def world(changes: dict[str, dict[str, Any]] | None = None, **settings: Any
          ) -> tuple[LipschitzConfig, dict[Cell, LipschitzResult]]:
    """The config (default settings, with ``settings``) and every planned cell, each model's
    profile with ``changes`` (model -> field -> value)."""
    config = LipschitzConfig.model_validate({"study": NAME, "models": list(PROFILES),
                                             **settings})
    profiles = {label: replace(p, **(changes or {}).get(label, {}))
                for label, p in PROFILES.items()}
    return config, {Cell.make(NAME, model=m.label): result(profiles[m.label], config.n_points,
                                                           config.clever_points)
                    for m in config.models}


def case(changes: dict[str, dict[str, Any]] | None = None, **settings: Any) -> Case:
    """A case: ``world`` with these changes."""
    return lambda: world(changes, **settings)


CASES: dict[str, dict[str, Case]] = {
    "radius-respected": {
        # 4 models with a finite bound × (97 DeepFool + 58 PGD) examples, the nearest at 1.1 ×
        # its radius (softmax)
        "PASS": case(),
        # the cnn's nearest DeepFool examples (every fifth) at 0.8 × their radius: inside it
        "FAIL": case({"cnn": {"nearest": 0.8}}),
        # a smoke run on 3 points: 4 × (3 + 2) = 20 examples, fewer than MIN_CHECKS (30)
        "INCONCLUSIVE": case(n_points=3),
    },
    "clever-tracks-distance": {
        # mlp, maxout, cnn: 19 points each, DeepFool's distance rising with CLEVER's score
        "PASS": case(),
        # maxout's distances fall as CLEVER's scores rise: ρ < 0
        "FAIL": case({"maxout": {"trend": -1}}),
        # DeepFool flips only 12 of the cnn's 20 CLEVER points: fewer than MIN_PAIRS (15)
        "INCONCLUSIVE": case({"cnn": {"flipped": 12}}),
    },
    "loose-for-deep": {
        # mlp 7.5, maxout 3.9, cnn 8.5 (softmax's exact 1.0 and rbf-net's infinite bound left out)
        "PASS": case(),
        # the cnn's bound 1.2 × its L_emp, so at most 1.2 × its constant: not loose (1.5)
        "FAIL": case({"cnn": {"tightness": 1.2}}),
        # no deep model with a finite bound (each one's first layer unsupported)
        "INCONCLUSIVE": case({label: {"layers": (("RBFLayer", (1, 8, 8), math.inf),)}
                              for label in DEEP}),
    },
}
