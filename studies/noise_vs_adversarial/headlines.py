"""Goodfellow et al.'s (2014) headline number, measured their way: the error rate of FGSM at
eps = 0.25 over the whole test sample (points misclassified before the attack count too), without
clipping to the data bounds, read off the curves along the sign of the gradient."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Headline, Measured

from .claims import parts

PAPER_EPS = 0.25
PAPER_MODEL = "softmax"  # the paper's "shallow softmax classifier"


def fgsm_error(config: Any, results: Mapping[Cell, Any]) -> Measured:
    errors = {}
    for model, curves in parts(results, "curves").items():
        at = min(range(len(curves.eps)), key=lambda i: abs(curves.eps[i] - PAPER_EPS))
        if abs(curves.eps[at] - PAPER_EPS) <= 1e-6:
            errors[model] = curves.error_adversarial[at]
    if not errors:
        return Measured(math.nan, f"the eps grid (eps_max, eps_steps) has no point at "
                                  f"{PAPER_EPS:g}, or no model has gradients")
    text = ", ".join(f"{m} {100 * e:.1f}%" for m, e in errors.items())
    value = errors.get(PAPER_MODEL, math.nan)
    return Measured(value, f"FGSM error at eps {PAPER_EPS:g}, {config.n_points} test points, "
                           f"no clipping: {text}")


HEADLINES = (
    Headline("fgsm-error-0.25",
             f"FGSM error rate at eps = {PAPER_EPS:g} (pixels in [0, 1], no clipping), over all "
             f"test points; the value is the {PAPER_MODEL} model's",
             "Goodfellow et al. 2014, §4",
             "MNIST: shallow softmax 99.9% (average confidence 79.3%); maxout network 89.4%",
             fgsm_error),
)
