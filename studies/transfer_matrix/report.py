"""Tables, heatmaps and the terminal summary of the transfer-matrix study."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from transfer import Cell, NotApplicable, Rate, Summary, Table, status_of

from ..shared.heatmap import heatmap, heatmaps
from .config import TransferMatrixConfig
from .result import RATES, TransferMatrixResult

STATS = ("ci_low", "ci_high", "count", "n")


Matrices = dict[tuple[str, float], dict[tuple[str, str], float | None]]  # (attack, eps) -> rates
Missing = dict[tuple[str, float], dict[str, str]]  # (attack, eps) -> source -> why it has none


def matrices_of(config: TransferMatrixConfig, cells: list[Cell],
                results: Mapping[Cell, TransferMatrixResult | NotApplicable]
                ) -> tuple[Matrices, Missing]:
    """Per (attack, eps) of ``cells``: the transfer rate of each (source, target), None where the
    source has no result, and the reason of each source without one."""
    matrices: Matrices = {}
    missing: Missing = {}
    for cell in cells:
        key, source, result = (cell["attack"], cell["eps"]), cell["source"], results.get(cell)
        matrix = matrices.setdefault(key, {})
        for target in config.target_labels():
            matrix[(source, target)] = (result.targets[target].transfer_rate.rate
                                        if isinstance(result, TransferMatrixResult) else None)
        if not isinstance(result, TransferMatrixResult):
            missing.setdefault(key, {})[source] = (
                result.reason if isinstance(result, NotApplicable) else "the cell did not finish")
    return matrices, missing


def attack_figure(config: TransferMatrixConfig, attack: str, matrices: Matrices,
                  missing: Missing) -> Any:
    """The heatmaps of ``attack``, its eps side by side."""
    return heatmaps({f"eps = {eps:g}": (matrix, missing.get((a, eps), {}))
                     for (a, eps), matrix in matrices.items() if a == attack},
                    config.source_labels(), config.target_labels(), f"transfer rate: {attack}")


def summarize(
    config: TransferMatrixConfig,
    cells: list[Cell],
    results: Mapping[Cell, TransferMatrixResult | NotApplicable],
    figure: Callable[[str], Any],
) -> Summary:
    """The tables, figures (``figure(name)`` draws ``heatmap_<attack>``), metrics and terminal
    tables over every cell."""
    targets = config.target_labels()
    noise = next((a.label for a in config.attacks if a.name == "noise"), None)
    long: dict[str, list[Any]] = {name: [] for name in (
        "attack", "eps", "source", "target", "status",
        *(f"{r}{s}" for r in RATES for s in ("", *(f"_{t}" for t in STATS))),
        "transfer_minus_noise", "matched_noise_rate", "transfer_minus_matched_noise", "reason",
    )}
    clean: dict[tuple[str, str], float] = {}
    by_key = {(c["source"], c["attack"], c["eps"]): results.get(c) for c in cells}

    for cell in cells:
        source, attack, eps = cell["source"], cell["attack"], cell["eps"]
        result = results.get(cell)
        done = result if isinstance(result, TransferMatrixResult) else None
        if done is not None:
            clean[("source", source)] = done.source_clean_error
        control = by_key.get((source, noise, eps)) if noise else None
        for target in targets:
            entry = done.targets[target] if done is not None else None
            noise_rate = (control.targets[target].transfer_rate.rate
                          if isinstance(control, TransferMatrixResult) else math.nan)
            long["attack"].append(attack)
            long["eps"].append(eps)
            long["source"].append(source)
            long["target"].append(target)
            long["status"].append(status_of(result))
            for r in RATES:
                measured: Rate | None = getattr(entry, r) if entry is not None else None
                long[r].append(measured.rate if measured is not None else math.nan)
                for stat in STATS:
                    long[f"{r}_{stat}"].append(
                        getattr(measured, stat) if measured is not None else math.nan)
            value = entry.transfer_rate.rate if entry is not None else math.nan
            long["transfer_minus_noise"].append(value - noise_rate)
            matched = entry.matched_noise if entry is not None else None
            matched_rate = matched.rate if matched is not None else math.nan
            long["matched_noise_rate"].append(matched_rate)
            long["transfer_minus_matched_noise"].append(value - matched_rate)
            long["reason"].append(
                result.reason if isinstance(result, NotApplicable)
                else "" if result is not None else "cell did not finish")
            if entry is not None:
                clean[("target", target)] = entry.clean_error

    summary = Summary()
    summary.tables["transfer_matrix"] = Table(long, "every (attack, eps, source, target)")
    summary.tables["clean_error"] = Table(
        {"role": [k[0] for k in clean], "model": [k[1] for k in clean],
         "clean_error": list(clean.values())},
        "clean error on the evaluated points",
    )
    sources = config.source_labels()
    matrices, missing = matrices_of(config, cells, results)
    for attack in dict.fromkeys(attack for attack, _ in matrices):  # eps side by side
        summary.figures[f"heatmap_{attack}"] = figure(f"heatmap_{attack}")
    for (attack, eps), matrix in matrices.items():
        if config.figures == "all":
            summary.figures[f"heatmap_{attack}_eps{eps:g}"] = heatmap(
                matrix, sources, targets, f"transfer rate: {attack}, eps = {eps:g}",
                missing.get((attack, eps), {}),
            )
        values = [v for (s, t), v in matrix.items() if v is not None and v == v]
        if values:
            summary.metrics[f"mean_transfer_rate.{attack}.eps{eps:g}"] = sum(values) / len(values)

    for cell in cells:  # a universal attack's perturbation, as an image
        result = results.get(cell)
        if isinstance(result, TransferMatrixResult) and result.perturbation is not None:
            name = f"universal_{cell['attack']}_{cell['source']}_eps{cell['eps']:g}"
            summary.figures[name] = perturbation_figure(
                result.perturbation, result.perturbation_shape,
                f"{cell['attack']} on {cell['source']}, eps = {cell['eps']:g}: fools "
                f"{result.whitebox_success.rate:.0%} of its correct points")

    summary.terminal, summary.notes = terminal(config, cells, results, clean)
    return summary


def perturbation_figure(values: list[float], shape: list[int], title: str) -> Any:
    """One perturbation as an image: one channel in a diverging map centred on 0, three
    channels rescaled to [0, 1] as colours."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    image = np.asarray(values, dtype=float).reshape(shape)
    figure = Figure(figsize=(4.2, 3.8), layout="constrained")
    axes = figure.add_subplot()
    if image.ndim == 3 and image.shape[0] == 3:
        low, high = image.min(), image.max()
        axes.imshow(((image - low) / max(high - low, 1e-12)).transpose(1, 2, 0))
    else:
        flat = image.reshape(image.shape[-2:]) if image.ndim == 3 else image
        limit = max(abs(float(flat.min())), abs(float(flat.max())), 1e-12)
        shown = axes.imshow(flat, cmap="RdBu_r", vmin=-limit, vmax=limit)
        figure.colorbar(shown, ax=axes, label="perturbation")
    axes.set_axis_off()
    axes.set_title(title, fontsize=8)
    return figure


