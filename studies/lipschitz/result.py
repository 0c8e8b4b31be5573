"""The lipschitz study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

import math
from typing import Any

from transfer import CellResult

from .bounds import LayerBound


class LipschitzResult(CellResult):
    """Certified and empirical Lipschitz constants of one model, and the radius checks."""

    L_upper: float
    L_emp: float
    layers: list[LayerBound]
    unsupported: list[str]
    clever: list[float]
    radius_checks: int
    perturbation_over_radius: list[float]
    scatter: list[tuple[str, float, float]]
    violations: list[dict[str, Any]]  # adversarial examples inside the certified radius
    clever_score: list[float]  # margin / CLEVER's L_local, for the first clever points
    deepfool_l2: list[float]  # DeepFool's ‖δ‖₂ at those points (NaN: no flip, or misclassified)

    @property
    def lower_bound_holds(self) -> bool:
        """L_emp ≤ L_upper, up to float rounding."""
        return self.L_emp <= self.L_upper * (1 + 1e-6)

    def metrics(self) -> dict[str, float]:
        finite = [r for r in self.perturbation_over_radius if math.isfinite(r)]
        metrics = {
            "L_upper": self.L_upper, "L_emp": self.L_emp,
            "tightness": self.L_upper / self.L_emp if self.L_emp > 0 else math.inf,
            "clever_mean": sum(self.clever) / len(self.clever), "clever_max": max(self.clever),
            "clever_over_bound": max(self.clever) / (math.sqrt(2) * self.L_upper),
            "checks_lower_bound": 1.0, "checks_radius": float(self.radius_checks),
            "lower_bound_holds": float(self.lower_bound_holds),
            "violations": float(len(self.violations)),
            "unsupported_layers": float(len(self.unsupported)),
            "perturbation_over_radius_min": min(finite) if finite else math.nan,
            "perturbation_over_radius_median": (sorted(finite)[len(finite) // 2] if finite
                                                else math.nan),
        }
        return {k: v for k, v in metrics.items() if math.isfinite(v) or k == "L_upper"}
