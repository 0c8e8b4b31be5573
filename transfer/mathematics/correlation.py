"""The uncertainty of a rank correlation.

Spearman's ρ of n pairs, carried to Fisher's z = atanh(ρ), where it is close to normal, with the
standard error Bonett & Wright (2000) give for Spearman's coefficient, √((1 + ρ²/2)/(n − 3))
(Fisher's 1/√(n − 3) is Pearson's, too narrow for ranks), and carried back with tanh.
"""

from __future__ import annotations

import math

from .intervals import Z_95


def spearman_interval(rho: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The 95% interval (by default; ``z`` the normal quantile of another level) of Spearman's
    ``rho`` over ``n`` pairs: Fisher's z with Bonett & Wright's standard error.

    ``(nan, nan)`` when there is none: n ≤ 3 (no standard error), ρ undefined (NaN), or
    |ρ| = 1 (z is infinite there: a perfect agreement of the ranks says nothing of its own
    uncertainty, and the interval would shrink to the point)."""
    if n <= 3 or math.isnan(rho) or abs(rho) >= 1:
        return math.nan, math.nan
    centre = math.atanh(rho)
    half = z * math.sqrt((1 + rho * rho / 2) / (n - 3))
    return math.tanh(centre - half), math.tanh(centre + half)
