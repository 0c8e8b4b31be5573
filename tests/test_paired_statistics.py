"""The paired and clustered statistics against independent computations: McNemar's exact p and
Wilcoxon's signed-rank p against brute-force enumeration of every relabelling of a tiny table,
Newcombe's paired interval by its coverage on simulated tables, and the cluster bootstrap against
the exact bootstrap distribution enumerated over every resample of a few points."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from transfer.mathematics.cluster_bootstrap import (
    bootstrap_replicates,
    clustered_difference,
    clustered_rate,
)
from transfer.mathematics.paired import paired_difference, paired_rates


def _swap_p(a: list[bool], b: list[bool]) -> tuple[float, float]:
    """Exact one-sided p-values by swapping a_i and b_i in every one of the 2^n ways (the null:
    the two conditions are exchangeable on each point)."""
    observed = sum(a) - sum(b)
    outcomes = []
    for swaps in itertools.product((False, True), repeat=len(a)):
        first = [y if s else x for x, y, s in zip(a, b, swaps, strict=True)]
        second = [x if s else y for x, y, s in zip(a, b, swaps, strict=True)]
        outcomes.append(sum(first) - sum(second))
    return (sum(o >= observed for o in outcomes) / len(outcomes),
            sum(o <= observed for o in outcomes) / len(outcomes))


@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_equals_the_exact_swap_distribution(seed):
    rng = np.random.default_rng(seed)
    a = list(rng.random(11) < 0.6)
    b = list(rng.random(11) < 0.35)
    found = paired_rates(a, b)
    greater, less = _swap_p(a, b)
    if found.a_only + found.b_only == 0:
        assert math.isnan(found.p_greater)
    else:
        assert found.p_greater == pytest.approx(greater, abs=1e-12)
        assert found.p_less == pytest.approx(less, abs=1e-12)
    assert (found.a, found.b, found.n) == (sum(a), sum(b), 11)
    assert found.difference == pytest.approx((sum(a) - sum(b)) / 11)


def test_concordant_points_do_not_move_mcnemar():
    a, b = [True] * 6 + [False] * 2, [False] * 6 + [True] * 2
    more = paired_rates(a + [True] * 30 + [False] * 30, b + [True] * 30 + [False] * 30)
    assert more.p_greater == pytest.approx(paired_rates(a, b).p_greater)


def test_newcombes_interval_covers_the_true_difference_about_95_percent():
    rng = np.random.default_rng(0)
    n, p_both, p_a_only, p_b_only = 60, 0.3, 0.15, 0.05  # true difference 0.10
    covered = 0
    trials = 2000
    for _ in range(trials):
        kind = rng.choice(4, size=n, p=[p_both, p_a_only, p_b_only, 1 - p_both - p_a_only
                                        - p_b_only])
        found = paired_rates(np.isin(kind, (0, 1)), np.isin(kind, (0, 2)))
        covered += found.ci_low <= p_a_only - p_b_only <= found.ci_high
    assert 0.93 <= covered / trials <= 0.975


def test_wilcoxon_equals_the_exact_sign_flip_distribution():
    rng = np.random.default_rng(1)
    a = rng.normal(0.3, 1, 9)
    b = rng.normal(0, 1, 9)
    differences = a - b
    ranks = np.argsort(np.argsort(np.abs(differences))) + 1
    observed = ranks[differences > 0].sum()
    flips = [sum(r for r, s in zip(ranks, signs, strict=True) if s)
             for signs in itertools.product((False, True), repeat=9)]
    exact = sum(f >= observed for f in flips) / len(flips)
    assert paired_difference(a, b).p_greater == pytest.approx(exact, abs=1e-12)


def _exact_bootstrap(successes, trials) -> list[float]:
    """Every one of the n^n equally likely resamples of n points, and its pooled rate."""
    n = len(trials)
    return [sum(successes[i] for i in pick) / sum(trials[i] for i in pick)
            for pick in itertools.product(range(n), repeat=n)]


def test_the_cluster_bootstrap_matches_every_resample_of_four_points():
    successes, trials = [3, 0, 5, 2], [4, 2, 6, 5]
    exact = np.array(_exact_bootstrap(successes, trials))
    drawn = bootstrap_replicates([successes], [trials], draws=40_000, seed=3)[0]
    for value in np.unique(exact):
        assert np.mean(drawn <= value + 1e-12) == pytest.approx(
            np.mean(exact <= value + 1e-12), abs=0.012)
    found = clustered_rate(successes, trials)
    assert (found.count, found.trials, found.points) == (10, 17, 4)
    assert found.rate == pytest.approx(10 / 17)
    low, high = np.quantile(exact, [0.025, 0.975])
    assert found.ci_low == pytest.approx(low, abs=0.03)
    assert found.ci_high == pytest.approx(high, abs=0.03)


def test_pooling_cells_on_the_same_points_does_not_narrow_the_interval():
    """Twenty identical cells on 100 points carry the information of 100 points, not 2,000."""
    rng = np.random.default_rng(2)
    flags = (rng.random(100) < 0.3).astype(float)
    one = clustered_rate(flags, np.ones(100))
    twenty = clustered_rate(20 * flags, np.full(100, 20.0))
    assert twenty.ci_low == pytest.approx(one.ci_low) and twenty.ci_high == pytest.approx(
        one.ci_high)
    assert twenty.trials == 2000 and twenty.points == 100


def test_a_paired_difference_resamples_both_rates_together():
    rng = np.random.default_rng(4)
    base = (rng.random(200) < 0.4).astype(float)
    extra = ((rng.random(200) < 0.1) & (base == 0)).astype(float)
    found = clustered_difference(base + extra, np.ones(200), base, np.ones(200))
    assert found.difference == pytest.approx(extra.mean())
    assert 0 <= found.ci_low < extra.mean() < found.ci_high  # never below: b ≤ a on every point
    unpaired = clustered_rate(base + extra, np.ones(200)).ci_high - clustered_rate(
        base, np.ones(200)).ci_low
    assert found.ci_high - found.ci_low < unpaired / 2
