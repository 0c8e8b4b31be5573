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
