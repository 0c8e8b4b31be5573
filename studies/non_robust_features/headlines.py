"""Ilyas et al.'s (2019) headline numbers next to ours: the clean test accuracy of models trained
on D_rand and D_det (their Table 1, CIFAR-10) and the robust accuracy of standard training on
D_R (the authors' release of their CIFAR-10 datasets)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Headline, Measured, NotApplicable

from .result import threat_model


def _done(results: Mapping[Cell, Any], name: str) -> Any:
    return next((r for c, r in results.items()
                 if c["set"] == name and not isinstance(r, NotApplicable)), None)


def _accuracy(name: str) -> Any:
    def measure(config: Any, results: Mapping[Cell, Any]) -> Measured:
        done = _done(results, name)
        if done is None:
            return Measured(math.nan, f"needs {name} in sets")
        success = done.construction.attack_success if done.construction else None
        reached = f", attack reached t on {100 * success.rate:.0f}%" if success else ""
        return Measured(done.clean.rate, f"{name} / std: clean test accuracy "
                                         f"{done.clean.percent()} (chance "
                                         f"{100 / done.n_classes:.0f}%{reached})")
    return measure


def robust_accuracy_d_r(config: Any, results: Mapping[Cell, Any]) -> Measured:
    d_r, d = _done(results, "D_R"), _done(results, "D")
    if d_r is None:
        return Measured(math.nan, "needs D_R in sets")
    text = (f"{threat_model(config, [d_r])}: D_R / std "
            f"{d_r.robust.percent()} (clean {100 * d_r.clean.rate:.0f}%)")
    if d is not None:
        text += f", D / std {d.robust.percent()} (clean {100 * d.clean.rate:.0f}%)"
    return Measured(d_r.robust.rate, text)


HEADLINES = (
    Headline("d-rand-accuracy", "clean test accuracy of a model trained only on D_rand",
             "Ilyas et al. 2019, Table 1", "CIFAR-10: 63.3%", _accuracy("D_rand")),
    Headline("d-det-accuracy", "clean test accuracy of a model trained only on D_det",
             "Ilyas et al. 2019, Table 1", "CIFAR-10: 43.7%", _accuracy("D_det")),
    Headline("d-r-robust-accuracy", "robust test accuracy of standard training on D_R",
             "Ilyas et al. 2019, Fig. 2 (the authors' constructed-datasets release)",
             "CIFAR-10, L2 eps 0.25: D_R 48% (clean 84%); D_NR 0% (clean 88%)",
             robust_accuracy_d_r),
)
