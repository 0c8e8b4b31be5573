"""The intervals the claims report, against independent computations: the Fisher-z interval of
Spearman's ρ by its coverage on simulated bivariate normals; the percentile bootstrap against the
exact bootstrap distribution enumerated over every resample of a few points, and by its
coverage; the Student-t interval against scipy's; the range of a ratio against a brute-force
grid, and the Bonferroni ratio of two rates on shared points by its coverage; the slope through
estimates with known errors against the sandwich covariance of least squares, and by coverage."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from transfer import (
    bootstrap_interval,
    quotient_range,
    simultaneous_z,
    slope_interval,
    spearman_interval,
    t_interval,
    wilson_interval,
)


def _spearman_rows(xy: np.ndarray) -> np.ndarray:
    """Spearman's ρ of each sample (rows of n pairs): Pearson's r of the ranks."""
    rx, ry = stats.rankdata(xy[..., 0], axis=1), stats.rankdata(xy[..., 1], axis=1)
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    return (rx * ry).sum(1) / np.sqrt((rx ** 2).sum(1) * (ry ** 2).sum(1))


@pytest.mark.parametrize("rho,n", [(0.0, 10), (0.5, 30), (-0.6, 20), (0.9, 100)])
def test_the_spearman_interval_covers_the_population_rho_95_percent_of_the_time(rho, n):
    # bivariate normal with Pearson ρ: the population Spearman ρ is (6/π)·asin(ρ/2)
    target = 6 / math.pi * math.asin(rho / 2)
    rng = np.random.default_rng(7)
    samples = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=(3000, n))
    rhos = _spearman_rows(samples)
    assert np.allclose(rhos[:20], [stats.spearmanr(s[:, 0], s[:, 1]).statistic
                                   for s in samples[:20]])
    intervals = [spearman_interval(float(r), n) for r in rhos]
    coverage = np.mean([low <= target <= high for low, high in intervals])
    assert 0.935 <= coverage <= 0.975, coverage  # 3000 draws: ±0.008 is two standard errors
    assert all(low < r < high for r, (low, high) in zip(rhos, intervals, strict=True)
               if abs(r) < 1)


def test_the_spearman_interval_is_undefined_where_z_is():
    for rho, n in [(0.5, 3), (0.5, 0), (1.0, 50), (-1.0, 50), (math.nan, 50)]:
        assert all(math.isnan(v) for v in spearman_interval(rho, n)), (rho, n)


def _exact_bootstrap(statistic, *samples: list[float]) -> tuple[np.ndarray, float, float]:
    """Every one of the n^n equally likely resamples of n units: the statistic's values, and
    their 2.5% and 97.5% quantiles (outward order statistics)."""
    n = len(samples[0])
    index = np.array(list(itertools.product(range(n), repeat=n)))
    values = np.sort(statistic(*(np.asarray(s, dtype=float)[index] for s in samples)))
    return (values, float(np.quantile(values, 0.025, method="lower")),
            float(np.quantile(values, 0.975, method="higher")))


@pytest.mark.parametrize("case", ["mean", "median", "paired ratio of means"])
def test_the_bootstrap_matches_the_exact_bootstrap_distribution(case):
    a, b = [0.3, 1.7, 0.9, 2.8, 1.1, 0.4], [1.0, 2.0, 1.5, 2.2, 0.7, 1.9]
    statistic, samples = {
        "mean": (lambda x: x.mean(1), (a,)),
        "median": (lambda x: np.median(x, axis=1), (a,)),
        "paired ratio of means": (lambda x, y: x.mean(1) / y.mean(1), (a, b)),
    }[case]
    values, exact_low, exact_high = _exact_bootstrap(statistic, *samples)
    low, high = bootstrap_interval(statistic, *samples, resamples=200_000, seed=3)
    # the Monte Carlo ends sit where the exact distribution has 2.5% and 97.5% of its mass
    below_low = np.searchsorted(values, low, side="left") / len(values)
    upto_high = np.searchsorted(values, high, side="right") / len(values)
    assert below_low <= 0.025 + 0.003 and np.searchsorted(values, low, "right") / len(
        values) >= 0.025 - 0.003, (low, exact_low)
    assert upto_high >= 0.975 - 0.003 and np.searchsorted(values, high, "left") / len(
        values) <= 0.975 + 0.003, (high, exact_high)


def test_the_bootstrap_of_a_median_covers_the_population_median():
    rng = np.random.default_rng(11)
    median = math.log(2)  # of the standard exponential
    hits = [low <= median <= high for low, high in (
        bootstrap_interval(lambda x: np.median(x, axis=1), rng.exponential(size=80),
                           resamples=1000, seed=s) for s in range(400))]
    assert 0.91 <= np.mean(hits) <= 0.99, np.mean(hits)


def test_the_bootstrap_keeps_infinite_replicates_and_says_when_there_is_nothing():
    low, high = bootstrap_interval(lambda x: np.median(x, axis=1),
                                   [1.0, 2.0, 3.0, math.inf, math.inf, math.inf])
    assert 1.0 <= low <= 3.0 and high == math.inf
    assert all(math.isnan(v) for v in bootstrap_interval(lambda x: x.mean(1), []))
    with pytest.raises(ValueError, match="same units"):
        bootstrap_interval(lambda x, y: x.mean(1), [1.0, 2.0], [1.0])


def test_simultaneous_z_and_the_t_interval_against_scipy():
    assert simultaneous_z(1) == pytest.approx(stats.norm.ppf(0.975))
    assert simultaneous_z(2) == pytest.approx(stats.norm.ppf(1 - 0.05 / 4))
    assert simultaneous_z(3, 0.9) == pytest.approx(stats.norm.ppf(1 - 0.1 / 6))
    values = np.random.default_rng(2).normal(3.0, 2.0, size=25)
    mean, sd, n = values.mean(), values.std(ddof=1), len(values)
    for level, z in [(0.95, simultaneous_z(1)), (0.975, simultaneous_z(2))]:
        expected = stats.t.interval(level, n - 1, loc=mean, scale=stats.sem(values))
        assert t_interval(mean, sd, n, z) == pytest.approx(expected)
    assert all(math.isnan(v) for v in t_interval(1.0, math.nan, 1))


@pytest.mark.parametrize("numerator,denominator", [
    ((0.2, 0.5), (0.4, 0.8)), ((-0.3, 0.5), (0.4, 0.8)), ((-0.6, -0.1), (0.2, 0.9)),
    ((0.1, 0.4), (-0.2, 0.3)), ((-0.1, 0.4), (0.0, 0.3))])
def test_the_quotient_range_is_the_range_over_a_grid(numerator, denominator):
    a = np.linspace(*numerator, 401)
    b = np.linspace(max(denominator[0], 0.0), denominator[1], 401)
    with np.errstate(divide="ignore", invalid="ignore"):
        grid = (a[:, None] / b[None, :]).ravel()
    grid = grid[~np.isnan(grid)]
    low, high = quotient_range(numerator, denominator)
    assert low == pytest.approx(grid.min()) and high == pytest.approx(grid.max())


@pytest.mark.parametrize("dependence", ["nested", "disjoint", "independent"])
def test_the_bonferroni_ratio_of_two_rates_on_shared_points_covers_the_true_ratio(dependence):
    # two error rates on the same 300 points, 0.18 and 0.45 (the ratio 0.4), the second's
    # errors inside the first's, outside them, or independent of them
    rng, n, z = np.random.default_rng(5), 300, simultaneous_z(2)
    hits = []
    for _ in range(2000):
        first, draw = rng.random(n) < 0.45, rng.random(n)
        second = {"nested": first & (draw < 0.4), "disjoint": ~first & (draw < 0.18 / 0.55),
                  "independent": draw < 0.18}[dependence]
        low, high = quotient_range(wilson_interval(int(second.sum()), n, z),
                                   wilson_interval(int(first.sum()), n, z))
        hits.append(low <= 0.4 <= high)
    assert np.mean(hits) >= 0.95, np.mean(hits)


def test_a_wilson_interval_of_per_point_shares_is_conservative():
    # each point's error averaged over 8 random directions, the points' own rates spread
    rng, n = np.random.default_rng(9), 100
    rates = rng.beta(0.5, 8.0, size=n)
    mean = float(rates.mean())
    hits = [low <= mean <= high for low, high in (
        wilson_interval(float((rng.random((n, 8)) < rates[:, None]).mean(1).sum()), n)
        for _ in range(3000))]
    assert np.mean(hits) >= 0.95, np.mean(hits)


def test_the_slope_interval_against_the_sandwich_covariance_and_by_coverage():
    x = np.log([8.0, 16.0, 32.0, 64.0, 128.0])
    se = np.array([0.04, 0.05, 0.03, 0.06, 0.08])
    design = np.column_stack([np.ones_like(x), x])
    bread = np.linalg.inv(design.T @ design)
    expected_se = math.sqrt((bread @ design.T @ np.diag(se ** 2) @ design @ bread)[1, 1])
    y = -0.5 * x + 1.0 + np.array([0.02, -0.03, 0.01, 0.05, -0.04])
    slope, low, high = slope_interval(list(x), list(y), list(se))
    assert slope == pytest.approx(np.polyfit(x, y, 1)[0])
    assert (high - low) / 2 == pytest.approx(stats.norm.ppf(0.975) * expected_se)
    rng = np.random.default_rng(4)
    hits = []
    for _ in range(4000):
        _, low, high = slope_interval(list(x), list(1.0 - 0.5 * x + rng.normal(0, se)), list(se))
        hits.append(low <= -0.5 <= high)
    assert 0.94 <= np.mean(hits) <= 0.96, np.mean(hits)
    assert all(math.isnan(v) for v in slope_interval([1.0, 1.0], [0.0, 1.0], [0.1, 0.1]))
