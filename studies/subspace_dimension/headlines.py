"""Tramèr et al.'s (2017) headline number, measured their way: the number of orthogonal
adversarial directions found around a point."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, Headline, Measured

from .claims import largest_l2


def directions_found(config: Any, results: Mapping[Cell, Any]) -> Measured:
    """Per point, the most of the k gradient-aligned directions that fool the source over every
    k tried; the mean over points, at each source's largest L2 budget."""
    found = {s: (eps, sum(r.found) / len(r.found))
             for s, (eps, r) in largest_l2(results).items() if r.found}
    if not found:
        return Measured(math.nan, "needs an L2 budget (l2_eps) and a source with gradients")
    text = ", ".join(f"{s} {v:.1f} (L2 eps {eps:g})" for s, (eps, v) in found.items())
    clipped = "clipped to the data bounds" if config.clip else "not clipped"
    return Measured(max(v for _, v in found.values()),
                    f"mean directions found ({clipped}): {text}")


HEADLINES = (
    Headline("directions-found",
             "orthogonal adversarial directions found per point (GAAS): the most of the k "
             "directions that fool the source, over every k; mean over points",
             "Tramèr et al. 2017, §3 and Fig. 2",
             "MNIST: \"adversarial examples span a contiguous subspace of large dimensionality\" "
             "(abstract; Fig. 2 shows the count per point)", directions_found),
)
