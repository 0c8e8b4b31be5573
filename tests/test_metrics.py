import math

import pytest
from scipy.stats import binomtest

from transfer import wilson_interval

CASES = [(0, 1), (1, 1), (3, 10), (0, 50), (50, 50), (17, 283), (500, 1000)]


@pytest.mark.parametrize("k,n", CASES)
def test_wilson_matches_scipy(k, n):
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_without_trials_is_undefined():
    low, high = wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)


def _exact_signed_rank_p(differences):
    """P(W+ ≥ observed) under H0 by enumerating every sign pattern of the nonzero differences
    (no ties among |d| here): the exact one-sided Wilcoxon signed-rank p-value."""
    import itertools

    nonzero = [d for d in differences if d != 0]
    ranks = {abs(d): r + 1 for r, d in enumerate(sorted(nonzero, key=abs))}
    observed = sum(ranks[abs(d)] for d in nonzero if d > 0)
    total = [sum(r for r, s in zip(ranks.values(), signs, strict=True) if s)
             for signs in itertools.product([0, 1], repeat=len(nonzero))]
    return sum(w >= observed for w in total) / len(total)


def test_paired_difference_matches_a_brute_force_signed_rank_test():
    from transfer import paired_difference

    a = [0.9, 0.4, 1.7, 0.2, 1.1, 0.8, 1.3, 0.5]
    b = [0.1, 0.6, 0.2, 0.25, 0.05, 1.1, 0.0, 0.5]  # one tie (0) is dropped, as Wilcoxon did
    result = paired_difference(a, b)
    differences = [x - y for x, y in zip(a, b, strict=True)]
    assert result.n == 8 and result.nonzero == 7
    assert result.mean == pytest.approx(sum(differences) / 8)
    assert result.p_greater == pytest.approx(_exact_signed_rank_p(differences), abs=1e-12)
    from scipy.stats import ttest_1samp

    interval = ttest_1samp(differences, 0).confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == pytest.approx((interval.low, interval.high))


def test_paired_difference_of_equal_measurements_has_no_test():
    from transfer import paired_difference

    same = paired_difference([1, 0, 1], [1, 0, 1])
    assert same.mean == 0 and same.nonzero == 0 and math.isnan(same.p_greater)
    with pytest.raises(ValueError, match="same points"):
        paired_difference([1, 0], [1])
