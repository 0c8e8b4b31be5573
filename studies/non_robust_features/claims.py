"""What Ilyas et al. (2019) predict, as claims on the non-robust-features study's results:
models trained only on relabelled adversarial examples (D_rand, D_det) classify the clean test
set well above chance (read only where the robust model still sees y in those examples), and
standard training on the robust dataset D_R gives robust accuracy that standard training on D
(or on the matched non-robust dataset D_NR) does not."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from transfer import Cell, Claim, Finding, NotApplicable, Rate, all_of, one_sided, paired_rates

if TYPE_CHECKING:
    from transfer import PairedRates, Verdict

# "Well above chance": the 95% interval's lower end more than MARGIN above chance 1/K (20%
# with 10 classes: twice chance). A model that learnt nothing that transfers to the clean test
# set scores chance; one that learnt only the robust features of D_det scores below it (it
# predicts y + 1). Ten points is twice the half-width of a Wilson interval on a few hundred
# test points, and stays reachable for any K (60% with 2 classes), unlike "twice chance".
MARGIN = 0.10
MIN_POINTS = 100  # paired test points below which a robust-accuracy comparison is undecided
# The gate on D_rand / D_det: Ilyas et al.'s reading needs x_adv to carry no robust feature of
# its new label t. A set can PASS only if the robust model still reads the original label y on
# more than half of its relabelled points (robust_sees_label's Wilson lower end above
# READS_ORIGINAL); otherwise the attack may have written robust features of t, and a model
# trained on it could generalise from those, not from non-robust ones: INCONCLUSIVE.
READS_ORIGINAL = 0.5


def by_set(results: Mapping[Cell, Any]) -> dict[str, Any]:
    """Training set name -> its finished result."""
    return {c["set"]: r for c, r in results.items() if not isinstance(r, NotApplicable)}


def _reads_original(result: Any) -> Rate | None:
    """The share of a relabelled set's points x_adv the robust model reads as y (None: not
    measured)."""
    return result.construction.robust_sees_label if result.construction else None


def _generalizes(rate: Rate, sees: Rate | None, chance: float) -> Verdict:
    """One set: FAIL at or below chance; PASS well above it with the gate met; else
    INCONCLUSIVE."""
    if rate.ci_high <= chance:
        return "FAIL"
    if rate.ci_low > chance + MARGIN:
        return "PASS" if sees is not None and sees.ci_low > READS_ORIGINAL else "INCONCLUSIVE"
    return "INCONCLUSIVE"


def _gate_text(rate: Rate, sees: Rate | None, chance: float) -> str:
    if sees is None:
        return "robust model's reading of y not measured: the gate cannot be checked"
    text = f"robust model reads y on {sees.percent()} ({sees.count}/{sees.n})"
    if rate.ci_low > chance + MARGIN and sees.ci_low <= READS_ORIGINAL:
        text += ": the attack may have written robust features of t"
    return text


def non_robust_generalize(config: Any, results: Mapping[Cell, Any]) -> Finding:
    done = by_set(results)
    present = [s for s in ("D_rand", "D_det") if s in done]
    if not present:
        return Finding("INCONCLUSIVE", math.nan, "needs D_rand or D_det in sets")
    chance = 1 / done[present[0]].n_classes
    rates: dict[str, Rate] = {s: done[s].clean for s in present}
    sees: dict[str, Rate | None] = {s: _reads_original(done[s]) for s in present}
    evidence = (f"clean test accuracy, chance {100 * chance:.0f}%, threshold "
                f"{100 * (chance + MARGIN):.0f}%, gate: robust model reads y on more than "
                f"{100 * READS_ORIGINAL:.0f}% of the set's points: "
                + "; ".join(f"{s} {r.percent()}, {_gate_text(r, sees[s], chance)}"
                            for s, r in rates.items()))
    verdicts: dict[str, Verdict] = {s: _generalizes(r, sees[s], chance) for s, r in rates.items()}
    verdict = all_of(list(verdicts.values()))  # PASS: all above and gated; FAIL: one at chance
    # the set that decides: the lowest accuracy among those with the claim's verdict
    rate = min((r for s, r in rates.items() if verdicts[s] == verdict), key=lambda r: r.rate)
    return Finding(verdict, rate.rate, evidence, rate.ci_low, rate.ci_high, rate.n)


def more_robust(results: Mapping[Cell, Any], better: str, worse: str
                ) -> tuple[Verdict, PairedRates | None, str]:
    """Robust accuracy of the model trained on ``better`` against the one trained on ``worse``,
    on the same test points: the exact McNemar test, read by ``one_sided`` (no comparison when
    one is missing or they were tested on different points)."""
    done = by_set(results)
    if better not in done or worse not in done:
        return "INCONCLUSIVE", None, f"needs {better} and {worse} in sets"
    a, b = done[better], done[worse]
    if a.points != b.points:
        return "INCONCLUSIVE", None, f"{better} and {worse} were tested on different points"
    paired = paired_rates(a.robust_correct, b.robust_correct)
    verdict = one_sided(paired.difference, paired.p_greater, paired.n, MIN_POINTS)
    return verdict, paired, f"{better} vs {worse}: {paired.text()}"


def _finding(verdict: Verdict, paired: PairedRates | None, evidence: str) -> Finding:
    """The difference of the robust accuracies, its Newcombe interval and the paired points."""
    if paired is None:
        return Finding(verdict, math.nan, evidence)
    return Finding(verdict, paired.difference, evidence, paired.ci_low, paired.ci_high,
                   paired.n)


def robust_dataset_robust(config: Any, results: Mapping[Cell, Any]) -> Finding:
    verdict, paired, evidence = more_robust(results, "D_R", "D")
    return _finding(verdict, paired, "robust test accuracy, " + evidence)


def robust_not_matching(config: Any, results: Mapping[Cell, Any]) -> Finding:
    """D_R must beat D_NR *and* D: a D_R no more robust than D leaves nothing to attribute. The
    numbers are those of the comparison that decides: the smaller difference among those with
    the claim's verdict (D_NR's on a tie)."""
    tests = {other: more_robust(results, "D_R", other) for other in ("D", "D_NR")}
    verdict = all_of([t[0] for t in tests.values()])
    deciding = min((tests[other] for other in ("D_NR", "D") if tests[other][0] == verdict),
                   key=lambda t: math.inf if t[1] is None else t[1].difference)
    return _finding(verdict, deciding[1], "robust test accuracy, " + "; ".join(
        f"{t[2]} {t[0]}" for t in tests.values()))


CLAIMS = (
    Claim("non-robust-generalize",
          "A model trained only on adversarial examples relabelled as their target class "
          "classifies the clean test set well above chance",
          "Ilyas et al. 2019, Table 1",
          "clean test accuracy of fresh models trained on D_rand (t random) and D_det "
          "(t = y + 1), and the share of each set's points x_adv the robust model still reads "
          "as y (robust_sees_label), 95% Wilson intervals",
          f"every accuracy interval's lower end more than {100 * MARGIN:.0f} points above "
          "chance 1/K, and its set gated: the robust model reads y on more than "
          f"{100 * READS_ORIGINAL:.0f}% of the set's points (Wilson lower end; else, or "
          "unmeasured, INCONCLUSIVE: the attack may have written robust features of t) (FAIL: "
          "one accuracy at or below chance)", non_robust_generalize,
          control="chance 1/K: a model that learnt nothing that transfers to the clean test "
                  "set; and the robust model's reading of x_adv, which must stay y: labels t "
                  "that x_adv carries no robust feature of",
          minimum="one of D_rand, D_det (the Wilson interval needs no more)"),
    Claim("robust-dataset-robust",
          "Standard training on the robust dataset D_R gives more robust accuracy than "
          "standard training on D",
          "Ilyas et al. 2019, §3.1 and Fig. 2",
          "robust test accuracy (evaluation attack at eps) on the same test points, D_R / std "
          "vs D / std, and their difference",
          "exact one-sided McNemar test D_R > D at p < 0.05 (FAIL: D_R's accuracy at or below "
          "D's)", robust_dataset_robust,
          control="the same architecture trained the same way on D, on the same test points",
          minimum=f"{MIN_POINTS} paired test points"),
    Claim("robust-features-not-matching",
          "The robustness comes from the robust model's features, not from rebuilding images: "
          "D_R beats D_NR, built the same way from the standard model",
          "Ilyas et al. 2019, §3.1 and Fig. 2",
          "robust test accuracy (evaluation attack at eps) on the same test points, D_R / std "
          "vs D_NR / std and vs D / std",
          "exact one-sided McNemar tests D_R > D_NR and D_R > D, each at p < 0.05 (FAIL: D_R at "
          "or below either)", robust_not_matching,
          control="D_NR, built the same way through the standard model's representation; and D",
          minimum=f"{MIN_POINTS} paired test points"),
)
