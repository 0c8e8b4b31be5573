"""What the Lipschitz view of adversarial examples predicts, as claims (see ``Claim``): Szegedy
et al. (2013, §4.3) bound each layer; Virmaux & Scaman (2018) show the product of layer bounds is
tight for one linear map and loose for deep networks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from transfer import Cell, Claim, Finding, NotApplicable

if TYPE_CHECKING:  # the study imports these claims
    from .result import LipschitzResult

LINEAR_FAMILIES = ("softmax", "logreg", "linear-svm")
TIGHT, LOOSE = 1.01, 1.5  # L_upper / L_emp
ROUNDING = 1e-6


def _finished(config: Any, results: Mapping[Cell, Any]) -> dict[str, tuple[str, LipschitzResult]]:
    """Per model label: (family, result), for models with a finite certified bound."""
    family = {m.label: m.name for m in config.models}
    return {c["model"]: (family[c["model"]], r) for c, r in results.items()
            if not isinstance(r, NotApplicable) and math.isfinite(r.L_upper) and r.L_emp > 0}


def radius_respected(config: Any, results: Mapping[Cell, Any]) -> Finding:
    ratios = {label: min((q for q in r.perturbation_over_radius if math.isfinite(q)),
                         default=math.nan)
              for label, (_, r) in _finished(config, results).items() if r.radius_checks}
    ratios = {label: q for label, q in ratios.items() if math.isfinite(q)}
    if not ratios:
        return Finding("INCONCLUSIVE", math.nan, "no adversarial example to check")
    worst = min(ratios, key=lambda label: ratios[label])
    evidence = (f"smallest perturbation / certified radius: {ratios[worst]:.3g} ({worst}), "
                f"over {len(ratios)} models")
    return Finding("PASS" if ratios[worst] >= 1 - ROUNDING else "FAIL", ratios[worst], evidence)


def _tightness(config: Any, results: Mapping[Cell, Any], linear: bool) -> dict[str, float]:
    return {label: r.L_upper / r.L_emp for label, (family, r) in _finished(config, results).items()
            if (family in LINEAR_FAMILIES) == linear and (linear or len(r.layers) > 1)}


def tight_for_linear(config: Any, results: Mapping[Cell, Any]) -> Finding:
    ratios = _tightness(config, results, linear=True)
    if not ratios:
        return Finding("INCONCLUSIVE", math.nan,
                       f"needs a linear model ({', '.join(LINEAR_FAMILIES)})")
    worst = max(ratios.values())
    evidence = "L_upper / L_emp: " + ", ".join(f"{m} {v:.3g}" for m, v in ratios.items())
    return Finding("PASS" if worst <= TIGHT else "FAIL", worst, evidence)


def loose_for_deep(config: Any, results: Mapping[Cell, Any]) -> Finding:
    ratios = _tightness(config, results, linear=False)
    if not ratios:
        return Finding("INCONCLUSIVE", math.nan, "needs a deep model with a finite bound")
    least = min(ratios.values())
    evidence = "L_upper / L_emp: " + ", ".join(f"{m} {v:.3g}" for m, v in ratios.items())
    if least >= LOOSE:
        return Finding("PASS", least, evidence)
    if max(ratios.values()) <= TIGHT:
        return Finding("FAIL", least, evidence)
    return Finding("INCONCLUSIVE", least, evidence)


CLAIMS = (
    Claim("radius-respected",
          "No adversarial example lies inside the radius the Lipschitz bound certifies",
          "Szegedy et al. 2013; Hein & Andriushchenko 2017",
          "smallest ‖δ‖₂ / (margin / (√2·L_upper)) over every attack and point",
          "at least 1 (up to float rounding)", radius_respected),
    Claim("tight-for-linear",
          "The product-of-layers bound is exact for a linear model", "Virmaux & Scaman 2018",
          "L_upper / L_emp of each linear model", f"at most {TIGHT:g} for every linear model",
          tight_for_linear),
    Claim("loose-for-deep",
          "The product-of-layers bound is loose for deep networks", "Virmaux & Scaman 2018",
          "L_upper / L_emp of each multi-layer model with a finite bound",
          f"at least {LOOSE:g} for every deep model (FAIL: all at most {TIGHT:g})",
          loose_for_deep),
)
