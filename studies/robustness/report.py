"""Tables, figures and the terminal summary of the robustness study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table

from .claims import parts
from .config import RobustnessConfig
from .groups import NORMAL
from .result import RobustnessResult, Rubbish, WhiteBox

CONTRAST = "contrast"  # the training column of a contrast model (no white-box cell)


def summarize(config: RobustnessConfig,
              results: Mapping[Cell, RobustnessResult | NotApplicable]) -> Summary:
    summary = Summary()
    boxes: dict[str, WhiteBox] = parts(results, "white-box")
    rows = parts(results, "transfer")
    contrast: dict[str, Rubbish] = parts(results, "contrast")
    labels = [m.label for m in config.models]
    against = [m.label for m in config.contrast if m.label in contrast]
    shown = [m for m in labels if m in boxes]
    if boxes or against:
        listed = shown + against  # the contrast models last: their rubbish-class share only
        # both kinds of part hold the rubbish-class measures and the clean error (a contrast's
        # None in results stored before it was measured)
        measured: dict[str, WhiteBox | Rubbish] = {**boxes, **contrast}
        clean = [measured[m].clean_error for m in listed]

        def column(read: Any, missing: Any = math.nan) -> list[Any]:
            return [read(boxes[m]) if m in boxes else missing for m in listed]

        def confident(m: str) -> float:  # a contrast's share of confident clean test points
            share = contrast[m].clean_confident if m in contrast else None
            return math.nan if share is None else share.rate

        table: dict[str, list[Any]] = {
            "model": listed, "training": column(lambda b: b.group, CONTRAST),
            "clean_error": [math.nan if r is None else r.rate for r in clean],
            "rho_adv": column(lambda b: b.rho_adv),
            "rho_adv_fgsm": column(lambda b: b.rho_adv_fgsm),
            "fgsm_to_deepfool": column(lambda b: b.fgsm_to_deepfool),
            "fgsm_eps90": column(lambda b: b.fgsm_reach.eps),
            "rho_adv_fgsm90": column(lambda b: b.fgsm_reach.rho_fgsm),
            "fgsm90_over_deepfool": column(lambda b: b.fgsm_reach.ratio),
            "fgsm90_over_deepfool_ci_low": column(lambda b: b.fgsm_reach.ratio_ci_low),
            "fgsm90_over_deepfool_ci_high": column(lambda b: b.fgsm_reach.ratio_ci_high),
            "rubbish_share": [measured[m].rubbish.rate for m in listed],
            "rubbish_confidence": [measured[m].rubbish_confidence for m in listed],
            "clean_confident_share": [confident(m) for m in listed]}
        summary.tables["robustness"] = Table(table, "robustness of each model (a contrast "
                                                    "model: its rubbish-class share, and its "
                                                    "clean error and confident share only)")
        summary.terminal.append(Table(
            {"model": listed, "training": table["training"],
             "clean error": ["–" if r is None else r.percent() for r in clean],
             "ρ_adv DeepFool": column(lambda b: f"{b.rho_adv:.3f}", "–"),
             "ρ_adv FGSM": column(lambda b: f"{b.rho_adv_fgsm:.3f}", "–"),
             "ρ_adv FGSM 90%": column(lambda b: f"{b.fgsm_reach.rho_fgsm:.3f}", "–"),
             f"noise conf. > {config.confidence:g}": [f"{100 * measured[m].rubbish.rate:.0f}%"
                                                      for m in listed],
             f"clean conf. > {config.confidence:g}": [
                 "–" if math.isnan(confident(m)) else f"{100 * confident(m):.0f}%"
                 for m in listed]},
            "robustness: clean error, DeepFool and FGSM ρ_adv (per point; at the eps that "
            "misclassifies 90%), rubbish-class share (a contrast model: that, and its share "
            "of confident clean test points)", keys=1))
    if boxes:
        errors: dict[str, list[Any]] = {"model": [], "attack": [], "eps": [], "error": [],
                                        "ci_low": [], "ci_high": []}
        for model in shown:
            for attack, rates in boxes[model].errors.items():
                for eps, rate in zip(config.eps, rates, strict=True):
                    for key, value in (("model", model), ("attack", attack), ("eps", eps),
                                       ("error", rate.rate), ("ci_low", rate.ci_low),
                                       ("ci_high", rate.ci_high)):
                        errors[key].append(value)
        summary.tables["white_box_errors"] = Table(errors, "white-box error rate against eps")
        summary.figures["error_curves"] = error_figure(config, {m: boxes[m] for m in shown})
        summary.figures["rho_adv"] = rho_figure({m: boxes[m] for m in shown})
        summary.key_figure = "error_curves"
        summary.terminal.append(Table(
            {"model": shown, **{f"{a.label} eps {e:g}": [
                f"{100 * boxes[m].errors[a.label][i].rate:.0f}%" for m in shown]
                for a in config.attacks for i, e in enumerate(config.eps)}},
            "white-box error rate (all points)", keys=1))
    if rows:
        sources = [m for m in labels if m in rows]
        matrix = {"source": sources, **{t: [rows[s][t].rate for s in sources] for t in labels}}
        summary.tables["transfer"] = Table(matrix, "error of each target on each source's "
                                                   "examples")
        groups = {m.label: (boxes[m.label].group if m.label in boxes else "?")
                  for m in config.models}
        summary.figures["transfer"] = transfer_figure(
            config, {(s, t): rows[s][t].rate for s in sources for t in labels}, sources, labels,
            groups)
        summary.terminal.append(Table(
            {"source": sources, **{t: [f"{100 * rows[s][t].rate:.0f}%" for s in sources]
                                   for t in labels}},
            f"transfer: error of each target (columns) on {config.transfer_attack.label} "
            f"examples at eps {config.transfer_eps:g} crafted on each source (rows)", keys=1))
    return summary


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def error_figure(config: RobustnessConfig, boxes: dict[str, WhiteBox]) -> Any:
    """White-box error against eps per attack: normal models dashed, adversarially trained solid,
    one colour per model."""
    figure = _figure(5 * len(config.attacks), 4.2)
    axes_list = figure.subplots(1, len(config.attacks), squeeze=False)[0]
    for axes, attack in zip(axes_list, config.attacks, strict=True):
        for k, (model, box) in enumerate(boxes.items()):
            axes.plot([0.0, *config.eps],
                      [box.clean_error.rate, *(r.rate for r in box.errors[attack.label])],
                      ls="--" if box.group == NORMAL else "-", marker="o", ms=3,
                      color=f"C{k % 10}", label=f"{model} ({box.group})")
        axes.set_ylim(0, 1)
        axes.set_xlabel("eps")
        axes.set_ylabel("error rate (all points)")
        axes.set_title(f"{attack.label}: normal dashed, adversarially trained solid", fontsize=9)
        axes.grid(alpha=0.3)
    axes_list[-1].legend(fontsize=7)
    return figure


def rho_figure(boxes: dict[str, WhiteBox]) -> Any:
    """ρ_adv per model: DeepFool's minimal perturbation and FGSM's smallest fooling step."""
    import numpy as np

    figure = _figure(max(5.0, 0.9 * len(boxes) + 2), 4.2)
    axes = figure.add_subplot()
    at = np.arange(len(boxes))
    axes.bar(at - 0.2, [b.rho_adv for b in boxes.values()], 0.4, label="DeepFool")
    axes.bar(at + 0.2, [b.rho_adv_fgsm for b in boxes.values()], 0.4, label="FGSM (smallest)")
    axes.set_xticks(at, [f"{m}\n({b.group})" for m, b in boxes.items()], fontsize=8)
    axes.set_ylabel("ρ_adv = mean ‖r‖₂ / ‖x‖₂")
    axes.set_title("robustness to minimal perturbations (higher: more robust)")
    axes.legend(fontsize=8)
    return figure


def transfer_figure(config: RobustnessConfig, matrix: dict[tuple[str, str], float],
                    sources: list[str], targets: list[str], groups: dict[str, str]) -> Any:
    """The source x target error matrix, with lines between the normal and the adversarially
    trained blocks (models are ordered normal first)."""
    import numpy as np

    order = sorted(targets, key=lambda m: groups[m] != NORMAL)
    rows = sorted(sources, key=lambda m: groups[m] != NORMAL)
    values = np.array([[100 * matrix[(s, t)] for t in order] for s in rows])
    figure = _figure(0.7 * len(order) + 3.5, 0.5 * len(rows) + 2.5)
    axes = figure.add_subplot()
    image = axes.imshow(values, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    for i in range(len(rows)):
        for j in range(len(order)):
            axes.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=8,
                      color="black" if values[i, j] > 60 else "white")
    normal_rows = sum(groups[m] == NORMAL for m in rows)
    normal_cols = sum(groups[m] == NORMAL for m in order)
    axes.axhline(normal_rows - 0.5, color="red", lw=1.5)
    axes.axvline(normal_cols - 0.5, color="red", lw=1.5)
    axes.set_xticks(range(len(order)), [f"{m} ({groups[m]})" for m in order], rotation=45,
                    ha="right", fontsize=8)
    axes.set_yticks(range(len(rows)), [f"{m} ({groups[m]})" for m in rows], fontsize=8)
    axes.set_xlabel("target model (classifies the examples)")
    axes.set_ylabel("source model (crafts them)")
    axes.set_title(f"{config.transfer_attack.label} at eps {config.transfer_eps:g}: error (%), "
                   "normal | adversarially trained", fontsize=9)
    figure.colorbar(image, ax=axes, label="error rate (%) of the target, all points")
    return figure
