"""What the transfer-attack papers predict, as claims (see ``Claim``), each a paired comparison of
two attacks on the same test points, stated before the run:

- prediction: attack A transfers more than its base B from the same sources at the same eps;
- statistic: per test point, the share of (source, target) pairs A fools minus the share B fools
  (untargeted cells; every source both attacks ran on; the test point is the unit, since every
  cell evaluates the same points);
- test: one-sided Wilcoxon signed-rank of those differences (``paired_difference``);
- PASS: mean difference > 0 with p < ``ALPHA``; FAIL: mean difference ≤ 0 over at least
  ``MIN_POINTS`` points (the point estimate on the wrong side, or no effect at all); INCONCLUSIVE:
  fewer points, a positive difference that is not significant, or an attack missing.

The control of every claim is the base attack itself, on the same points, sources and targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from transfer import Cell, Claim, Finding, Verdict, paired_difference

from .result import TransferAttacksResult

ALPHA = 0.05
MIN_POINTS = 30


def untargeted(results: Mapping[Cell, Any], name: str, config: Any,
               source_filter: Callable[[TransferAttacksResult], bool] | None = None,
               ) -> dict[tuple[str, float], TransferAttacksResult]:
    """(source, eps) -> the untargeted result of the attack registered as ``name``."""
    labels = {a.label for a in config.attacks if a.name == name}
    return {(c["source"], c["eps"]): r for c, r in results.items()
            if c["attack"] in labels and c["mode"] == "none"
            and isinstance(r, TransferAttacksResult)
            and (source_filter is None or source_filter(r))}


def per_point(found: dict[tuple[str, float], TransferAttacksResult],
              keys: list[tuple[str, float]]) -> list[float]:
    """Per test point, the share of (source, target) pairs fooled over the cells ``keys``."""
    shares: list[float] = []
    pairs = 0
    for key in keys:
        result = found[key]
        for target in result.targets:
            flags = result.fooled(target)
            shares = [s + f for s, f in zip(shares, flags, strict=True)] if shares else \
                [float(f) for f in flags]
            pairs += 1
    return [s / pairs for s in shares]


def beats(better: str, base: str, *, residual_only: bool = False
          ) -> Callable[[Any, Mapping[Cell, Any]], Finding]:
    """The paired test of ``better`` over ``base`` (module docstring)."""
    def evaluate(config: Any, results: Mapping[Cell, Any]) -> Finding:
        keep = ((lambda r: r.attack_measures.get("sgm_modules", 0) > 0) if residual_only
                else None)
        a = untargeted(results, better, config, keep)
        b = untargeted(results, base, config)
        keys = sorted(set(a) & set(b))
        if not keys:
            what = " from a residual source" if residual_only else ""
            return Finding("INCONCLUSIVE", math.nan,
                           f"needs untargeted {better} and {base} cells{what}")
        difference = paired_difference(per_point(a, keys), per_point(b, keys))
        sources = sorted({s for s, _ in keys})
        evidence = (f"{better} − {base}, share of (source, target) pairs fooled per point, "
                    f"sources {', '.join(sources)}: {difference.text()}; "
                    f"{better} {_pooled(a, keys)} vs {base} {_pooled(b, keys)}")
        verdict: Verdict
        if difference.mean > 0 and difference.p_greater < ALPHA:
            verdict = "PASS"
        elif difference.mean <= 0 and difference.n >= MIN_POINTS:
            verdict = "FAIL"
        else:
            verdict = "INCONCLUSIVE"
        return Finding(verdict, difference.mean, evidence, low=difference.ci_low,
                       high=difference.ci_high, n=difference.n)

    return evaluate


def _pooled(found: dict[tuple[str, float], TransferAttacksResult],
            keys: list[tuple[str, float]]) -> str:
    """``k/n`` (source, target, point) trials fooled: the numerator and denominator."""
    fooled = sum(sum(found[k].fooled(t)) for k in keys for t in found[k].targets)
    trials = sum(found[k].n_points * len(found[k].targets) for k in keys)
    return f"{fooled}/{trials}"


RULE = (f"mean per-point difference > 0, one-sided Wilcoxon p < {ALPHA} (FAIL: ≤ 0 over at "
        f"least {MIN_POINTS} points)")

CLAIMS = (
    Claim("momentum-beats-iterative",
          "Momentum makes iterative attacks transfer better: MI-FGSM > I-FGSM",
          "Dong et al. 2018", "per-point share of (source, target) pairs fooled, mifgsm − bim",
          RULE, beats("mifgsm", "bim"),
          control="bim from the same sources to the same targets, on the same points",
          minimum=f"{MIN_POINTS} paired test points"),
    Claim("diversity-helps",
          "Input diversity raises transfer over its base attack: DI-MI-FGSM > MI-FGSM",
          "Xie et al. 2019", "per-point share of (source, target) pairs fooled, difgsm − mifgsm",
          RULE, beats("difgsm", "mifgsm"),
          control="mifgsm from the same sources to the same targets, on the same points",
          minimum=f"{MIN_POINTS} paired test points"),
    Claim("translation-helps",
          "Translation invariance raises transfer over its base attack: TI-MI-FGSM > MI-FGSM",
          "Dong et al. 2019", "per-point share of (source, target) pairs fooled, tifgsm − mifgsm",
          RULE, beats("tifgsm", "mifgsm"),
          control="mifgsm from the same sources to the same targets, on the same points",
          minimum=f"{MIN_POINTS} paired test points"),
    Claim("skip-gradient-helps",
          "Skip gradients raise transfer from a residual source: SGM > MI-FGSM",
          "Wu et al. 2020",
          "per-point share of (residual source, target) pairs fooled, sgm − mifgsm",
          RULE + "; only sources with residual blocks", beats("sgm", "mifgsm", residual_only=True),
          control="mifgsm from the same sources to the same targets, on the same points",
          minimum=f"{MIN_POINTS} paired test points"),
    Claim("single-step-transfers-more",
          "Iterative attacks without transfer help transfer less than single-step FGSM at the "
          "same eps", "Kurakin et al. 2017",
          "per-point share of (source, target) pairs fooled, fgsm − bim", RULE,
          beats("fgsm", "bim"),
          control="bim from the same sources to the same targets, on the same points",
          minimum=f"{MIN_POINTS} paired test points"),
)
