"""Claims: what a theory predicts, stated as data next to a study, and evaluated on its results.

A study declares ``claims``: each has an id, the prediction in one sentence, its paper, the
quantity measured, the test, and ``evaluate(config, results) -> Finding`` with the verdict
``PASS``, ``FAIL`` or ``INCONCLUSIVE`` (too few points, intervals that overlap, a missing
control). Every claim is logged as the metric ``claim.<id>`` (1 / 0 / -1) with its evidence in
the ``claims`` table, and listed at the end of the study's terminal summary.
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
    """What evaluating a claim found: the verdict, the measured value (NaN when there was none
    to measure) and the evidence in one line."""

    verdict: Verdict
    value: float
    evidence: str


@dataclass(frozen=True)
class Claim:
    """A testable prediction of a theory, evaluated on a study's results. ``theory`` names the
    explanation of adversarial examples it tests (a row of ``transfer report``); empty means
    the study's own ``theory``."""

    id: str
    text: str
    paper: str
    quantity: str
    test: str
    evaluate: Callable[[Any, Mapping[Cell, Any]], Finding]
    theory: str = ""


def every_above(pairs: list[tuple[Any, Any]]) -> Verdict:
    """PASS when the first of every pair lies above the second (disjoint 95% intervals:
    ``first.above(second)``, for ``Rate`` or ``Mean``), FAIL when the second of one lies above
    its first, else INCONCLUSIVE (also with no pair)."""
    if pairs and all(first.above(second) for first, second in pairs):
        return "PASS"
    return "FAIL" if any(second.above(first) for first, second in pairs) else "INCONCLUSIVE"


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
        "test": [c.test for c, _ in checked], "evidence": [f.evidence for _, f in checked],
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
