"""Liu et al.'s (2017) headline number, measured their way: the targeted matching rate on the
held-out model (the share of targeted adversarial examples it labels as the target class, top-1),
for the ensemble of the other models and for single sources."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Headline, Measured, Rate

from .claims import leave_one_out


def matching_rate(config: Any, results: Mapping[Cell, Any]) -> Measured:
    cells = [r for _, r in leave_one_out(results, targeted=True)]
    if not cells:
        return Measured(math.nan, "needs a targeted attack (target = random or least-likely)")
    ensemble = Rate.pooled([c.ensemble_matching for c in cells if c.ensemble_matching])
    singles = Rate.pooled([r for c in cells for r in c.singles_matching.values()])
    return Measured(ensemble.rate, f"held-out target's matching rate: ensemble "
                                   f"{ensemble.percent()}, single sources {singles.percent()} "
                                   f"({len(cells)} held-out targets × budgets)")


HEADLINES = (
    Headline("targeted-matching",
             "targeted matching rate on the held-out model, ensemble of the other models "
             "(single sources in the text)",
             "Liu et al. 2017, Tables 2–3",
             "ImageNet, 5 models, optimisation attack: ensemble of four 11–46% vs single "
             "models 0–4% (top-1)", matching_rate),
)
