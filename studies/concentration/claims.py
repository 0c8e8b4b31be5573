"""What concentration of measure predicts, as claims (see ``Claim``): Gilmer et al. (2018) — a
trained model's errors sit about as close as isoperimetry allows for its error rate, and that
distance, relative to the norm of a point, shrinks with the dimension; Mahloujifar et al. (2019)
— on real image data the models' adversarial risk lies well above the concentration lower bound,
so concentration alone does not explain it.

How to read ``near-bound``: the theorem says the TRUE mean distance to the error set is at most
the bound (ratio ≤ 1), and the attack's distance is an upper bound of the true one. A ratio near
1 says the model is about as robust as any model with its error rate can be (Gilmer et al.'s
finding); far below 1 (< 1/2) says its errors are spread out, so it is much less robust than its
error rate forces; far above 1 (> 2) says the attack missed errors the theorem guarantees at half
that distance (a failure of the measurement, not of the theorem).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from transfer import (
    Cell,
    Claim,
    Finding,
    NotApplicable,
    simultaneous_z,
    slope_interval,
    wilson_interval,
)

from .bounds import mean_distance_bound

if TYPE_CHECKING:
    from transfer import Verdict

FACTOR = 2.0  # near-bound: measured / bound within [1/FACTOR, FACTOR]


def synthetic_cells(results: Mapping[Cell, Any]) -> dict[str, list[Any]]:
    """Synthetic dataset label -> its finished cells' ``SyntheticPart``, by increasing d."""
    found: dict[str, list[Any]] = {}
    for cell, result in results.items():
        if (cell["part"] == "synthetic" and not isinstance(result, NotApplicable)
                and result.synthetic is not None):
            found.setdefault(cell["data"], []).append(result.synthetic)
    return {label: sorted(parts, key=lambda p: p.d) for label, parts in found.items()}


def real_cells(results: Mapping[Cell, Any]) -> list[tuple[str, float, Any]]:
    """(model, eps, ``RealPart``) of the finished real-data cells."""
    return sorted(((c["model"], c["eps"], r.real) for c, r in results.items()
                   if c["part"] == "real" and not isinstance(r, NotApplicable)
                   and r.real is not None), key=lambda t: (t[0], t[1]))


def measurable(part: Any) -> bool:
    """A cell with errors (μ > 0) and a finite measured distance."""
    return part.error.count > 0 and math.isfinite(part.distance.mean) and part.bound > 0


def near_bound(config: Any, results: Mapping[Cell, Any]) -> Finding:
    cells = synthetic_cells(results)
    parts = [(label, p) for label, ps in cells.items() for p in ps]
    if not parts:
        return Finding("INCONCLUSIVE", math.nan, "no synthetic cell")
    missing = [f"{label} d={p.d}" for label, p in parts if not measurable(p)]
    usable = [(label, p) for label, p in parts if measurable(p)]
    evidence = "measured / bound: " + "; ".join(
        f"{label}: " + ", ".join(f"d={p.d} {p.ratio:.2f} [{p.ratio_low:.2f}, {p.ratio_high:.2f}]"
                                 for lab, p in usable if lab == label)
        for label in cells)
    if missing:
        evidence += "; no error found (μ = 0) at " + ", ".join(missing)
    if not usable:
        return Finding("INCONCLUSIVE", math.nan, evidence)
    outside = [p for _, p in usable if p.ratio_low > FACTOR or p.ratio_high < 1 / FACTOR]
    if outside:
        return _ratio_finding("FAIL", outside, evidence)
    straddling = [p for _, p in usable
                  if not (p.ratio_low >= 1 / FACTOR and p.ratio_high <= FACTOR)]
    inside = not straddling
    # INCONCLUSIVE: the cells whose interval straddles a limit decide (every cell, when only a
    # cell without errors holds the verdict back)
    return _ratio_finding("PASS" if inside and not missing else "INCONCLUSIVE",
                          straddling or [p for _, p in usable], evidence)


def _ratio_finding(verdict: Verdict, deciding: list[Any], evidence: str) -> Finding:
    """The ratio furthest from 1 among the ``deciding`` cells, its interval and its points."""
    worst = max(deciding, key=lambda p: abs(math.log(p.ratio)) if p.ratio > 0 else 1e9)
    return Finding(verdict, worst.ratio, evidence, worst.ratio_low, worst.ratio_high,
                   worst.distance.n)


