"""The transfer-attacks study: a timm network random-initialised, saved to disk and loaded from
the file as source and target; the table's counts and intervals recomputed from the cells' per-point
results (Wilson intervals from scipy); the n/a cells; and every claim able to PASS, FAIL and be
INCONCLUSIVE on constructed results."""

from __future__ import annotations

import io
import math

import pytest
import timm
from rich.console import Console
from safetensors.torch import save_file
from scipy.stats import binomtest

from transfer import Cell, NotApplicable, run_study
from transfer.presentation.terminal import print_summary
from transfer.studies.transfer_attacks import TransferAttacks
from transfer.studies.transfer_attacks.claims import CLAIMS, MIN_POINTS
from transfer.studies.transfer_attacks.config import TransferAttacksConfig
from transfer.studies.transfer_attacks.result import TransferAttacksResult


@pytest.fixture(scope="module")
def resnet_file(tmp_path_factory):
    """A random-initialised timm ResNet-18 for 1-channel digits, as a safetensors file."""
    path = tmp_path_factory.mktemp("weights") / "resnet18.safetensors"
    net = timm.create_model("resnet18", num_classes=10, in_chans=1)
    save_file(net.state_dict(), str(path))
    return path


def test_a_small_study_with_a_timm_model_from_a_file(resnet_file, tracking_uri):
    config = {
        "study": "transfer-attacks", "n_points": 40, "points": "all", "eps": [0.2],
        "models": [{"name": "mlp", "params": {"hidden": [32], "epochs": 5}}, "softmax",
                   {"name": "timm:resnet18", "label": "resnet",
                    "params": {"weights": str(resnet_file), "mean": [0.0], "std": [1.0]}}],
        "sources": ["mlp", "resnet"],
        "attacks": ["noise", "fgsm", {"name": "bim", "params": {"steps": 3}},
                    {"name": "sgm", "params": {"steps": 3}},
                    {"name": "ila", "params": {"steps": 2, "guide_steps": 2}}],
    }
    run = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not run.failed and len(run.results) == 2 * 2 * 5
    table = run.summary.tables["transfer_attacks"].columns
    rows = list(zip(*table.values(), strict=True))
    names = list(table)
    checked = 0
    for cell, result in run.results.items():
        mine = [dict(zip(names, row, strict=True)) for row in rows
                if row[0] == cell["source"] and row[1] == cell["attack"]
                and row[2] == cell["mode"]]
        assert len(mine) == 4  # white-box and three targets
        if isinstance(result, NotApplicable):
            assert cell["mode"] == "random" and cell["attack"] in ("noise", "ila")
            assert all(row["status"] == "n/a" and "untargeted" in row["reason"] for row in mine)
            continue
        for row in mine:
            flags = result.whitebox if row["target"] == "white-box" else \
                result.targets[row["target"]]
            count = flags.count("1")
            assert (row["count"], row["n"]) == (count, 40) and len(flags) == 40
            expected = binomtest(count, 40).proportion_ci(method="wilson")
            assert row["ci_low"] == pytest.approx(expected.low)
            assert row["ci_high"] == pytest.approx(expected.high)
            assert row["success_rate"] == pytest.approx(count / 40)
            checked += 1
        steps = {"fgsm": 1, "bim": 3, "sgm": 3, "ila": 4, "noise": 0}[cell["attack"]]
        assert result.passes_per_point >= steps and result.seconds > 0
        if cell["attack"] == "sgm":  # timm's ResNet-18 has 8 residual blocks, the MLP none
            assert result.attack_measures["sgm_modules"] == (8 if cell["source"] == "resnet"
                                                             else 0)
    assert checked == 2 * 8 * 4  # 2 sources: 5 untargeted + 3 targeted cells, 4 rows each
    assert {f"heatmap_{s}_{m}_eps0.2" for s in ("mlp", "resnet") for m in ("none", "random")} \
        == set(run.summary.figures)
    buffer = io.StringIO()  # the terminal summary fits 100 columns and cuts nothing
    print_summary(Console(file=buffer, width=100, color_system=None), run.summary.terminal,
                  run.summary.notes)
    lines = buffer.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 100 and not [x for x in lines if "…" in x]
    assert any(line.startswith("ila ") for line in lines)


ATTACKS = ["noise", "fgsm", "bim", "mifgsm", "difgsm", "tifgsm", "sgm"]


def _constructed(fooled_by: dict[str, int], n_points: int):
    """Results where attack a fools the first ``fooled_by[a]`` points on both targets."""
    config = TransferAttacksConfig(models=["mlp", "cnn", "softmax"], sources=["cnn"],
                                   attacks=ATTACKS, eps=[0.1])
    results = {}
    for attack in ATTACKS:
        k = fooled_by.get(attack, 0)
        flags = "1" * k + "0" * (n_points - k)
        results[Cell.make("transfer-attacks", source="cnn", attack=attack, mode="none",
                          eps=0.1)] = TransferAttacksResult(
            n_points=n_points, whitebox=flags, targets={"mlp": flags, "softmax": flags},
            passes_per_point=1.0, seconds=0.1, attack_measures={"sgm_modules": 8.0})
    return config, results


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_every_claim_can_pass_fail_and_be_inconclusive(claim):
    ordered = {"noise": 0, "bim": 10, "mifgsm": 40, "difgsm": 60, "tifgsm": 60, "sgm": 60,
               "fgsm": 60}
    assert claim.evaluate(*_constructed(ordered, 100)).verdict == "PASS"
    equal = dict.fromkeys(ATTACKS, 10)
    finding = claim.evaluate(*_constructed(equal, MIN_POINTS))
    assert finding.verdict == "FAIL" and finding.value == 0  # no effect over enough points
    reversed_order = {a: 100 - k for a, k in ordered.items()}
    assert claim.evaluate(*_constructed(reversed_order, 100)).verdict == "FAIL"
    assert claim.evaluate(*_constructed(equal, MIN_POINTS - 1)).verdict == "INCONCLUSIVE"
    config, results = _constructed(ordered, 100)
    assert claim.evaluate(config, {}).verdict == "INCONCLUSIVE"  # the attacks did not run
    finding = claim.evaluate(config, results)
    assert "/200" in finding.evidence and "Wilcoxon" in finding.evidence  # k/n and the test
    assert not math.isnan(finding.value)


def test_the_default_config_plans_every_source_attack_and_mode(registry):
    study = TransferAttacks()
    config = TransferAttacksConfig.model_validate(
        {"models": ["mlp", "softmax"], "attacks": ["fgsm", "mifgsm"], "eps": [0.1]})
    cells = study.plan(config)
    assert config.points == "all-correct" and config.modes == ["none", "random"]
    assert len(cells) == 2 * 2 * 2 and len(set(cells)) == len(cells)
