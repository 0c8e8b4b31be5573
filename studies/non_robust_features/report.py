"""Tables, figures and the terminal summary of the non-robust-features study: Ilyas et al.'s
Figure 2 as bars of clean and robust accuracy per training set, and a grid of example images of
the constructed sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Rate, Summary, Table

from .claims import by_set
from .config import NonRobustFeaturesConfig
from .result import Construction, Examples, NonRobustResult, threat_model

TRAINING = {"D": "std", "D-adv": "adv"}  # every other set: standard training of a fresh model


def _training(name: str) -> str:
    return TRAINING.get(name, "std")


def _construction_text(built: Construction | None) -> str:
    if built is None:
        return ""
    if built.attack_success is not None and built.robust_sees_label is not None:
        return (f"reached t {100 * built.attack_success.rate:.0f}%, robust model reads y "
                f"{100 * built.robust_sees_label.rate:.0f}%, ‖δ‖₂ {built.perturbation_l2:.2f}, "
                f"kept {built.points}")
    return (f"‖g(x_r)−g(x)‖/‖g(x)‖ {built.match_before:.3f} → {built.match_after:.4f}, "
            f"‖x_r−x‖/‖x‖ {built.distance_to_x:.2f}")


def summarize(config: NonRobustFeaturesConfig,
              results: Mapping[Cell, NonRobustResult | NotApplicable]) -> Summary:
    summary = Summary()
    done: dict[str, NonRobustResult] = by_set(results)
    shown: list[str] = [s for s in config.sets if s in done]
    missing = [s for s in config.sets if s not in done]
    if missing:
        summary.notes.append(f"not finished (failed or missing): {', '.join(missing)}")
    if not shown:
        return summary
    rows = [done[s] for s in shown]
    built = [r.construction for r in rows]
    summary.tables["accuracy"] = Table({
        "set": shown, "training": [_training(s) for s in shown],
        "clean_accuracy": [r.clean.rate for r in rows],
        "clean_ci_low": [r.clean.ci_low for r in rows],
        "clean_ci_high": [r.clean.ci_high for r in rows],
        "robust_accuracy": [r.robust.rate for r in rows],
        "robust_ci_low": [r.robust.ci_low for r in rows],
        "robust_ci_high": [r.robust.ci_high for r in rows],
        "train_accuracy": [r.train_accuracy.rate for r in rows],
        "shifted_accuracy": [r.shifted.rate if r.shifted else None for r in rows],
        "attack_success": [b.attack_success.rate if b and b.attack_success else None
                           for b in built],
        "robust_sees_label": [b.robust_sees_label.rate if b and b.robust_sees_label else None
                              for b in built],
        "match_before": [b.match_before if b else None for b in built],
        "match_after": [b.match_after if b else None for b in built],
        "distance_to_x": [b.distance_to_x if b else None for b in built],
        "construction_gradients": [b.gradients if b else 0 for b in built],
        "construction_gradients_min": [b.gradients_min if b else 0 for b in built],
        "evaluation_gradients": [r.eval_gradients for r in rows],
        "evaluation_gradients_min": [r.eval_gradients_min for r in rows],
        "sha256": [b.sha256 if b else "" for b in built],
    }, "clean and robust test accuracy per training set, and how each set was built")
    robust_name = threat_model(config, rows)
    summary.terminal.append(Table({
        "set": shown, "training": [_training(s) for s in shown],
        "clean accuracy": [r.clean.percent() for r in rows],
        f"robust ({robust_name})": [r.robust.percent() for r in rows],
        "fit": [f"{100 * r.train_accuracy.rate:.0f}%" for r in rows],
        "construction": [_construction_text(b) for b in built],
    }, f"test accuracy of a model trained on each set (chance {100 / rows[0].n_classes:.0f}%; "
       "fit: on its own training labels)", keys=1))
    summary.terminal.append(Table({
        "set": shown,
        "construction: spent / minimum": [f"{b.gradients:,} / {b.gradients_min:,}" if b else "-"
                                          for b in built],
        "robust test: spent / minimum": [f"{r.eval_gradients:,} / {r.eval_gradients_min:,}"
                                         for r in rows],
    }, "gradient evaluations (points × steps is the minimum)", keys=1))
    if "D_det" in done and done["D_det"].shifted is not None:
        summary.notes.append(
            f"D_det: the fresh model predicts y + 1 (what the robust features of its training "
            f"set teach) on {done['D_det'].shifted.percent()} of the clean test points")
    summary.notes.append(f"fresh models (every set but D and D-adv) train with seed "
                         f"{config.seed + 1}; keep = {config.keep!r}: "
                         + ("every attacked point is kept, reached or not (as the paper)"
                            if config.keep == "all" else "only points where the attack reached t"))
    summary.figures["figure_2"] = bars_figure(config, shown, rows)
    summary.key_figure = "figure_2"
    with_examples = {s: done[s] for s in shown if done[s].examples is not None}
    if with_examples:
        summary.figures["examples"] = examples_figure(with_examples)
    return summary


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _errors(rates: list[Rate]) -> list[list[float]]:
    return [[max(r.rate - r.ci_low, 0.0) for r in rates],
            [max(r.ci_high - r.rate, 0.0) for r in rates]]


def bars_figure(config: NonRobustFeaturesConfig, shown: list[str],
                rows: list[NonRobustResult]) -> Any:
    """Ilyas et al.'s Figure 2: clean and robust test accuracy (95% intervals) per training
    set and training method; chance dotted."""
    import numpy as np

    figure = _figure(max(6.0, 1.25 * len(shown) + 2), 4.4)
    axes = figure.add_subplot()
    at = np.arange(len(shown))
    clean, robust = [r.clean for r in rows], [r.robust for r in rows]
    axes.bar(at - 0.2, [100 * r.rate for r in clean], 0.4, label="clean (std) accuracy",
             yerr=100 * np.array(_errors(clean)), capsize=3, color="C0")
    axes.bar(at + 0.2, [100 * r.rate for r in robust], 0.4,
             label=f"robust accuracy ({threat_model(config, rows)})",
             yerr=100 * np.array(_errors(robust)), capsize=3, color="C3")
    axes.axhline(100 / rows[0].n_classes, color="gray", ls=":", lw=1, label="chance")
    axes.set_xticks(at, [f"{s} / {_training(s)}" for s in shown], fontsize=8)
    axes.set_ylim(0, 100)
    axes.set_ylabel("test accuracy (%), 95% interval")
    axes.set_title("trained on: D, D adversarially, the robust D_R, the non-robust D_NR, and "
                   "relabelled adversarial examples", fontsize=9)
    axes.legend(fontsize=8, loc="upper right")
    return figure


def examples_figure(done: dict[str, NonRobustResult]) -> Any:
    """Rows of example training points: the clean x (label y) and the starts of the matching
    once, then x_r of D_R and D_NR and x + δ of D_rand and D_det (titled y → t, its label)."""
    blocks: list[tuple[str, str, Examples]] = []
    drawn: list[tuple[str, list[list[float]]]] = []
    for name, result in done.items():
        if result.examples is None:
            continue
        for row, values in result.examples.rows.items():
            if (row, values) in drawn:  # the clean points, the starts: the same for every set
                continue
            drawn.append((row, values))
            blocks.append((row if row in ("x", "start") else f"{name}\n{row}", row,
                           result.examples))
    columns = max(len(examples.labels) for _, _, examples in blocks)
    figure = _figure(1.1 * columns + 1.2, 1.15 * len(blocks) + 0.4)
    grid = figure.subplots(len(blocks), columns, squeeze=False)
    for i, (title, row, examples) in enumerate(blocks):
        images = examples.images(row)
        for j in range(columns):
            axes = grid[i][j]
            axes.set_xticks([])
            axes.set_yticks([])
            if j >= len(images):
                axes.axis("off")
                continue
            image = images[j].permute(1, 2, 0) if images.shape[1] == 3 else images[j][0]
            axes.imshow(image.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
            label = examples.labels[j]
            relabelled = examples.targets is not None and row != "x"
            axes.set_title(f"{label} → {examples.targets[j]}" if relabelled and examples.targets
                           else f"y = {label}", fontsize=7)
        grid[i][0].set_ylabel(title, fontsize=7)
    figure.suptitle("example training points with the label they are trained on "
                    "(y → t: attacked towards t, labelled t)", fontsize=9)
    return figure
