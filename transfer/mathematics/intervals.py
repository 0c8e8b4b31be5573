"""Rates with honest uncertainty."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default; Wilson 1927).

    ``(nan, nan)`` when there are no trials: the rate is undefined, not zero.
    """
    if trials == 0:
        return math.nan, math.nan
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
