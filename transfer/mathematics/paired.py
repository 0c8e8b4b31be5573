"""Two quantities measured on the same test points compared point by point: the per-point
differences a_i − b_i, their mean with a 95% Student-t interval, and the one-sided Wilcoxon
signed-rank test of a > b (Wilcoxon 1945; zero differences dropped, Wilcoxon's own treatment),
so that the test point, not the trial, is the unit of the comparison."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PairedDifference:
    """``mean`` of a_i − b_i over ``n`` points, its 95% interval, the ``nonzero`` differences the
    signed-rank test ranks and its one-sided p-value for a > b (NaN with no nonzero difference)."""

    mean: float
    n: int
    nonzero: int
    ci_low: float
    ci_high: float
    p_greater: float

    def text(self) -> str:
        """``+0.123 [0.101, 0.145], Wilcoxon p = 0.0012 (n = 300, 214 differ)``."""
        p = "n/a" if math.isnan(self.p_greater) else f"{self.p_greater:.2g}"
        return (f"{self.mean:+.3f} [{self.ci_low:+.3f}, {self.ci_high:+.3f}], one-sided "
                f"Wilcoxon p = {p} (n = {self.n} points, {self.nonzero} differ)")


def paired_difference(a: Sequence[float], b: Sequence[float]) -> PairedDifference:
    """Compare ``a`` and ``b``, two measurements of the same points in the same order."""
    import numpy as np
    from scipy.stats import t, wilcoxon

    if len(a) != len(b):
        raise ValueError(f"paired measurements need the same points: {len(a)} vs {len(b)}")
    differences = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(differences)
    if n == 0:
        return PairedDifference(math.nan, 0, 0, math.nan, math.nan, math.nan)
    mean = float(differences.mean())
    half = (float(t.ppf(0.975, n - 1)) * float(differences.std(ddof=1)) / math.sqrt(n)
            if n > 1 else math.nan)
    nonzero = int(np.count_nonzero(differences))
    p = (float(wilcoxon(differences, zero_method="wilcox", alternative="greater").pvalue)
         if nonzero else math.nan)
    return PairedDifference(mean, n, nonzero, mean - half, mean + half, p)
