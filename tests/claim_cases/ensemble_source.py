"""Constructed ensemble-source results (Liu et al. 2017) on which each claim returns each verdict.

The config: three gradient sources (mlp, cnn, softmax) and a decision tree, a target only (left
out of every ensemble); an untargeted and a targeted PGD at two budgets. Its cells are the
study's own ``plan``: 4 targets x 2 attacks x 2 eps leave-one-out cells and 4 white-box cells.

Every member attacking alone fools every target on ``SINGLES`` of ``N`` common points, the
leave-one-out ensemble on ``ensemble`` of them (one knob for every cell), so per target:

==============  =========================  ====  ====
target          members                    mean  best
==============  =========================  ====  ====
mlp             cnn 110, softmax 70          90   110
cnn             mlp 90, softmax 70           80    90
softmax         mlp 90, cnn 110             100   110
decision-tree   mlp 90, cnn 110, softmax 70  90   110
==============  =========================  ====  ====

The untargeted attack gives 8 cells (4 targets x 2 eps) to the sign tests: 8 wins of 8 is
p = 0.008, 6 of 8 is p = 0.29. In the targeted cells each single source's examples keep their
target class on the target for ``SINGLE_MATCHING`` of N points, the ensemble's for ``matching``;
the claim pools them over the 8 targeted cells.
"""

from __future__ import annotations

from typing import Any

from transfer import Cell, Rate, wilson_interval
from transfer.studies.ensemble_source import EnsembleSource
from transfer.studies.ensemble_source.config import EnsembleSourceConfig
from transfer.studies.ensemble_source.result import EnsembleResult

from . import Case

STUDY = "ensemble-source"

N = 200  # points both the source(s) and the target classify correctly, per cell
SINGLES = {"mlp": 90, "cnn": 110, "softmax": 70}  # successes of N, each member alone
SINGLE_MATCHING = 10  # targeted: successes of N that keep the target class, each member alone
WHITEBOX = 190  # the ensemble of all sources on each member
NO_GRADIENTS = {"decision-tree": "decision-tree has no gradients (capabilities: decision)"}


def _rate(successes: int, n: int = N) -> Rate:
    low, high = wilson_interval(successes, n)
    return Rate(rate=successes / n, count=successes, n=n, ci_low=low, ci_high=high)


def _config() -> EnsembleSourceConfig:
    return EnsembleSourceConfig.model_validate({
        "study": STUDY, "n_points": N, "eps": [0.1, 0.2],
        "models": [*SINGLES, *NO_GRADIENTS],
        "attacks": [{"name": "pgd", "params": {"steps": 10}},
                    {"name": "pgd", "label": "pgd-targeted",
                     "params": {"steps": 10, "target": "random"}}],
    })


def _result(config: EnsembleSourceConfig, cell: Cell, ensemble: int,
            matching: int) -> EnsembleResult:
    if cell["kind"] == "whitebox":
        return EnsembleResult(kind="whitebox", members=list(SINGLES), left_out=NO_GRADIENTS,
                              whitebox={m: _rate(WHITEBOX) for m in SINGLES})
    members = [m for m in SINGLES if m != cell["target"]]
    targeted = "target" in config.attack(cell["attack"]).params
    return EnsembleResult(
        kind="leave-one-out", members=members, left_out=NO_GRADIENTS,
        ensemble=_rate(ensemble), singles={m: _rate(SINGLES[m]) for m in members},
        ensemble_matching=_rate(matching) if targeted else None,
        singles_matching={m: _rate(SINGLE_MATCHING) for m in members} if targeted else {},
    )


def _case(ensemble: int = 105, matching: int = 30) -> Case:
    """The study's cells with the ensemble fooling the target on ``ensemble`` of N points (every
    leave-one-out cell) and keeping the target class on ``matching`` of N (targeted cells)."""

    def case() -> tuple[Any, dict[Cell, Any]]:
        config = _config()
        return config, {cell: _result(config, cell, ensemble, matching)
                        for cell in EnsembleSource().plan(config)}

    return case


CASES: dict[str, dict[str, Case]] = {
    "beats-mean": {
        "PASS": _case(ensemble=105),  # above every target's mean: 8 wins of 8
        "FAIL": _case(ensemble=75),  # below every target's mean: 8 losses of 8
        # above the mean for mlp, cnn and the tree, below it for softmax: 6 of 8, p = 0.29
        "INCONCLUSIVE": _case(ensemble=95),
    },
    "beats-best": {
        "PASS": _case(ensemble=120),  # above every target's best: 8 wins of 8
        "FAIL": _case(ensemble=85),  # below every target's best: 8 losses of 8
        # above the best only when cnn (the best source) is the target: 2 of 8, p = 0.29
        "INCONCLUSIVE": _case(ensemble=105),
    },
    "targeted-needs-ensemble": {
        "PASS": _case(matching=30),  # pooled 15.0% [13.3, 16.8] vs 5.0% [4.3, 5.8]
        "FAIL": _case(matching=2),  # pooled 1.0% [0.6, 1.6] vs 5.0% [4.3, 5.8]
        "INCONCLUSIVE": _case(matching=12),  # pooled 6.0% [4.9, 7.3]: the intervals overlap
    },
}
