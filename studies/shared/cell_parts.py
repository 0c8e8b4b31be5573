"""The finished cells of one part of a study whose cells are keyed by ``part`` and ``model``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable


def parts(results: Mapping[Cell, Any], part: str) -> dict[str, Any]:
    """Model label -> the result's field named after ``part`` (``white-box`` -> ``white_box``),
    for the cells of that part that ran and set it."""
    field = part.replace("-", "_")
    return {c["model"]: getattr(r, field) for c, r in results.items()
            if c["part"] == part and not isinstance(r, NotApplicable)
            and getattr(r, field) is not None}
