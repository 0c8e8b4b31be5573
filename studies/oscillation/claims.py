"""What the oscillation view predicts, as claims (see ``Claim``): Belkin et al. (2018) — an
interpolating classifier fits every noisy label, so its errors become denser as the training set
grows and lie closer to test points than those of a non-interpolating model of the same family;
Szegedy et al. (2013) — every class has confident pockets near any input, here uniform noise.

A model interpolates at a size when its measured training error is 0. Distances are compared
point by point (the same evaluation points in every cell) with a one-sided Wilcoxon
signed-rank test; thresholds were fixed before the first run. The label-noise-0 control cells
(``label_noise`` in their key) are read only by ``errors-dense-for-interpolators``: more data
brings a test point nearer other-class training points without noisy labels too, so the noisy
arm's distances must shrink more than the control's."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from transfer import Cell, Claim, Finding, NotApplicable, Rate, bootstrap_interval

if TYPE_CHECKING:
    from transfer import Verdict

ALPHA = 0.05  # one-sided Wilcoxon signed-rank level
MAJORITY = 0.5  # share of noise images that must reach a class within the budget
MIN_PAIRS = 10  # fewer non-zero paired differences: no test


def cells(results: Mapping[Cell, Any], control: bool = False) -> dict[tuple[str, Any], Any]:
    """(model label, size as in the config) -> result, for the cells that ran with the
    config's label noise, or (``control``) for the label-noise-0 control's."""
    return {(c["model"], c["size"]): r for c, r in results.items()
            if not isinstance(r, NotApplicable) and ("label_noise" in c.as_dict()) == control}


def measured_sizes(config: Any, done: dict[tuple[str, Any], Any]) -> list[Any]:
    return [s for s in config.sizes if any((m.label, s) in done for m in config.models)]


def at_largest_size(config: Any, results: Mapping[Cell, Any]) -> dict[str, Any]:
    """Model label -> result, for the cells that ran at the largest size any cell ran at."""
    done = cells(results)
    sizes = measured_sizes(config, done)
    return {} if not sizes else {m.label: done[(m.label, sizes[-1])] for m in config.models
                                 if (m.label, sizes[-1]) in done}


def paired(a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The distances of two cells at the points where both found one."""
    da, db = a.distances(), b.distances()
    both = torch.isfinite(da) & torch.isfinite(db)
    return da[both], db[both]


def signed_rank(before: torch.Tensor, after: torch.Tensor) -> tuple[float, float]:
    """(p that ``after`` is smaller, p that it is larger): one-sided Wilcoxon signed-rank tests
    of the paired values (zero differences dropped); nan with fewer than ``MIN_PAIRS`` non-zero
    differences."""
    from scipy.stats import wilcoxon

    if int((after != before).sum()) < MIN_PAIRS:
        return math.nan, math.nan
    less = float(wilcoxon(after.numpy(), before.numpy(), alternative="less").pvalue)
    greater = float(wilcoxon(after.numpy(), before.numpy(), alternative="greater").pvalue)
    return less, greater


def shift(before: torch.Tensor, after: torch.Tensor
          ) -> tuple[float, float, float, tuple[float, float]]:
    """(p that ``after`` is smaller, p that it is larger, mean after / mean before, and that
    ratio's 95% percentile bootstrap interval over the paired points)."""
    less, greater = signed_rank(before, after)
    if math.isnan(less):
        return math.nan, math.nan, math.nan, (math.nan, math.nan)
    interval = bootstrap_interval(lambda a, b: a.mean(1) / b.mean(1), after.tolist(),
                                  before.tolist())
    return less, greater, after.mean().item() / before.mean().item(), interval


Test = tuple[float, float, float, tuple[float, float], int]  # ``shift``'s, and the points


def _finding(tests: list[Test], evidence: str, passed: list[bool] | None = None,
             failed: list[bool] | None = None) -> Finding:
    """PASS when every test passes (by default: says smaller), FAIL when one fails (says
    larger). The value is the ratio of means of the test that decides (the largest among
    those that fail for a FAIL, else among those that do not pass, else among all), with its
    bootstrap interval, and ``n`` its paired points."""
    passed = [t[0] < ALPHA for t in tests] if passed is None else passed
    failed = [t[1] < ALPHA for t in tests] if failed is None else failed
    verdict: Verdict
    if all(passed):
        verdict, deciding = "PASS", tests
    elif any(failed):
        verdict, deciding = "FAIL", [t for t, f in zip(tests, failed, strict=True) if f]
    else:
        verdict, deciding = "INCONCLUSIVE", [t for t, p in zip(tests, passed, strict=True)
                                             if not p]
    _, _, ratio, (low, high), points = max(
        deciding, key=lambda t: -math.inf if math.isnan(t[2]) else t[2])
    return Finding(verdict, ratio, evidence, low, high, points)