def terminal(
    config: TransferMatrixConfig,
    cells: list[Cell],
    results: Mapping[Cell, TransferMatrixResult | NotApplicable],
    clean: dict[tuple[str, str], float],
) -> tuple[list[Table], list[str]]:
    """A legend of numbered models with their clean error, one compact source x target block per
    (attack, eps), and the n/a pairs grouped by reason, one line each."""
    sources, targets = config.source_labels(), config.target_labels()
    noise = next((a.label for a in config.attacks if a.name == "noise"), None)
    number = {label: str(i + 1) for i, label in enumerate(targets)}
    names = list(dict.fromkeys([*targets, *sources]))
    tables = [Table({
        "#": [number.get(m, "") for m in names], "model": names,
        "clean error as source (%)": [_percent(clean.get(("source", m), math.nan)) for m in names],
        "as target (%)": [_percent(clean.get(("target", m), math.nan)) for m in names],
    }, "models (targets are numbered in the blocks below)", keys=2)]
    by_key = {(c["source"], c["attack"], c["eps"]): results.get(c) for c in cells}
    not_applicable: dict[str, dict[str, list[str]]] = {}  # source -> attacks, reasons
    marked = False
    for attack, eps in dict.fromkeys((c["attack"], c["eps"]) for c in cells):
        block: dict[str, list[str]] = {"source": [], "white-box": []}
        block.update({number[t]: [] for t in targets})
        for source in sources:
            found = by_key.get((source, attack, eps))
            if isinstance(found, NotApplicable):
                left_out = not_applicable.setdefault(source, {"attacks": [], "reasons": []})
                if attack not in left_out["attacks"]:
                    left_out["attacks"].append(attack)
                    left_out["reasons"].append(found.reason)
                continue
            control = by_key.get((source, noise, eps)) if noise and attack != noise else None
            block["source"].append(source)
            block["white-box"].append(
                _percent(found.whitebox_success.rate) if found is not None else "–")
            for target in targets:
                entry = found.targets.get(target) if found is not None else None
                text = "–" if entry is None else _percent(entry.transfer_rate.rate)
                baseline = (entry.matched_noise if entry is not None else None) or (
                    control.targets[target].transfer_rate
                    if isinstance(control, TransferMatrixResult) else None)
                if entry is not None and baseline is not None:
                    if entry.transfer_rate.ci_low > baseline.ci_high:
                        text, marked = text + "*", True
                block[number[target]].append(text)
        if block["source"]:
            tables.append(Table(block, f"{attack}, eps = {eps:g}: transfer rate (%) from source "
                                       f"(row) to target # (column)"))
    notes = ["* above the noise control (95% Wilson intervals disjoint): noise at the same eps; "
             "for a minimal attack (tree, forest, ...), noise of each point's own L2 size"
             ] if marked else []
    groups: dict[tuple[str, ...], list[str]] = {}  # the same attacks left out: one line
    for source, left_out in not_applicable.items():
        groups.setdefault(tuple(left_out["attacks"]), []).append(source)
    for attacks, group in groups.items():
        example = not_applicable[group[0]]["reasons"][0]
        notes.append(f"n/a {', '.join(group)} × {', '.join(attacks)}: e.g. {example}")
    return tables, notes


def _percent(value: float) -> str:
    return "–" if value != value else f"{100 * value:.1f}"
