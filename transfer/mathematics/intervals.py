"""Rates with honest uncertainty, and intervals of quantities built from several estimates.

- ``wilson_interval``: a binomial proportion (Wilson 1927).
- ``t_interval``: a mean from its standard deviation and count (Student).
- ``simultaneous_z``: the normal quantile at which k intervals hold together (Bonferroni).
- ``quotient_range``, ``slope_interval``: a ratio of two estimates from their simultaneous
  intervals, whatever their dependence; the least-squares slope through independent estimates
  with known standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

Z_95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def wilson_interval(successes: float, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default; Wilson 1927).

    ``(nan, nan)`` when there are no trials: the rate is undefined, not zero. ``successes`` may
    be fractional, the sum of per-trial shares in [0, 1] (e.g. a point's error averaged over
    several random directions): their mean varies at most as a binomial share does, so the
    interval is then conservative.
    """
    if trials == 0:
        return math.nan, math.nan
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def simultaneous_z(intervals: int, level: float = 0.95) -> float:
    """The normal quantile that makes ``intervals`` two-sided intervals hold all together with
    probability at least ``level``, whatever their dependence (Bonferroni: each at level
    1 − (1 − level)/intervals; 2.241 for two 95% intervals)."""
    return NormalDist().inv_cdf(1 - (1 - level) / (2 * intervals))


def t_interval(mean: float, sd: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Student-t interval of a mean of ``n`` values with standard deviation ``sd``, at the
    level whose normal quantile is ``z`` (95% by default); ``(nan, nan)`` with fewer than two
    values."""
    from scipy.stats import t

    if n < 2 or math.isnan(sd):
        return math.nan, math.nan
    tail = 1 - NormalDist().cdf(z)  # the level's upper tail, read off the normal quantile
    half = float(t.isf(tail, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def quotient_range(numerator: tuple[float, float], denominator: tuple[float, float]
                   ) -> tuple[float, float]:
    """The smallest and largest a / b for a in ``numerator`` and b ≥ 0 in ``denominator`` (each
    a (low, high) interval): from simultaneous intervals of a and b (``simultaneous_z``), an
    interval of a / b at their joint level, whatever the dependence of the two. A denominator
    that may be 0 makes an end infinite (0 for a numerator end of 0); NaN ends, or a
    denominator that cannot be positive, give ``(nan, nan)``."""
    (a_low, a_high), (b_low, b_high) = numerator, (max(denominator[0], 0.0), denominator[1])
    if any(math.isnan(v) for v in (a_low, a_high, b_low, b_high)) or b_high <= 0:
        return math.nan, math.nan

    def divide(a: float, b: float) -> float:
        return a / b if b > 0 else math.copysign(math.inf, a) if a else 0.0

    low = divide(a_low, b_high) if a_low >= 0 else divide(a_low, b_low)
    high = divide(a_high, b_low) if a_high >= 0 else divide(a_high, b_high)
    return low, high


def slope_interval(x: Sequence[float], y: Sequence[float], se: Sequence[float],
                   z: float = Z_95) -> tuple[float, float, float]:
    """The least-squares slope of ``y`` on ``x`` and its interval (95% by default), when the x
    are fixed and each y_j is an independent estimate with standard error ``se[j]``: the slope is
    Σ w_j y_j with w_j = (x_j − x̄) / Σ(x_k − x̄)², so its standard error is √(Σ w_j² se_j²)
    (the residuals around the line are not read: with a handful of x, a curve is not noise).
    NaN interval with fewer than two distinct x."""
    n = len(x)
    if n != len(y) or n != len(se):
        raise ValueError(f"x, y and se must have one value per point: {n}, {len(y)}, {len(se)}")
    mean_x = sum(x) / n if n else math.nan
    spread = sum((v - mean_x) ** 2 for v in x)
    if n < 2 or spread <= 0:
        return math.nan, math.nan, math.nan
    weights = [(v - mean_x) / spread for v in x]
    slope = sum(w * v for w, v in zip(weights, y, strict=True))
    half = z * math.sqrt(sum((w * s) ** 2 for w, s in zip(weights, se, strict=True)))
    return slope, slope - half, slope + half
