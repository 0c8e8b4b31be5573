"""Two quantities measured on the same test points compared point by point, so that the test
point, not the trial, is the unit of the comparison.

- Magnitudes: the per-point differences a_i − b_i, their mean with a 95% Student-t interval, and
  the one-sided Wilcoxon signed-rank test of a > b (Wilcoxon 1945; zero differences dropped,
  Wilcoxon's own treatment): ``paired_difference``.
- Rates (a yes/no outcome per point for each of two conditions): the exact McNemar test of
  a > b (McNemar 1947), which reads only the discordant points, and the difference of the two
  rates with Newcombe's (1998, method 10) 95% interval for paired proportions: ``paired_rates``.
"""

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


@dataclass(frozen=True)
class PairedRates:
    """Two rates on the same ``n`` points: ``a`` and ``b`` successes, ``a_only`` points where
    only a holds and ``b_only`` where only b does; the difference of the rates with its 95%
    interval and the exact one-sided McNemar p-values for a > b and for a < b (NaN with no
    discordant point)."""

    a: int
    b: int
    n: int
    a_only: int
    b_only: int
    difference: float
    ci_low: float
    ci_high: float
    p_greater: float
    p_less: float

    def text(self) -> str:
        """``41.1% (185/450) vs 36.4% (164/450): -4.7 points [-8.1, -1.2]; 30 vs 9 points
        discordant, exact McNemar p = 0.0007 (one-sided, the observed direction)``."""
        if self.n == 0:
            return "no paired point"
        p = min(self.p_greater, self.p_less)
        p_text = "n/a" if math.isnan(p) else f"{p:.2g}"
        return (f"{100 * self.a / self.n:.1f}% ({self.a}/{self.n}) vs "
                f"{100 * self.b / self.n:.1f}% ({self.b}/{self.n}): "
                f"{100 * self.difference:+.1f} points [{100 * self.ci_low:+.1f}, "
                f"{100 * self.ci_high:+.1f}]; {self.a_only} points only the first, "
                f"{self.b_only} only the second, exact McNemar p = {p_text} (one-sided)")


def paired_rates(a: Sequence[bool], b: Sequence[bool]) -> PairedRates:
    """Compare the success flags ``a`` and ``b`` of the same points in the same order."""
    import numpy as np
    from scipy.stats import binom

    from .intervals import wilson_interval

    if len(a) != len(b):
        raise ValueError(f"paired outcomes need the same points: {len(a)} vs {len(b)}")
    first, second = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    n = len(first)
    both = int((first & second).sum())
    a_only, b_only = int((first & ~second).sum()), int((~first & second).sum())
    neither = n - both - a_only - b_only
    if n == 0:
        return PairedRates(0, 0, 0, 0, 0, math.nan, math.nan, math.nan, math.nan, math.nan)
    discordant = a_only + b_only
    # exact conditional test: given the discordant points, a_only ~ Binomial(discordant, 1/2)
    p_greater = float(binom.sf(a_only - 1, discordant, 0.5)) if discordant else math.nan
    p_less = float(binom.cdf(a_only, discordant, 0.5)) if discordant else math.nan
    p1, p2 = (both + a_only) / n, (both + b_only) / n
    (l1, u1), (l2, u2) = wilson_interval(both + a_only, n), wilson_interval(both + b_only, n)
    margins = (both + a_only) * (b_only + neither) * (both + b_only) * (a_only + neither)
    phi = (both * neither - a_only * b_only) / math.sqrt(margins) if margins else 0.0
    difference = p1 - p2
    low = difference - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)
                                     + (u2 - p2) ** 2))
    high = difference + math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)
                                      + (u1 - p1) ** 2))
    return PairedRates(both + a_only, both + b_only, n, a_only, b_only, difference,
                       max(-1.0, low), min(1.0, high), p_greater, p_less)