def adjusted(part: Any, mu: float) -> tuple[float, float, float]:
    """The relative distance (mean, 95% interval) rescaled to the error rate ``mu`` by the
    bound's μ-dependence at this d: what the model would show at ``mu`` with the same measured /
    bound ratio."""
    factor = (mean_distance_bound(part.kind, mu, part.d, part.scale) / part.bound) / part.scale
    distance = part.distance
    return distance.mean * factor, distance.ci_low * factor, distance.ci_high * factor


def log_standard_error(part: Any) -> float:
    """The standard error of the log of ``adjusted(part, mu)[0]``: the mean distance's relative
    standard error and the bound's at the model's error rate (read off the bound at the ends of
    μ's 95% interval), added as independent. They are not: more errors mean more zero distances
    and a smaller bound, moving the adjusted distance both ways, so the sum overstates it. The
    common μ is held fixed."""
    distance = part.distance
    if not (distance.n > 1 and distance.mean > 0 and part.bound_low > 0):
        return math.nan
    spread = math.log(part.bound_high / part.bound_low) / (2 * simultaneous_z(1))
    return math.sqrt((distance.sd / math.sqrt(distance.n) / distance.mean) ** 2 + spread ** 2)


def shrinks_with_dimension(config: Any, results: Mapping[Cell, Any]) -> Finding:
    cells = {label: usable for label, ps in synthetic_cells(results).items()
             if len(usable := [p for p in ps if measurable(p)]) >= 2}
    if not cells:
        return Finding("INCONCLUSIVE", math.nan, "needs two measurable dimensions of a synthetic "
                                                 "dataset")
    verdicts, slopes, lines, dims, intervals = [], [], [], [], []
    for label, parts in cells.items():
        mu = float(np.median([p.error.rate for p in parts]))
        values = [adjusted(p, mu) for p in parts]
        first, last = values[0], values[-1]
        slope = float(np.polyfit(np.log([p.d for p in parts]), np.log([v[0] for v in values]),
                                 1)[0])
        slopes.append(slope)
        # the slope's interval: the dimensions are fixed, each log distance an independent
        # estimate from its own points (its mean's standard error and its bound's)
        intervals.append(slope_interval([math.log(p.d) for p in parts],
                                        [math.log(v[0]) if v[0] > 0 else math.nan
                                         for v in values],
                                        [log_standard_error(p) for p in parts])[1:])
        dims.append(len(parts))
        raw = [p.relative(p.distance.mean) for p in (parts[0], parts[-1])]
        lines.append(f"{label} at μ = {100 * mu:.1f}%: d={parts[0].d} {first[0]:.3f} "
                     f"[{first[1]:.3f}, {first[2]:.3f}] → d={parts[-1].d} {last[0]:.3f} "
                     f"[{last[1]:.3f}, {last[2]:.3f}] (raw {raw[0]:.3f} → {raw[1]:.3f}), "
                     f"log-log slope {slope:.2f}")
        verdicts.append("PASS" if last[2] < first[1] and slope < 0
                        else "FAIL" if last[1] > first[2] else "INCONCLUSIVE")
    evidence = "relative distance at a common error rate: " + "; ".join(lines)
    verdict: Verdict = ("FAIL" if "FAIL" in verdicts
                        else "PASS" if all(v == "PASS" for v in verdicts) else "INCONCLUSIVE")
    # the dataset that decides: the flattest slope among those with the claim's verdict; its
    # units are the dimensions it is fitted on
    slope, n, (low, high) = max(((s, k, i) for s, k, i, v in zip(
        slopes, dims, intervals, verdicts, strict=True) if v == verdict), key=lambda t: t[:2])
    return Finding(verdict, slope, evidence, low, high, n)


