"""Tables, curves and the terminal summary of the subspace-dimension study."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table, status_of

from .config import SubspaceDimensionConfig
from .result import SubspaceResult


def summarize(
    config: SubspaceDimensionConfig,
    cells: list[Cell],
    results: Mapping[Cell, SubspaceResult | NotApplicable],
) -> Summary:
    targets = config.target_labels()
    curves: dict[str, list[Any]] = {"source": [], "norm": [], "eps": [], "k": [],
                                    "adversarial_mean": [], "adversarial_median": []}
    for t in targets:
        curves[f"transferred_mean.{t}"] = []
        curves[f"transfer_probability.{t}"] = []
    dimension: dict[str, list[Any]] = {"source": [], "norm": [], "eps": [], "status": [],
                                       "points": [], "dimension_mean": [], "dimension_median": [],
                                       "reason": []}
    by_source: dict[str, list[tuple[Cell, SubspaceResult]]] = {}
    for cell in cells:
        result = results.get(cell)
        done = result if isinstance(result, SubspaceResult) else None
        status = status_of(result)
        dimension["source"].append(cell["source"])
        dimension["norm"].append(cell["norm"])
        dimension["eps"].append(cell["eps"])
        dimension["status"].append(status)
        metrics = done.metrics() if done is not None else {}
        dimension["points"].append(int(metrics.get("points", 0)))
        dimension["dimension_mean"].append(metrics.get("dimension_mean", float("nan")))
        dimension["dimension_median"].append(metrics.get("dimension_median", float("nan")))
        dimension["reason"].append(result.reason if isinstance(result, NotApplicable)
                                   else "" if result is not None else "cell did not finish")
        if done is None:
            continue
        by_source.setdefault(cell["source"], []).append((cell, done))
        for i, k in enumerate(done.k):
            curves["source"].append(cell["source"])
            curves["norm"].append(cell["norm"])
            curves["eps"].append(cell["eps"])
            curves["k"].append(k)
            curves["adversarial_mean"].append(done.adversarial_mean[i])
            curves["adversarial_median"].append(done.adversarial_median[i])
            for t in targets:
                curves[f"transferred_mean.{t}"].append(done.transferred_mean[t][i])
                curves[f"transfer_probability.{t}"].append(done.transfer_probability[t][i])

    summary = Summary()
    summary.tables["subspace_curves"] = Table(curves, "directions per point vs k")
    summary.tables["dimension"] = Table(dimension, "largest k with an adversarial direction")
    for source, pairs in by_source.items():
        summary.figures[f"directions_{source}"] = directions_figure(source, pairs, targets)
    terminal: dict[str, list[Any]] = {"source": [], "norm": [], "eps": [], "dimension (median)": [],
                                      "k": [], "adversarial": []}
    terminal.update({f"→ {t}": [] for t in targets})
    for source, pairs in by_source.items():
        for cell, result in pairs:
            terminal["source"].append(source)
            terminal["norm"].append(cell["norm"])
            terminal["eps"].append(f"{cell['eps']:g}")
            terminal["dimension (median)"].append(f"{result.metrics()['dimension_median']:g}")
            terminal["k"].append(str(result.k[-1]))
            terminal["adversarial"].append(f"{result.adversarial_mean[-1]:.1f}")
            for t in targets:
                terminal[f"→ {t}"].append(f"{result.transferred_mean[t][-1]:.1f}")
    summary.terminal.append(Table(terminal, "mean adversarial directions at the largest k, and "
                                            "how many of them transfer to each target"))
    return summary


def directions_figure(
    source: str, pairs: list[tuple[Cell, SubspaceResult]], targets: list[str]
) -> Any:
    """Left: adversarial directions vs k for every budget; right: transferred directions per
    target at the largest budget (Tramèr et al. 2017, Fig. 2)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    for cell, result in pairs:
        left.plot(result.k, result.adversarial_mean, marker="o",
                  label=f"{cell['norm']} eps={cell['eps']:g}")
    widest = max(pairs, key=lambda pair: (pair[0]["norm"] == "l2", pair[0]["eps"]))
    cell, result = widest
    right.plot(result.k, result.adversarial_mean, "k--", label="source")
    for t in targets:
        right.plot(result.k, result.transferred_mean[t], marker=".", label=t)
    for axes, title in ((left, f"{source}: adversarial directions"),
                        (right, f"{source}: transferred, {cell['norm']} eps={cell['eps']:g}")):
        axes.set_xscale("log", base=2)
        axes.set_xlabel("k (orthogonal directions tried)")
        axes.set_ylabel("directions per point (mean)")
        axes.set_title(title)
        axes.legend(fontsize=7)
    figure.tight_layout()
    return figure
