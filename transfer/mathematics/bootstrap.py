"""The percentile bootstrap of a statistic of per-unit values (Efron & Tibshirani 1993, §13.3):
the units (test points) are drawn with replacement, the statistic is computed on every resample,
and the 2.5% and 97.5% quantiles of those replicates are the 95% interval. Several measurements of
the same units are resampled together, so paired values stay paired (a ratio of two means on the
same points, a median of per-point ratios)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

RESAMPLES = 2000  # resamples of the units: the ends move by a few % of the width between seeds
SEED = 0


def bootstrap_interval(statistic: Callable[..., Any], *samples: Sequence[float],
                       resamples: int = RESAMPLES, seed: int = SEED, level: float = 0.95
                       ) -> tuple[float, float]:
    """The percentile interval of ``statistic`` over the units of ``samples``.

    ``samples`` are one or more sequences of per-unit values, the same units in the same order;
    ``statistic`` takes one array per sample, each of shape ``(resamples, units)`` (a resample
    per row), and returns the ``resamples`` values of the statistic (e.g. ``lambda a, b:
    a.mean(1) / b.mean(1)``). The ends are the outward order statistics of the replicates (no
    interpolation, so an infinite replicate, such as a ratio whose denominator resampled to 0,
    keeps its place); NaN replicates are dropped. ``(nan, nan)`` with no unit or no replicate
    that is not NaN."""
    import numpy as np

    arrays = [np.asarray(sample, dtype=np.float64) for sample in samples]
    if not arrays or len({len(a) for a in arrays}) != 1:
        raise ValueError("bootstrap samples must measure the same units: "
                         f"{[len(a) for a in arrays]}")
    units = len(arrays[0])
    if units == 0:
        return math.nan, math.nan
    index = np.random.default_rng(seed).integers(0, units, size=(resamples, units))
    with np.errstate(invalid="ignore", divide="ignore"):
        replicates = np.asarray(statistic(*(a[index] for a in arrays)), dtype=np.float64)
    replicates = replicates[~np.isnan(replicates)]
    if len(replicates) == 0:
        return math.nan, math.nan
    low = np.quantile(replicates, (1 - level) / 2, method="lower")
    high = np.quantile(replicates, (1 + level) / 2, method="higher")
    return float(low), float(high)