def real_data_gap(config: Any, results: Mapping[Cell, Any]) -> Finding:
    cells = real_cells(results)
    vulnerable = [(m, e, p) for m, e, p in cells if p.risk.above(p.alpha)]
    if not vulnerable:
        return Finding("INCONCLUSIVE", math.nan, "no real-data cell where the adversarial risk "
                       "lies above the clean error α (nothing to explain)" if cells
                       else "no real-data cell")
    evidence = "adversarial risk vs concentration bound: " + "; ".join(
        f"{m} at eps {e:g}: {p.risk.percent()} vs {p.concentration.percent()}"
        for m, e, p in vulnerable)
    if len(vulnerable) < len(cells):
        evidence += f" ({len(cells) - len(vulnerable)} cell(s) without risk above α left out)"
    short = [(m, e, p) for m, e, p in vulnerable if p.coverage.ci_high < p.alpha.rate]
    if short:
        return _gap_finding("INCONCLUSIVE", short, evidence + "; the union of balls covers "
                            "significantly less than α of the held-out points at " + ", ".join(
                                f"{m} at eps {e:g} ({p.coverage.percent()} < α "
                                f"{100 * p.alpha.rate:.1f}%)" for m, e, p in short))
    explained = [(m, e, p) for m, e, p in vulnerable
                 if p.risk.ci_high <= p.concentration.ci_high]
    if explained:
        return _gap_finding("FAIL", explained, evidence + "; the whole 95% interval of the risk "
                            "lies within what concentration forces at " + ", ".join(
                                f"{m} at eps {e:g}" for m, e, _ in explained))
    if all(p.risk.above(p.concentration) for _, _, p in vulnerable):
        return _gap_finding("PASS", vulnerable, evidence)
    return _gap_finding("INCONCLUSIVE", [(m, e, p) for m, e, p in vulnerable
                                         if not p.risk.above(p.concentration)],
                        evidence + "; the intervals overlap somewhere")


def _gap_finding(verdict: Verdict, deciding: list[tuple[str, float, Any]], evidence: str
                 ) -> Finding:
    """The smallest gap (risk − estimate) among the ``deciding`` cells, its held-out points, and
    its 95% interval: the two rates share their points but only their counts are stored, so
    each gets a Wilson interval at which both hold together (Bonferroni, whatever their
    dependence) and the gap ranges over them."""
    part = min((p for _, _, p in deciding), key=lambda p: p.gap)
    z = simultaneous_z(2)
    risk = wilson_interval(part.risk.count, part.risk.n, z)
    estimate = wilson_interval(part.concentration.count, part.concentration.n, z)
    return Finding(verdict, part.gap, evidence, risk[0] - estimate[1], risk[1] - estimate[0],
                   part.risk.n)


CLAIMS = (
    Claim("near-bound",
          "A trained model's errors are about as close as isoperimetry allows for its error rate",
          "Gilmer et al. 2018",
          "measured mean distance from a class's points to the nearest error / the largest mean "
          "distance any error set of the model's measure μ can have (cap, half-space), per "
          "(synthetic dataset, d); ≤ 1 for the true distance, the attack's is an upper bound",
          f"every cell's 95% interval within [1/{FACTOR:g}, {FACTOR:g}] (FAIL: one entirely "
          f"outside: below, the model is far less robust than its error rate forces; above, the "
          "attack misses errors the theorem guarantees)",
          near_bound,
          control="the isoperimetric bound for the model's own error rate μ (closed form)",
          minimum="two points per cell (a mean with an interval)"),
    Claim("shrinks-with-dimension",
          "The distance to the nearest error, relative to the norm of a point, shrinks as d grows",
          "Gilmer et al. 2018 (the O(1/√d) of concentration); Dobriban 2020",
          "measured mean distance / typical norm (r, √d), rescaled to a common error rate (the "
          "dataset's median μ) by the bound's μ-dependence at each d; smallest vs largest d, and "
          "the log-log slope (bound: −1/2)",
          "lower at the largest d than at the smallest, 95% intervals disjoint, negative slope, "
          "for every synthetic dataset (FAIL: higher for one)",
          shrinks_with_dimension,
          control="the same dataset at the smallest d, rescaled to the same error rate",
          minimum="two dimensions per synthetic dataset"),
    Claim("real-data-gap",
          "On real data the models' adversarial risk lies above the concentration lower bound: "
          "concentration alone does not explain it",
          "Mahloujifar et al. 2019 (NeurIPS)",
          "PGD adversarial risk at eps vs the empirical concentration (held-out measure of the "
          "eps-expansion of a union of balls covering the model's error rate α), per (model, "
          "eps); both estimates are biased towards a SMALLER gap",
          "risk above the estimate for every (model, eps) whose risk exceeds α, 95% intervals "
          "disjoint (FAIL: for one, the risk's whole interval lies at or below the estimate's "
          "upper end: the model is as robust as the data's concentration permits)",
          real_data_gap,
          control="the empirical concentration of the data at the same eps and error rate",
          minimum="one (model, eps) whose risk exceeds α"),
)