def _shifted(test: Any, points: int) -> str:
    """``(×ratio; n points; p(smaller) = ..., p(larger) = ...)``: a ``shift`` test in words."""
    return (f"(×{test[2]:.2f}; {points} points; p(smaller) = {test[0]:.2g}, "
            f"p(larger) = {test[1]:.2g})")


def control_test(noisy: tuple[Any, Any], clean: tuple[Any, Any]
                 ) -> tuple[float, float, float, float, int]:
    """The label-noise-0 control of one model, on the points with a finite distance in all
    four cells (smallest and largest size, noisy and clean labels): (p that the noisy arm's
    log(d_large / d_small) is smaller than the control's — the noisy arm shrinks more —, p
    that it is larger, the control's mean at the smallest size, at the largest, the points)."""
    d = torch.stack([cell.distances() for cell in (*noisy, *clean)])
    d = d[:, (torch.isfinite(d) & (d > 0)).all(dim=0)]
    shrinks_more, shrinks_less = signed_rank((d[3] / d[2]).log(), (d[1] / d[0]).log())
    means = d.mean(dim=1) if d.shape[1] else torch.full((4,), math.nan, dtype=d.dtype)
    return shrinks_more, shrinks_less, means[2].item(), means[3].item(), d.shape[1]


def _controlled(control: tuple[float, float, float, float, int]) -> str:
    """The control's means and test in words."""
    more, less, before, after, points = control
    return (f"label-noise-0 control: mean {before:.3f} → {after:.3f} (×{after / before:.2f}); "
            f"noisy shrinks more: p = {more:.2g}, control shrinks more: p = {less:.2g} "
            f"({points} points)")


def errors_dense(config: Any, results: Mapping[Cell, Any]) -> Finding:
    done, clean = cells(results), cells(results, control=True)
    sizes = measured_sizes(config, done)
    if len(sizes) < 2:
        return Finding("INCONCLUSIVE", math.nan, "needs two training-set sizes")
    small, large = sizes[0], sizes[-1]
    tests, parts, left_out = [], [], []
    passed, failed = [], []
    for spec in config.models:
        a, b = done.get((spec.label, small)), done.get((spec.label, large))
        if a is None or b is None:
            continue
        if not (a.interpolates and b.interpolates):
            left_out.append(f"{spec.label} (training error {100 * a.train_error.rate:.0f}% → "
                            f"{100 * b.train_error.rate:.0f}%)")
            continue
        before, after = paired(a, b)
        test = shift(before, after)
        tests.append((*test, len(before)))
        parts.append(f"{spec.label}, n {a.size} → {b.size}: mean {before.mean():.3f} → "
                     f"{after.mean():.3f} {_shifted(test, len(before))}")
        c, d = clean.get((spec.label, small)), clean.get((spec.label, large))
        control = None if c is None or d is None else control_test((a, b), (c, d))
        if control is not None:
            parts[-1] += f"; {_controlled(control)}"
        elif config.control_sizes():  # the config asked for it: some control cell did not run
            parts[-1] += "; no label-noise-0 control"
        passed.append(test[0] < ALPHA and control is not None and control[0] < ALPHA)
        failed.append(test[1] < ALPHA or (control is not None and control[1] < ALPHA))
    tail = f"; not interpolating: {', '.join(left_out)}" if left_out else ""
    if not config.control_sizes():
        tail += (f"; no label-noise-0 control (control = {str(config.control).lower()}, "
                 f"label_noise = {config.label_noise:g}, {len(config.sizes)} size(s))")
    if not tests:
        return Finding("INCONCLUSIVE", math.nan, "no model interpolates at both the smallest "
                                                  f"and the largest size{tail}")
    return _finding(tests, "; ".join(parts) + tail, passed, failed)


def interpolation_closer(config: Any, results: Mapping[Cell, Any]) -> Finding:
    at = at_largest_size(config, results)
    if not at:
        return Finding("INCONCLUSIVE", math.nan, "no cell ran")
    tests, parts = [], []
    for label, cell in at.items():
        if not cell.interpolates:
            continue
        for other, counterpart in at.items():
            if counterpart.family != cell.family or counterpart.interpolates:
                continue
            before, after = paired(counterpart, cell)
            test = shift(before, after)
            tests.append((*test, len(before)))
            parts.append(f"{label} vs {other}: {after.mean():.3f} vs {before.mean():.3f} "
                         f"{_shifted(test, len(before))}")
    if not tests:
        return Finding("INCONCLUSIVE", math.nan, "needs an interpolating and a non-interpolating "
                                                 "model of the same family at the largest size")
    return _finding(tests, f"n = {next(iter(at.values())).size}: " + "; ".join(parts))


