"""What a study's summary logs to its parent run and prints on the terminal."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class Table:
    """A summary table: named columns of equal length. On the terminal, a table too wide for it
    is split into several, each repeating the first ``keys`` columns (which identify a row)."""

    columns: dict[str, list[Any]]
    title: str = ""
    keys: int = 1

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(list(self.columns))
        writer.writerows(zip(*self.columns.values(), strict=True))
        return buffer.getvalue()


@dataclass
class Summary:
    """Tables and figures for the parent run, headline metrics, and tables for the terminal."""

    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    terminal: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # lines printed after the terminal tables
    key_figure: str | None = None  # the figure a reader should see first (a key of ``figures``)
