"""Tables, figures and the terminal summary of the spectral-alignment study."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table

from .config import KINDS, SpectralAlignmentConfig
from .result import SpectralResult

STYLE = {"deepfool": ("C3", "-"), "pgd": ("C1", "-"), "random": ("C7", "--"),
         "random-row-space": ("C0", "--")}
SHORT = {"deepfool": "DF", "pgd": "PGD", "random": "rand.", "random-row-space": "row"}


def summarize(config: SpectralAlignmentConfig,
              results: Mapping[Cell, SpectralResult | NotApplicable]) -> Summary:
    summary = Summary()
    done = {c["model"]: r for c, r in results.items() if isinstance(r, SpectralResult)}
    models = [m.label for m in config.models if m.label in done]
    if not models:
        return summary
    table: dict[str, list[Any]] = {"model": models, "d": [done[m].d for m in models],
                                   "sigma_max": [done[m].sigma[0] for m in models],
                                   "first_layer": [done[m].first_layer for m in models]}
    for kind in KINDS:
        for field in ("top_share", "gain", "first_layer_top"):
            means = [getattr(done[m].kinds[kind], field) for m in models]
            table[f"{kind}.{field}"] = [x.mean if x is not None else None for x in means]
            table[f"{kind}.{field}_n"] = [x.n if x is not None else 0 for x in means]
    table["vjps"] = [done[m].vjps for m in models]
    table["vjps_minimum"] = [done[m].vjps_minimum for m in models]
    summary.tables["alignment"] = Table(table, "alignment of each kind of direction with the "
                                               "singular subspaces, per model")
    summary.tables["jacobian_curves"] = Table(_curves(done, models, "jacobian_curve"),
                                              "mean energy share in the Jacobian's top-k subspace")
    summary.tables["first_layer_curves"] = Table(
        _curves(done, models, "first_layer_curve"),
        "mean energy share in the first layer's top-k subspace")
    summary.figures["jacobian_energy"] = energy_figure(done, models, first_layer=False)
    read = [m for m in models if done[m].first_layer_ks]
    if read:
        summary.figures["first_layer_energy"] = energy_figure(done, read, first_layer=True)
    summary.key_figure = "jacobian_energy"
    summary.terminal.append(Table(
        {"model": models,
         **{f"v₁² {SHORT[k]}": [_two(done[m].kinds[k].top_share.mean) for m in models]
            for k in KINDS},
         **{f"gain {SHORT[k]}": [_two(done[m].kinds[k].gain.mean) for m in models]
            for k in ("deepfool", "random-row-space")}},
        "Jacobian of the centred logits: ⟨u, v₁⟩² and gain ‖Ju‖/σ₁ of each kind of direction u "
        "(DF DeepFool, rand. random, row random in the Jacobian's row space)", keys=1))
    summary.terminal.append(Table(
        {"model": models, "first layer": [done[m].first_layer for m in models],
         **{f"top {SHORT[k]}": [_two(_mean(done[m].kinds[k].first_layer_top)) for m in models]
            for k in KINDS},
         "VJPs / min": [f"{done[m].vjps} / {done[m].vjps_minimum}" for m in models]},
        "first layer: share of the energy in its top-(K−1) right singular subspace; the "
        "vector-Jacobian products spent and the least the method needs", keys=1))
    return summary


def _mean(value: Any) -> float | None:
    return None if value is None else value.mean


def _two(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _curves(done: dict[str, SpectralResult], models: list[str], field: str
            ) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {"model": [], "kind": [], "k": [], "share": []}
    for m in models:
        ks = (range(1, done[m].rank + 1) if field == "jacobian_curve"
              else done[m].first_layer_ks)
        for kind in KINDS:
            for k, share in zip(ks, getattr(done[m].kinds[kind], field), strict=True):
                for key, value in (("model", m), ("kind", kind), ("k", k), ("share", share)):
                    rows[key].append(value)
    return rows


def energy_figure(done: dict[str, SpectralResult], models: list[str], first_layer: bool) -> Any:
    """Per model, the mean share of each kind's energy in the top-k singular subspace against
    k, with the expectation of a random direction of the input space (k/d) dotted."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    columns = min(3, len(models))
    rows = -(-len(models) // columns)
    figure = Figure(figsize=(4.2 * columns, 3.4 * rows), layout="constrained")
    axes_grid = figure.subplots(rows, columns, squeeze=False)
    for axes, model in zip(axes_grid.flat, models, strict=False):
        result = done[model]
        ks = list(result.first_layer_ks if first_layer else range(1, result.rank + 1))
        for kind in KINDS:
            curve = getattr(result.kinds[kind], "first_layer_curve" if first_layer
                            else "jacobian_curve")
            if curve:
                colour, style = STYLE[kind]
                axes.plot(ks, curve, style, marker="o", ms=3, color=colour, label=kind)
        if ks:
            axes.plot(ks, [k / result.d for k in ks], ":", color="black", label="k/d")
        if first_layer and ks:
            axes.set_xscale("log", base=2)
        axes.set_ylim(0, 1.02)
        axes.set_title(f"{model}" + (f" ({result.first_layer})" if first_layer else ""),
                       fontsize=9)
        axes.set_xlabel("k (top singular directions)")
        axes.set_ylabel("share of ‖u‖² in the top-k subspace")
        axes.grid(alpha=0.3)
    for axes in list(axes_grid.flat)[len(models):]:
        axes.set_visible(False)
    axes_grid.flat[0].legend(fontsize=7)
    figure.suptitle(("first layer" if first_layer else "local Jacobian of the centred logits")
                    + ": where the perturbation's energy lies", fontsize=10)
    return figure
