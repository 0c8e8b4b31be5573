"""Constructed spectral-alignment results (Dobriban 2020) on which each claim returns each verdict.

The config: three models on digits (d = 64 pixels, K = 10 classes, so the centred Jacobian has
rank K − 1 = 9), ``N`` test points; its cells are the study's own ``plan``, one per model. The
softmax model's first layer is its only ``Linear`` (rank 10), the mlp's a ``Linear`` of 32 units
(rank 32); the rbf-net has no linear layer to read, so the first-layer claim leaves it out.

Every mean is ``Mean.of`` explicit per-point values, spread evenly ±``SPREAD`` (gains:
±``GAIN_SPREAD``, relative) around it. Each model's DeepFool directions come from the points
DeepFool fooled (``directions``); the other kinds are measured at all ``N`` points. Per model,
DeepFool's:

- ``top``: mean ⟨u, v₁⟩², tested against 1/(K − 1) = 0.111 exactly (0.6 by default);
- ``gain``: mean ‖Ju‖/σ₁, against a random row-space direction's 0.45 (0.85 by default);
- ``layer``: mean share in the first layer's top-9 subspace, against a random input direction's
  0.14 ≈ 9/64 (0.5 by default).

Each claim's three cases change one of these numbers for one model.
"""

from __future__ import annotations

from typing import Any

from transfer import Cell, Mean
from transfer.studies.spectral_alignment import SpectralAlignment, first_layer_ks
from transfer.studies.spectral_alignment.config import NAME, SpectralAlignmentConfig
from transfer.studies.spectral_alignment.result import Alignment, SpectralResult

from . import Case

STUDY = "spectral-alignment"
N = 200  # test points per model
D, CLASSES = 64, 10  # digits: 8 x 8 pixels, 10 classes
RANK = CLASSES - 1
SPREAD = 0.5  # per-point values lie within ±50% of their mean
GAIN_SPREAD = 0.15  # gains within ±15%: at most 1
DEEPFOOL_STEPS = 3  # DeepFool iterations per point
FIRST_LAYER = {"softmax": ("Linear", 10), "mlp": ("Linear", 32),
               "rbf-net": ("no linear or convolutional layer", 0)}
DEEPFOOL = {"directions": N - 20, "top": 0.6, "gain": 0.85, "layer": 0.5}  # every model's
# the controls per kind: (top share, gain, first-layer share); PGD a little less aligned
CONTROLS = {"pgd": (0.5, 0.8, 0.45), "random": (1 / D, 0.12, RANK / D),
            "random-row-space": (1 / RANK, 0.45, 0.14)}


def _values(mean: float, n: int, spread: float = SPREAD) -> Mean:
    """``Mean.of`` ``n`` per-point values at mean·(1 + spread·w), w cycling -1, -½, 0, ½, 1."""
    return Mean.of([mean * (1 + spread * ((i % 5) - 2) / 2) for i in range(n)])


def _alignment(n: int, top: float, gain: float, layer: float | None, ks: list[int],
               last: float = 1.0) -> Alignment:
    """One kind of direction at ``n`` points; its Jacobian curve rises linearly from ``top`` at
    k = 1 to ``last`` at k = K − 1, its first-layer curve as k/(K − 1) × ``layer``."""
    return Alignment(
        top_share=_values(top, n), gain=_values(gain, n, GAIN_SPREAD),
        jacobian_curve=[top + (last - top) * k / (RANK - 1) for k in range(RANK)],
        first_layer_top=None if layer is None else _values(layer, n),
        first_layer_curve=[] if layer is None else [min(1.0, layer * k / RANK) for k in ks])


def _result(model: str, directions: int, top: float, gain: float, layer: float
            ) -> SpectralResult:
    """One model's cell: DeepFool's ``directions`` at these means, the controls at theirs."""
    name, layer_rank = FIRST_LAYER[model]
    ks = first_layer_ks(layer_rank) if layer_rank else []
    read = bool(layer_rank)
    kinds = {"deepfool": _alignment(directions, top, gain, layer if read else None, ks)}
    for kind, (c_top, c_gain, c_layer) in CONTROLS.items():
        last = RANK / D if kind == "random" else 1.0  # a random input direction: 9/64 in all
        kinds[kind] = _alignment(N, c_top, c_gain, c_layer if read else None, ks, last)
    iterations = DEEPFOOL_STEPS * N
    return SpectralResult(
        d=D, rank=RANK, sigma=[4.0 / (i + 1) for i in range(RANK)], first_layer=name,
        first_layer_ks=ks, first_layer_rank=layer_rank, kinds=kinds,
        vjps=N * CLASSES + (iterations + directions) * CLASSES,
        vjps_minimum=(N + iterations) * CLASSES)


def _config() -> SpectralAlignmentConfig:
    return SpectralAlignmentConfig.model_validate({
        "study": NAME, "n_points": N,
        "models": [{"name": "softmax"}, {"name": "mlp", "params": {"hidden": [32]}},
                   {"name": "rbf-net"}]})


def _case(model: str = "mlp", **change: Any) -> Case:
    """A case: every planned cell, ``model``'s DeepFool numbers with ``change`` applied."""
    def build() -> tuple[SpectralAlignmentConfig, dict[Cell, SpectralResult]]:
        config = _config()
        return config, {cell: _result(cell["model"], **{
            **DEEPFOOL, **(change if cell["model"] == model else {})})
            for cell in SpectralAlignment().plan(config)}

    return build


CASES: dict[str, dict[str, Case]] = {
    "top-singular-alignment": {
        # every model's mean 0.600 [0.569, 0.631] over 180 directions, far above 1/9
        "PASS": _case(),
        # the mlp's mean 0.110 [0.104, 0.116]: not significantly below 1/9 = 0.111 either,
        # but a point estimate at or below it is a FAIL (t-test p = 0.65)
        "FAIL": _case(top=0.11),
        # DeepFool fooled the rbf-net at 20 points only (fewer than MIN_POINTS = 30): its
        # 0.600 [0.498, 0.702] is undecided, however far above 1/9
        "INCONCLUSIVE": _case("rbf-net", directions=20),
    },
    "large-singular-values": {
        # every model's gain 0.850 [0.837, 0.863] vs a random row-space direction's 0.450
        "PASS": _case(),
        # the mlp's DeepFool gain 0.300 [0.295, 0.305], below the control's [0.443, 0.457]
        "FAIL": _case(gain=0.3),
        # the mlp's 0.455 [0.448, 0.462]: above the control's mean, the intervals overlap
        "INCONCLUSIVE": _case(gain=0.455),
    },
    "first-layer-top-subspace": {
        # softmax and mlp: 0.50 of DeepFool's energy in the top-9 subspace vs 9/64 at random
        "PASS": _case(),
        # the mlp's 0.080 [0.076, 0.084], below a random direction's 0.141 [0.134, 0.148]
        "FAIL": _case(layer=0.08),
        # the mlp's 0.150 [0.142, 0.158]: its interval overlaps the random one
        "INCONCLUSIVE": _case(layer=0.15),
    },
}
