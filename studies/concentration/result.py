"""The concentration study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

from transfer import CellResult

from .real import RealPart
from .synthetic import SyntheticPart


class ConcentrationResult(CellResult):
    """A ``synthetic`` cell (``synthetic``) or a ``real`` cell (``real``)."""

    synthetic: SyntheticPart | None = None
    real: RealPart | None = None

    def metrics(self) -> dict[str, float]:
        part = self.synthetic or self.real
        return part.metrics() if part is not None else {}
