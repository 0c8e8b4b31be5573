"""The heatmap of rates that the transfer studies draw: rows (sources, or attacks) by columns
(targets), every value written in its cell, the cells that could not run grey with their reasons
listed under the figure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Panel = tuple[Mapping[tuple[str, str], float | None], Mapping[str, str]]  # values, n/a reasons


def heatmap(
    matrix: Mapping[tuple[str, str], float | None], sources: list[str], targets: list[str],
    title: str, missing: Mapping[str, str] | None = None, *,
    rows: str = "source model (crafts them)",
    columns: str = "target model (classifies the adversarial examples)",
    scale: str = "transfer rate (%) of points both classify correctly",
) -> Any:
    """A rows x columns heatmap of rates (%), written in every cell (by default sources x
    targets of transfer rates). A row that could not run is grey, marked ``n/a k`` once, and
    reason k is listed under the figure. Figure and font sizes follow the number of rows and
    columns, so 20+ models stay readable."""
    return heatmaps({title: (matrix, missing or {})}, sources, targets, rows=rows,
                    columns=columns, scale=scale)


def heatmaps(
    panels: Mapping[str, Panel], sources: list[str], targets: list[str], title: str = "", *,
    rows: str = "source model (crafts them)",
    columns: str = "target model (classifies the adversarial examples)",
    scale: str = "transfer rate (%) of points both classify correctly",
) -> Any:
    """Small multiples: one heatmap (as :func:`heatmap` draws it) per panel title, up to three
    side by side, sharing the rows, the columns, the colour scale and the numbered n/a reasons."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    reasons = list(dict.fromkeys(why for _, missing in panels.values()
                                 for why in missing.values()))
    size = max(len(sources), len(targets))
    font = max(5.0, min(9.0, 110 / size))
    legend = [textwrap.fill(f"n/a {k + 1}: {why}", 110) for k, why in enumerate(reasons)]
    lines = sum(text.count("\n") + 1 for text in legend)
    wide = min(3, len(panels))
    high = -(-len(panels) // wide)
    width = (0.62 if wide == 1 else 0.45) * len(targets) + (3.2 if wide == 1 else 0.8)
    figure = Figure(figsize=(wide * width + (0 if wide == 1 else 2.6),
                             high * (0.45 * len(sources) + 2.0) + 0.4 + 0.16 * lines),
                    layout="constrained")
    grid = figure.subplots(high, wide, squeeze=False)
    image: Any = None
    for index, (name, (matrix, missing)) in enumerate(panels.items()):
        axes = grid[index // wide][index % wide]
        values = np.full((len(sources), len(targets)), np.nan)
        for i, source in enumerate(sources):
            for j, target in enumerate(targets):
                value = matrix.get((source, target))
                if value is not None:
                    values[i, j] = 100 * value
        axes.set_facecolor("#d9d9d9")
        image = axes.imshow(np.ma.masked_invalid(values), vmin=0, vmax=100, cmap="viridis",
                            aspect="auto")
        for i, source in enumerate(sources):
            why = missing.get(source)
            if why in reasons and np.isnan(values[i]).all():  # a row that could not run: once
                axes.text((len(targets) - 1) / 2, i, f"n/a {reasons.index(why) + 1}",
                          ha="center", va="center", fontsize=font, in_layout=False)
                continue
            for j in range(len(targets)):
                value = values[i, j]
                text = "–" if np.isnan(value) else f"{value:.0f}"
                colour = "black" if np.isnan(value) or value > 60 else "white"
                axes.text(j, i, text, ha="center", va="center", color=colour, fontsize=font,
                          in_layout=False)  # inside the axes: the layout need not measure it
        axes.set_xticks(range(len(targets)), targets, rotation=45, ha="right", fontsize=font)
        axes.set_yticks(range(len(sources)), sources if index % wide == 0 else [],
                        fontsize=font)
        axes.set_title(name, fontsize=None if wide == 1 else 10)
        if index // wide == high - 1 or index + wide >= len(panels):  # nothing below it
            axes.set_xlabel(columns)
        if index % wide == 0:
            axes.set_ylabel(rows)
    for index in range(len(panels), high * wide):
        grid[index // wide][index % wide].set_axis_off()
    if title:
        figure.suptitle(title)
    figure.colorbar(image, ax=grid, label=scale)
    if legend:
        figure.supxlabel("\n".join(legend), fontsize=7, ha="left", x=0.01)
    return figure
