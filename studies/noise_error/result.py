"""The noise-error study's typed cell result: what its claims and report read."""

from __future__ import annotations

import math

import numpy as np

from transfer import CellResult, Mean


class NoiseErrorResult(CellResult):
    """One model. The per-point lists follow the correctly classified evaluation points in
    order (``index``: their test-set indices), so claims can pair the numbers point by point."""

    sigmas: list[float]
    n_noise: int
    points: int  # evaluation points
    correct: int  # of them, correctly classified: the points measured here
    noise_error: list[Mean]  # per σ, the mean of μ_x(σ) over the correct points
    index: list[int]
    mu: list[list[float]]  # per point, μ_x(σ) for every σ of the grid
    sigma_chosen: list[float]  # per point, the σ its prediction is read at (NaN: none)
    d_pred: list[float]  # per point, −σ·Φ⁻¹(μ_x(σ)) at that σ (NaN: no prediction)
    d_deepfool: list[float]  # per point, DeepFool's ‖r*‖₂ (NaN: DeepFool never flipped it)

    def paired(self) -> tuple[np.ndarray, np.ndarray]:
        """d_pred and d_DeepFool at the points that have both."""
        pred, measured = np.asarray(self.d_pred), np.asarray(self.d_deepfool)
        both = np.isfinite(pred) & np.isfinite(measured)
        return pred[both], measured[both]

    def log2_ratios(self) -> np.ndarray:
        """log2(d_DeepFool / d_pred) at the points that have both (0: the half-space model
        exactly; ±1: off by a factor 2)."""
        pred, measured = self.paired()
        return np.log2(measured / pred)

    @property
    def predicted(self) -> int:
        return int(np.isfinite(np.asarray(self.d_pred)).sum())

    @property
    def fooled(self) -> int:
        return int(np.isfinite(np.asarray(self.d_deepfool)).sum())

    def median_deepfool(self) -> float:
        return _median(self.d_deepfool)

    def noise_error_at(self, sigma: float) -> float:
        return self.noise_error[self.sigmas.index(sigma)].mean

    def metrics(self) -> dict[str, float]:
        ratios = self.log2_ratios()
        metrics: dict[str, float] = {
            "points": self.points, "correct": self.correct, "predicted": self.predicted,
            "no_prediction": self.correct - self.predicted, "deepfool_fooled": self.fooled,
            "paired": len(ratios), "d_pred_median": _median(self.d_pred),
            "d_deepfool_median": self.median_deepfool(),
            "log2_ratio_median": float(np.median(ratios)) if len(ratios) else math.nan,
            "within_factor_2": (float((np.abs(ratios) <= 1).mean()) if len(ratios)
                                else math.nan)}
        for sigma, error in zip(self.sigmas, self.noise_error, strict=True):
            metrics.update(error.metrics(f"noise_error.sigma{sigma:g}"))
        return metrics

    def series(self) -> dict[str, list[tuple[float, float]]]:
        return {"noise_error": [(i, e.mean) for i, e in enumerate(self.noise_error)]}


def _median(values: list[float]) -> float:
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if len(finite) else math.nan
