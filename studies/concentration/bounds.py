"""The isoperimetric bounds on the mean distance to an error set of measure μ (Gilmer et al. 2018,
"Adversarial spheres", §4; the Gaussian isoperimetric inequality of Borell and Sudakov–Tsirelson).

Among all sets E of measure μ, the extremal set has the smallest ε-expansion for every ε: a
spherical cap on the sphere, a half-space for the standard Gaussian. Since the mean distance to E
is ∫ (1 − μ(E_ε)) dε, the extremal set also has the LARGEST mean distance: no error set of measure
μ can be farther away on average. So for any classifier whose error rate on a class is μ, the
mean distance from that class's points to the nearest error is at most

- on the sphere of radius r in R^d (chord distance, measured on the sphere): the mean distance to
  a cap {x₁ ≥ r·cos θ_c} of measure μ. With t = x₁/r, (t + 1)/2 ~ Beta((d − 1)/2, (d − 1)/2), and
  a point at angle θ = arccos t from the pole lies 2r·sin((θ − θ_c)/2) from the cap when θ > θ_c;
- under N(m, I) (Euclidean distance, any dimension): the mean distance to a half-space
  {z₁ ≥ a} of measure μ, E[(a − Z)₊] = a·Φ(a) + φ(a) with a = Φ⁻¹(1 − μ).

The cap's bound relative to r, and the half-space's relative to √d (the typical norm of the
noise), shrink like 1/√d at a fixed μ: the "concentration of measure" of Gilmer et al.
"""

from __future__ import annotations

import math


def cap_mean_distance(mu: float, d: int, radius: float = 1.0) -> float:
    """Mean chord distance from a uniform point of the sphere of ``radius`` in R^d to a spherical
    cap of measure ``mu`` (exact, by quadrature over the quantiles of the first coordinate)."""
    from scipy import integrate, stats

    if d < 2:
        raise ValueError(f"a sphere needs d >= 2, got {d}")
    if not 0.0 <= mu <= 1.0:
        raise ValueError(f"mu must be a measure in [0, 1], got {mu}")
    if mu >= 1.0:
        return 0.0
    k = (d - 1) / 2
    theta_cap = math.acos(min(1.0, max(-1.0, 2 * float(stats.beta.isf(mu, k, k)) - 1)))

    def distance(p: float) -> float:  # p: the quantile of (t + 1)/2 among points outside
        t = 2 * float(stats.beta.ppf(p, k, k)) - 1
        return 2 * radius * math.sin(max(math.acos(min(1.0, max(-1.0, t))) - theta_cap, 0) / 2)

    value, _ = integrate.quad(distance, 0.0, 1.0 - mu, limit=200, epsabs=1e-10, epsrel=1e-8)
    return float(value)


def halfspace_mean_distance(mu: float) -> float:
    """Mean Euclidean distance from a point of N(m, I) to a half-space of measure ``mu``:
    a·Φ(a) + φ(a), a = Φ⁻¹(1 − μ) (infinite for μ = 0)."""
    from scipy import stats

    if not 0.0 <= mu <= 1.0:
        raise ValueError(f"mu must be a measure in [0, 1], got {mu}")
    if mu <= 0.0:
        return math.inf
    if mu >= 1.0:
        return 0.0
    a = float(stats.norm.isf(mu))
    return a * float(stats.norm.cdf(a)) + float(stats.norm.pdf(a))


def mean_distance_bound(kind: str, mu: float, d: int, radius: float = 1.0) -> float:
    """The bound of a synthetic kind: ``spheres`` (the cap) or ``gaussian`` (the half-space)."""
    if kind == "spheres":
        return cap_mean_distance(mu, d, radius)
    if kind == "gaussian":
        return halfspace_mean_distance(mu)
    raise ValueError(f"no isoperimetric bound for {kind!r}; known: spheres, gaussian")