def every_class_near_noise(config: Any, results: Mapping[Cell, Any]) -> Finding:
    at = at_largest_size(config, results)
    if not at:
        return Finding("INCONCLUSIVE", math.nan, "no cell ran")
    shares: list[Rate] = []
    parts, contrast = [], []
    for label, cell in at.items():
        reached = cell.reached()
        if not cell.interpolates:
            contrast.append(f"{label} {100 * Rate.pooled(reached).rate:.0f}%")
            continue
        shares += reached
        low = min(range(len(reached)), key=lambda c: reached[c].rate)
        medians = [m / cell.scale for m in cell.reach_medians()]
        parts.append(f"{label}: pooled {Rate.pooled(reached).percent()}, fewest class {low} "
                     f"{reached[low].percent()}; median distance / scale per class "
                     f"{min(medians):.2f}–{max(medians):.2f}")
    if not shares:
        return Finding("INCONCLUSIVE", math.nan, "no model interpolates at the largest size")
    head = f"share of noise images within {config.budget:g} × scale: "
    tail = f"; not interpolating, pooled: {', '.join(contrast)}" if contrast else ""
    evidence = head + "; ".join(parts) + tail
    verdict: Verdict
    if all(r.ci_low > MAJORITY for r in shares):
        verdict, deciding = "PASS", shares
    elif any(r.ci_high < MAJORITY for r in shares):
        verdict, deciding = "FAIL", [r for r in shares if r.ci_high < MAJORITY]
    else:
        verdict, deciding = "INCONCLUSIVE", [r for r in shares if not r.ci_low > MAJORITY]
    # the (model, class) that decides: the smallest share among those with the verdict
    share = min(deciding, key=lambda r: r.rate)
    return Finding(verdict, share.rate, evidence, share.ci_low, share.ci_high, share.n)


CLAIMS = (
    Claim("errors-dense-for-interpolators",
          "For an interpolating model, test points lie closer to an error as the training set "
          "grows: its errors become dense",
          "Belkin, Ma & Mandal 2018; Szegedy et al. 2013",
          "L2 distance from each correctly classified test point to the nearest error, smallest "
          "vs largest training set, per model that interpolates at both (training error 0); "
          "per point, log(distance at the largest / at the smallest size) with the noisy labels "
          "vs with label noise 0",
          f"smaller at the largest size for every such model, one-sided Wilcoxon signed-rank "
          f"p < {ALPHA:g} on the points measured at both, and shrinking more than with label "
          f"noise 0: the noisy log-ratio below the control's, one-sided Wilcoxon signed-rank "
          f"p < {ALPHA:g} on the points measured in all four cells (FAIL: larger, p < "
          f"{ALPHA:g}, or the control's log-ratio below the noisy one's, p < {ALPHA:g}, for one "
          "model)", errors_dense,
          control="the same model, test points and training points with label noise 0 (clean "
                  "labels) at the smallest and the largest size: how much the distances shrink "
                  "with n without noisy labels",
          minimum=f"{MIN_PAIRS} non-zero paired differences per model in each test, and the "
                  "label-noise-0 control at both sizes"),
    Claim("interpolation-closer",
          "At the largest training set, an interpolating model's test points lie closer to an "
          "error than a non-interpolating model's of the same family",
          "Belkin, Ma & Mandal 2018",
          "L2 distance to the nearest error, interpolating vs non-interpolating model of the same "
          "family (e.g. 1-NN vs 15-NN), on the points both classify correctly",
          f"smaller for every pair, one-sided Wilcoxon signed-rank p < {ALPHA:g} (FAIL: larger, "
          f"p < {ALPHA:g}, for one pair)", interpolation_closer,
          control="the non-interpolating model of the same family, on the same points",
          minimum=f"{MIN_PAIRS} non-zero paired differences per pair"),
    Claim("every-class-near-noise",
          "From uniform noise, every class is confidently reachable within a small distance for "
          "an interpolating model", "Szegedy et al. 2013",
          "per class, the share of noise images whose smallest perturbation to a confident "
          "prediction of it (probability or k-NN vote ≥ confidence) is within budget × the "
          "median distance between test points of different classes, at the largest size",
          f"95% interval above {MAJORITY:.0%} for every class and interpolating model "
          f"(budget 0.25 by default; FAIL: below {MAJORITY:.0%} for one — distances are upper "
          "bounds, so a FAIL means the searches found no confident point within the budget)",
          every_class_near_noise,
          control="none: a fixed share (the non-interpolating models are shown, not tested)",
          minimum="one interpolating model at the largest size"),
)
