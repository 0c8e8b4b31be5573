"""Claims: what a theory predicts, stated as data next to a study, and evaluated on its results.

A study declares ``claims``: each is a test stated before the run, with an id, the prediction
in one sentence, its paper, the statistic measured (``quantity``), the threshold that decides it
(``test``), the control it is compared against and the smallest sample it needs (``minimum``),
and ``evaluate(config, results) -> Finding`` with the verdict ``PASS``, ``FAIL`` or
``INCONCLUSIVE``. INCONCLUSIVE means the data cannot decide (fewer points than the minimum, a
difference in the predicted direction that is not significant); a point estimate on the wrong
side of the prediction with enough points is a FAIL (``one_sided``). Every claim is logged as
the metric ``claim.<id>`` (1 / 0 / -1) with its evidence in the ``claims`` table, and listed at
the end of the study's terminal summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .cell import Cell
from .summary import Summary, Table

Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]
SCORE: dict[str, float] = {"PASS": 1.0, "FAIL": 0.0, "INCONCLUSIVE": -1.0}


@dataclass(frozen=True)
class Finding:
    """What evaluating a claim found: the verdict, the measured value (the effect the threshold
    reads; NaN when there was none to measure), the evidence in one line, and, where the claim
    has them, the value's 95% interval (``low``, ``high``) and the number of units behind it
    (``n``: test points, targets, models; for a claim over several models, those of the one that
    decides the verdict)."""

    verdict: Verdict
    value: float
    evidence: str
    low: float = math.nan
    high: float = math.nan
    n: int | None = None

    def effect(self) -> str:
        """``+0.048 [+0.029, +0.066] (n = 284)``, or what of it there is."""
        if math.isnan(self.value):
            return "–"
        text = f"{self.value:+.3g}"
        if not (math.isnan(self.low) or math.isnan(self.high)):
            text += f" [{self.low:+.3g}, {self.high:+.3g}]"
        return text + (f" (n = {self.n})" if self.n is not None else "")


@dataclass(frozen=True)
class Claim:
    """A testable prediction of a theory, evaluated on a study's results. ``theory`` names the
    explanation of adversarial examples it tests (a row of ``transfer report``); empty means
    the study's own ``theory``. ``control`` says what the statistic is compared against and
    ``minimum`` the smallest sample below which the claim stays INCONCLUSIVE (every built-in
    claim states both)."""

    id: str
    text: str
    paper: str
    quantity: str
    test: str
    evaluate: Callable[[Any, Mapping[Cell, Any]], Finding]
    theory: str = ""
    control: str = ""
    minimum: str = ""


ALPHA = 0.05  # the one-sided significance level of every built-in paired test


def one_sided(effect: float, p_value: float, n: int, minimum: int, alpha: float = ALPHA
              ) -> Verdict:
    """The verdict of a one-sided test of ``effect > 0``: INCONCLUSIVE with fewer than
    ``minimum`` units (or no effect to read); else PASS when the effect is positive and
    ``p_value < alpha``, FAIL when the point estimate is zero or on the wrong side, and
    INCONCLUSIVE for a positive effect that is not significant."""
    if n < minimum or math.isnan(effect):
        return "INCONCLUSIVE"
    if effect <= 0:
        return "FAIL"
    return "PASS" if p_value < alpha else "INCONCLUSIVE"


def every_above(pairs: list[tuple[Any, Any]]) -> Verdict:
    """PASS when the first of every pair lies above the second (disjoint 95% intervals:
    ``first.above(second)``, for ``Rate`` or ``Mean``), FAIL when the second of one lies above
    its first, else INCONCLUSIVE (also with no pair)."""
    if pairs and all(first.above(second) for first, second in pairs):
        return "PASS"
    return "FAIL" if any(second.above(first) for first, second in pairs) else "INCONCLUSIVE"


def all_of(verdicts: list[Verdict]) -> Verdict:
    """PASS when every verdict is PASS, FAIL when one is FAIL, else INCONCLUSIVE (also with
    none): a claim made for every model holds only if it holds for each."""
    if verdicts and all(v == "PASS" for v in verdicts):
        return "PASS"
    return "FAIL" if "FAIL" in verdicts else "INCONCLUSIVE"


def deciding(items: list[Any], verdict_of: Callable[[Any], Verdict], verdict: Verdict
             ) -> list[Any]:
    """The items (models, pairs, cells) whose own verdict is the claim's ``verdict``, which
    report its effect and n; all of them when none is."""
    return [item for item in items if verdict_of(item) == verdict] or list(items)


def guarded(items: tuple[Any, ...], evaluate: Callable[[Any], Any],
            failed: Callable[[str], Any]) -> list[tuple[Any, Any]]:
    """``(item, evaluate(item))`` for each item; an evaluation that raises gives
    ``failed(why)`` instead: a broken evaluation must not lose the study's results."""
    done = []
    for item in items:
        try:
            outcome = evaluate(item)
        except Exception as error:
            outcome = failed(f"{type(error).__name__}: {error}")
        done.append((item, outcome))
    return done


def check(claims: tuple[Claim, ...], config: Any, results: Mapping[Cell, Any]
          ) -> list[tuple[Claim, Finding]]:
    """Every claim's finding; a claim whose evaluation raises is INCONCLUSIVE and says why."""
    return guarded(claims, lambda claim: claim.evaluate(config, results),
                   lambda why: Finding("INCONCLUSIVE", math.nan,
                                       f"the evaluation failed: {why}"))


def add_to_summary(summary: Summary, checked: list[tuple[Claim, Finding]], theory: str = ""
                   ) -> None:
    """The claims as metrics ``claim.<id>``, the ``claims`` table (each claim's theory, else
    ``theory``) and a terminal table."""
    if not checked:
        return
    for claim, finding in checked:
        summary.metrics[f"claim.{claim.id}"] = SCORE[finding.verdict]
    summary.tables["claims"] = Table({
        "id": [c.id for c, _ in checked], "verdict": [f.verdict for _, f in checked],
        "value": [f.value for _, f in checked], "claim": [c.text for c, _ in checked],
        "paper": [c.paper for c, _ in checked], "quantity": [c.quantity for c, _ in checked],
        "test": [c.test for c, _ in checked], "control": [c.control for c, _ in checked],
        "minimum": [c.minimum for c, _ in checked], "effect": [f.effect() for _, f in checked],
        "ci_low": [f.low for _, f in checked], "ci_high": [f.high for _, f in checked],
        "n": [math.nan if f.n is None else f.n for _, f in checked],
        "evidence": [f.evidence for _, f in checked],
        "theory": [c.theory or theory for c, _ in checked],
    }, "what the theories predict, and what the data say")
    summary.terminal.append(Table({
        "verdict": [f.verdict for _, f in checked],
        "claim": [f"{c.text} ({c.paper}) [{c.id}]" for c, _ in checked],
        "evidence": [f.evidence for _, f in checked],
    }, "claims: what the theories predict, and what these results say", keys=1))


def failed(checked: list[tuple[Claim, Finding]]) -> list[str]:
    """The ids of the claims that FAIL."""
    return [claim.id for claim, finding in checked if finding.verdict == "FAIL"]
