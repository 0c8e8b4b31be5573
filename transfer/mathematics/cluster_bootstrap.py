"""Rates pooled over cells that share their test points, with the test point as the unit of
resampling (a cluster bootstrap; Davison & Hinkley 1997, §3.8): every point brings its successes
and trials from every cell, and a resample draws points, not trials, with replacement.

A pooled Wilson interval treats the trials of 20 cells on the same 300 points as 6,000
independent trials; this interval knows there are 300."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

DRAWS = 4000  # bootstrap resamples: the interval's ends move by < 0.5% of its width between seeds
SEED = 0


@dataclass(frozen=True)
class ClusteredRate:
    """``count`` of ``trials`` pooled over ``points`` test points (those with a trial), its share
    and a 95% percentile interval from resampling the points (NaN with no trial)."""

    rate: float
    count: int
    trials: int
    points: int
    ci_low: float
    ci_high: float

    def text(self) -> str:
        """``22.9% [18.6, 28.1] (4,580/20,000 trials on 300 points)``."""
        return (f"{100 * self.rate:.1f}% [{100 * self.ci_low:.1f}, {100 * self.ci_high:.1f}] "
                f"({self.count:,}/{self.trials:,} trials on {self.points} points)")


def bootstrap_replicates(successes: Sequence[Sequence[float]], trials: Sequence[Sequence[float]],
                         draws: int = DRAWS, seed: int = SEED):
    """Resampled pooled rates, one row per group: ``successes[g][i]`` and ``trials[g][i]`` are
    group g's counts at point i (every group on the same points, resampled together, so the
    replicates of two groups stay paired). Returns an array ``(groups, draws)``."""
    import numpy as np

    hits = np.asarray(successes, dtype=float)
    tries = np.asarray(trials, dtype=float)
    weights = _weights(hits.shape[1], draws, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (hits @ weights) / (tries @ weights)


@functools.lru_cache(maxsize=4)
def _weights(points: int, draws: int, seed: int):
    """How often each of ``points`` points is drawn in each of ``draws`` resamples, an array
    ``(points, draws)``; the same for the same arguments, so it is drawn once per process (a
    study's claims resample the same points dozens of times)."""
    import numpy as np

    weights = np.random.default_rng(seed).multinomial(points, np.full(points, 1 / points),
                                                      size=draws).T.astype(float)
    weights.flags.writeable = False
    return weights


def _interval(replicates, level: float = 0.95) -> tuple[float, float]:
    import numpy as np

    finite = replicates[np.isfinite(replicates)]
    if len(finite) == 0:
        return math.nan, math.nan
    low, high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def clustered_rate(successes: Sequence[float], trials: Sequence[float], draws: int = DRAWS,
                   seed: int = SEED) -> ClusteredRate:
    """The pooled rate of per-point ``successes`` out of per-point ``trials``."""
    count, total = int(sum(successes)), int(sum(trials))
    points = sum(1 for t in trials if t > 0)
    if total == 0:
        return ClusteredRate(math.nan, 0, 0, 0, math.nan, math.nan)
    low, high = _interval(bootstrap_replicates([successes], [trials], draws, seed)[0])
    return ClusteredRate(count / total, count, total, points, low, high)


@dataclass(frozen=True)
class ClusteredDifference:
    """Pooled rate a minus pooled rate b on the same points, with the percentile interval of the
    paired resamples at ``level`` (95% by default)."""

    a: ClusteredRate
    b: ClusteredRate
    difference: float
    ci_low: float
    ci_high: float
    level: float = 0.95

    def text(self) -> str:
        """``27.7% vs 22.9%: +4.8 points [-0.4, +9.9] (300 points)``."""
        level = "" if self.level == 0.95 else f" ({100 * self.level:.4g}% interval)"
        return (f"{self.a.text()} vs {self.b.text()}: {100 * self.difference:+.1f} points "
                f"[{100 * self.ci_low:+.1f}, {100 * self.ci_high:+.1f}]{level}")


def clustered_difference(a_successes: Sequence[float], a_trials: Sequence[float],
                         b_successes: Sequence[float], b_trials: Sequence[float],
                         draws: int = DRAWS, seed: int = SEED, level: float = 0.95
                         ) -> ClusteredDifference:
    """Pooled rate a − pooled rate b, both measured on the same points in the same order."""
    if len(a_trials) != len(b_trials):
        raise ValueError(f"a paired difference needs the same points: {len(a_trials)} vs "
                         f"{len(b_trials)}")
    a = clustered_rate(a_successes, a_trials, draws, seed)
    b = clustered_rate(b_successes, b_trials, draws, seed)
    replicates = bootstrap_replicates([a_successes, b_successes], [a_trials, b_trials], draws,
                                      seed)
    low, high = _interval(replicates[0] - replicates[1], level)
    return ClusteredDifference(a, b, a.rate - b.rate, low, high, level)
