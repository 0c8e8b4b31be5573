"""The lipschitz study's summary: the overview (certified bound, empirical bound, tightness,
radius checks), the per-layer bounds (Szegedy et al. 2013, Table 5 style) and their figures."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table, status_of

from .bounds import LayerBound
from .result import LipschitzResult


def summarize(cells: list[Cell], results: Mapping[Cell, Any]) -> Summary:
    """The overview table (bounds, tightness, radius checks), per-layer tables and figures, and
    the key figure: every model's certified bound next to the largest gradient norm found."""
    summary = Summary()
    overview: dict[str, list[Any]] = {"model": [], "status": [], "L_upper": [], "L_emp": [],
                                      "tightness": [], "clever_max": [], "radius checks": [],
                                      "violations": [], "note": []}
    for cell in cells:
        result = results.get(cell)
        model = cell["model"]
        done = result if isinstance(result, LipschitzResult) else None
        status = status_of(result)
        metrics = done.metrics() if done is not None else {}
        overview["model"].append(model)
        overview["status"].append(status)
        for key in ("L_upper", "L_emp", "tightness", "clever_max"):
            overview[key].append(metrics.get(key, math.nan))
        overview["radius checks"].append(int(metrics.get("checks_radius", 0)))
        overview["violations"].append(int(metrics.get("violations", 0)))
        note = (result.reason if isinstance(result, NotApplicable) else
                "unsupported: " + ", ".join(done.unsupported)
                if done is not None and done.unsupported else "")
        overview["note"].append(note or ("" if result else "cell did not finish"))
        if done is None:
            continue
        layers = done.layers
        summary.tables[f"layers_{model}"] = Table(
            {"layer": [r.name for r in layers], "type": [r.kind for r in layers],
             "input shape": [str(tuple(r.input_shape)) for r in layers],
             "how": [r.detail for r in layers], "bound": [r.bound for r in layers]},
            f"{model}: per-layer L2 bounds")
        summary.figures[f"layers_{model}"] = layer_figure(model, layers)
        if done.scatter:
            summary.figures[f"radius_{model}"] = radius_figure(model, done.scatter)
    summary.tables["overview"] = Table(overview, "Lipschitz bounds per model")
    summary.figures["bounds"] = bounds_figure(overview)
    summary.key_figure = "bounds"
    summary.terminal.append(Table(
        {k: [f"{v:.3g}" if isinstance(v, float) else str(v) for v in values]
         for k, values in overview.items()}, "L2 Lipschitz bounds: certified vs empirical"))
    return summary



def bounds_figure(overview: dict[str, list[Any]]) -> Any:
    """Per model, the certified upper bound L_upper next to the largest local gradient norm
    found, L_emp (log scale): the gap is how loose the product-of-layers bound is."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    models = overview["model"]
    figure = Figure(figsize=(max(5, 0.9 * len(models) + 2), 4))
    axes = figure.add_subplot()
    at = range(len(models))
    for shift, key, colour in ((-0.2, "L_upper", "tab:blue"), (0.2, "L_emp", "tab:orange")):
        values = [v if 0 < v < math.inf else math.nan for v in overview[key]]
        axes.bar([i + shift for i in at], values, width=0.4, color=colour, label=key)
    axes.set_yscale("log")
    labels = [f"{m}\n×{r:.3g}" if math.isfinite(r) else m
              for m, r in zip(models, overview["tightness"], strict=True)]
    axes.set_xticks(list(at), labels)
    axes.set_ylabel("L2 Lipschitz constant (log scale)")
    axes.set_title("certified L_upper vs found L_emp (×: their ratio)")
    axes.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figure


def layer_figure(model: str, layers: list[LayerBound]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(5, 0.5 * len(layers) + 2), 4))
    axes = figure.add_subplot()
    values = [math.log10(r.bound) if 0 < r.bound < math.inf else math.nan for r in layers]
    axes.bar(range(len(layers)), [v if v == v else 0 for v in values],
             color=["tab:red" if v != v else "tab:blue" for v in values])
    axes.set_xticks(range(len(layers)), [r.name for r in layers], rotation=60, ha="right",
                    fontsize=7)
    axes.axhline(0, color="k", lw=0.5)
    axes.set_ylabel("log10 of the layer's L2 bound")
    axes.set_title(f"{model}: per-layer bounds (red: unsupported)")
    figure.tight_layout()
    return figure


def radius_figure(model: str, scatter: list[tuple[str, float, float]]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 4.5))
    axes = figure.add_subplot()
    for attack in dict.fromkeys(s[0] for s in scatter):
        points = [(s[1], s[2]) for s in scatter if s[0] == attack]
        axes.scatter([p[0] for p in points], [p[1] for p in points], s=10, label=attack)
    top = max(max(s[1], s[2]) for s in scatter)
    axes.plot([0, top], [0, top], "k--", lw=1, label="found = certified")
    axes.set_xlabel("certified radius margin/(√2·L_upper)")
    axes.set_ylabel("found perturbation ‖δ‖₂")
    axes.set_title(f"{model}: every point must lie above the line")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure
