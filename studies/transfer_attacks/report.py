"""Tables, heatmaps and the terminal summary of the transfer-attacks study: per source (and mode,
eps), attacks as rows and targets as columns, with the noise control and each attack's cost."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transfer import Cell, NotApplicable, Summary, Table, status_of

from ..shared.heatmap import heatmap
from .config import TransferAttacksConfig
from .result import TransferAttacksResult


def summarize(config: TransferAttacksConfig, cells: list[Cell],
              results: Mapping[Cell, TransferAttacksResult | NotApplicable]) -> Summary:
    targets = config.target_labels()
    long: dict[str, list[Any]] = {name: [] for name in (
        "source", "attack", "mode", "eps", "target", "status", "success_rate", "ci_low",
        "ci_high", "count", "n", "passes_per_point", "seconds", "reason")}
    for cell in cells:
        result = results.get(cell)
        done = result if isinstance(result, TransferAttacksResult) else None
        for target in ["white-box", *targets]:
            rate = (None if done is None else done.rate(None if target == "white-box"
                                                        else target))
            for key, value in (("source", cell["source"]), ("attack", cell["attack"]),
                               ("mode", cell["mode"]), ("eps", cell["eps"]),
                               ("target", target), ("status", status_of(result))):
                long[key].append(value)
            for stat in ("rate", "ci_low", "ci_high", "count", "n"):
                name = "success_rate" if stat == "rate" else stat
                long[name].append(math.nan if rate is None else getattr(rate, stat))
            long["passes_per_point"].append(math.nan if done is None else done.passes_per_point)
            long["seconds"].append(math.nan if done is None else done.seconds)
            long["reason"].append(result.reason if isinstance(result, NotApplicable)
                                  else "" if result is not None else "cell did not finish")
    summary = Summary()
    summary.tables["transfer_attacks"] = Table(
        long, "every (source, attack, mode, eps, target): attack success rate and cost")
    attacks = [a.label for a in config.attacks]
    for source, mode, eps in dict.fromkeys((c["source"], c["mode"], c["eps"]) for c in cells):
        matrix: dict[tuple[str, str], float | None] = {}
        missing: dict[str, str] = {}
        for attack in attacks:
            found = _find(cells, results, source, attack, mode, eps)
            if isinstance(found, TransferAttacksResult):
                matrix.update({(attack, t): found.rate(t).rate for t in targets})
            else:
                missing[attack] = (found.reason if isinstance(found, NotApplicable)
                                   else "the cell did not finish")
        summary.figures[f"heatmap_{_safe(source)}_{mode}_eps{eps:g}"] = heatmap(
            matrix, attacks, targets, f"{_mode(mode)} success rate from {source}, eps = {eps:g}",
            missing, rows="attack (crafted on the source)", columns="target model",
            scale="attack success rate (%)")
    summary.terminal, summary.notes = terminal(config, cells, results)
    return summary


def terminal(config: TransferAttacksConfig, cells: list[Cell],
             results: Mapping[Cell, TransferAttacksResult | NotApplicable]
             ) -> tuple[list[Table], list[str]]:
    """One block per (source, mode, eps): attacks as rows, the white-box rate, every target's
    rate (``*``: above the noise control, 95% Wilson intervals disjoint), passes per point and
    seconds; the n/a attacks grouped by reason."""
    targets = config.target_labels()
    number = {label: str(i + 1) for i, label in enumerate(targets)}
    tables = [Table({"#": list(number.values()), "target": targets}, "targets (numbered)")]
    noise = next((a.label for a in config.attacks if a.name == "noise"), None)
    reasons: dict[str, list[str]] = {}
    marked = False
    for source, mode, eps in dict.fromkeys((c["source"], c["mode"], c["eps"]) for c in cells):
        control = _find(cells, results, source, noise, "none", eps) if noise else None
        block: dict[str, list[str]] = {"attack": [], "white-box": []}
        block.update({number[t]: [] for t in targets})
        block.update({"passes/pt": [], "s": []})
        for attack in (a.label for a in config.attacks):
            found = _find(cells, results, source, attack, mode, eps)
            if not isinstance(found, TransferAttacksResult):
                why = (found.reason if isinstance(found, NotApplicable)
                       else "the cell did not finish")
                reasons.setdefault(why, [])
                if attack not in reasons[why]:
                    reasons[why].append(attack)
                continue
            block["attack"].append(attack)
            block["white-box"].append(_percent(found.rate().rate))
            for target in targets:
                rate = found.rate(target)
                text = _percent(rate.rate)
                if (isinstance(control, TransferAttacksResult) and attack != noise
                        and rate.above(control.rate(target))):
                    text, marked = text + "*", True
                block[number[target]].append(text)
            block["passes/pt"].append(f"{found.passes_per_point:.0f}")
            block["s"].append(f"{found.seconds:.2f}")
        if block["attack"]:
            tables.append(Table(block, f"{source}, {_mode(mode)}, eps = {eps:g}: attack success "
                                       "rate (%) on target # (column)"))
    notes = ["* above the untargeted noise control from the same source (95% Wilson intervals "
             "disjoint)"] if marked else []
    notes += [f"n/a {', '.join(attacks)}: {why}" for why, attacks in reasons.items()]
    return tables, notes


def _find(cells: list[Cell], results: Mapping[Cell, Any], source: str, attack: str | None,
          mode: str, eps: float) -> Any:
    return next((results.get(c) for c in cells if c["source"] == source
                 and c["attack"] == attack and c["mode"] == mode and c["eps"] == eps), None)


def _mode(mode: str) -> str:
    return "untargeted" if mode == "none" else f"targeted ({mode})"


def _percent(value: float) -> str:
    return "–" if value != value else f"{100 * value:.1f}"


def _safe(label: str) -> str:
    """A model label as part of a file name (``timm:resnet18`` -> ``timm-resnet18``)."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in label)
