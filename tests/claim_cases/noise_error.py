"""Constructed noise-error results (Ford, Gilmer, Carlini & Cubuk 2019) on which each claim
returns each verdict.

The config: the default six models on digits, the default σ grid (0.05 … 0.5, middle σ 0.2) and
``min_error`` 0.05; its cells are the study's own ``plan``, one per model. Each model's error set
is built as a half-space at distance d_i from each of its ``points`` correct points, d_i evenly
spread over [½, 1½]·``scale`` (``SCALES``: 0.20 for softmax up to 0.45 for rbf-net). Its noise
errors are then exact, μ_i(σ) = Φ(−d_i/σ) (not counts of noise copies), and the study's own
``predictions`` read d_pred = d_i back from them. DeepFool's distance is
d_i·2^(offset + spread·w_i), w_i a fixed permutation of evenly spaced values in [−1, 1] (the
median log2 ratio is ``offset`` exactly); ``reversed`` pairs the points' DeepFool distances with
d_pred in reverse order.

By default (offset +0.2, spread 0.3, 100 points) every model is within a factor 2 of the
half-space prediction, ranks its points alike, and the models farther from their errors have
less noise error. Each case changes one knob for one model (or one knob for all models, or drops
two cells).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from transfer import Cell, Mean
from transfer.studies.noise_error import NoiseError
from transfer.studies.noise_error.config import NAME, NoiseErrorConfig
from transfer.studies.noise_error.half_space import predictions
from transfer.studies.noise_error.result import NoiseErrorResult

from . import Case

STUDY = "noise-error"
MODELS = ("softmax", "logreg", "mlp", "maxout", "cnn", "rbf-net")
SCALES = dict(zip(MODELS, (0.20, 0.25, 0.30, 0.35, 0.40, 0.45), strict=True))
EVALUATED = 200  # evaluation points per model (the correct ones are ``points``)
DEFAULT = {"points": 100, "offset": 0.2, "spread": 0.3, "reversed": False}


def _result(config: NoiseErrorConfig, scale: float, points: int, offset: float, spread: float,
            reversed: bool) -> NoiseErrorResult:
    d = scale * (0.5 + np.arange(points) / (points - 1))
    mu = norm.cdf(-d[:, None] / np.asarray(config.sigmas)[None, :])
    chosen, d_pred = predictions(torch.as_tensor(mu), config.sigmas, config.min_error)
    w = (np.arange(points) * 37 % points) / (points - 1) * 2 - 1  # 37 is prime to ``points``
    measured = (d[::-1] if reversed else d) * 2.0 ** (offset + spread * w)
    return NoiseErrorResult(
        sigmas=config.sigmas, n_noise=config.n_noise, points=EVALUATED, correct=points,
        noise_error=[Mean.of(mu[:, j]) for j in range(len(config.sigmas))],
        index=list(range(points)), mu=mu.tolist(), sigma_chosen=chosen, d_pred=d_pred,
        d_deepfool=measured.tolist())


def _config() -> NoiseErrorConfig:
    return NoiseErrorConfig.model_validate({"study": NAME, "models": list(MODELS)})


def _case(changes: dict[str, dict[str, Any]] | None = None, drop: tuple[str, ...] = ()) -> Case:
    """A case: every planned cell but ``drop``'s (failed), each model's knobs with its
    ``changes`` applied."""
    def build() -> tuple[NoiseErrorConfig, dict[Cell, NoiseErrorResult]]:
        config = _config()
        return config, {cell: _result(config, SCALES[cell["model"]], **{
            **DEFAULT, **(changes or {}).get(cell["model"], {})})
            for cell in NoiseError().plan(config) if cell["model"] not in drop}

    return build


CASES: dict[str, dict[str, Case]] = {
    "half-space-distance": {
        # every model's median log2 ratio +0.20 [about +0.14, +0.26]: inside [−1, 1]
        "PASS": _case(),
        # the mlp's DeepFool distances are 2^1.5 = 2.8 times d_pred: median +1.50, outside
        "FAIL": _case({"mlp": {"offset": 1.5}}),
        # the mlp's median +0.98 is inside [−1, 1], its interval [about 0.92, 1.04] is not
        "INCONCLUSIVE": _case({"mlp": {"offset": 0.98}}),
    },
    "noise-error-ranks-distance": {
        # every model: ρ = +0.93 over 100 points, p = 4e-44
        "PASS": _case(),
        # the mlp's DeepFool distances in the reverse order of its predictions: ρ = −0.92
        "FAIL": _case({"mlp": {"reversed": True}}),
        # the mlp has 20 correct points, fewer than MIN_POINTS = 30: undecided, however
        # strongly its ρ = +0.86 (p = 5e-7) points the predicted way
        "INCONCLUSIVE": _case({"mlp": {"points": 20}}),
    },
    "noise-robust-models-farther": {
        # scale 0.20 … 0.45: mean noise error at σ = 0.2 falls, median DeepFool distance
        # (≈ 1.15 × scale) rises, model by model, but softmax's (2^0.6 × 0.20 = 0.30) passes
        # logreg's (0.29): ρ = −0.94 over 6 models, with a Fisher-z interval (none at ρ = −1)
        "PASS": _case({"softmax": {"offset": 0.6}}),
        # DeepFool medians 2^offset × scale with offsets +1.5 … −1.5: now falling from softmax
        # (0.57) to rbf-net (0.16) while the noise error falls too: ρ = +1
        "FAIL": _case({m: {"offset": o} for m, o in zip(
            MODELS, (1.5, 0.9, 0.3, -0.3, -0.9, -1.5), strict=True)}),
        # two cells failed: 4 models, fewer than MIN_MODELS = 5, though ρ = −1
        "INCONCLUSIVE": _case(drop=("cnn", "rbf-net")),
    },
}
