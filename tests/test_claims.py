"""Claims: each built-in transfer-matrix claim flips with its input (synthetic results that satisfy,
violate and leave it open), claims are logged to MLflow, and `--strict` fails a run on a FAIL."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from transfer import Cell, Rate, run_study, wilson_interval
from transfer.cli.main import cli
from transfer.studies.ensemble_source.claims import CLAIMS as ENSEMBLE_CLAIMS
from transfer.studies.ensemble_source.result import EnsembleResult
from transfer.studies.lipschitz.bounds import LayerBound
from transfer.studies.lipschitz.claims import CLAIMS as LIPSCHITZ_CLAIMS
from transfer.studies.lipschitz.config import LipschitzConfig
from transfer.studies.lipschitz.result import LipschitzResult
from transfer.studies.noise_vs_adversarial.claims import CLAIMS as NOISE_CLAIMS
from transfer.studies.noise_vs_adversarial.config import NoiseVsAdversarialConfig
from transfer.studies.noise_vs_adversarial.result import (
    Curves,
    MinimalNorm,
    NoiseVsAdversarialResult,
    RatioRow,
)
from transfer.studies.subspace_dimension.claims import CLAIMS as SUBSPACE_CLAIMS
from transfer.studies.subspace_dimension.result import SubspaceResult
from transfer.studies.transfer_matrix.claims import CLAIMS
from transfer.studies.transfer_matrix.config import NAME, TransferMatrixConfig
from transfer.studies.transfer_matrix.result import TargetOutcome as Outcome
from transfer.studies.transfer_matrix.result import TransferMatrixResult
from transfer.tracking.environment import code_version
from transfer.tracking.tracker import SUMMARY_CODE

from .conftest import tiny_config

BY_ID = {claim.id: claim for claim in CLAIMS}
MODELS = ["mlp", "logreg", "knn"]


def _rate(count: int, n: int) -> Rate:
    low, high = wilson_interval(count, n)
    return Rate(rate=count / n, count=count, n=n, ci_low=low, ci_high=high)


def _config(attacks=("fgsm", "noise")) -> TransferMatrixConfig:
    return TransferMatrixConfig.model_validate(
        {"models": MODELS, "sources": ["mlp", "logreg"], "attacks": list(attacks),
         "eps": [0.1, 0.2], "n_points": 200})


def _results(config: TransferMatrixConfig, transfer) -> dict[Cell, TransferMatrixResult]:
    """Every cell's result, with ``transfer(attack, eps, source, target) -> successes of 200``."""
    results = {}
    for source in config.source_labels():
        for attack in config.attacks:
            for eps in config.eps:
                targets = {t: Outcome(transfer_rate=_rate(transfer(attack.label, eps, source, t),
                                                          200),
                                      target_error=_rate(0, 200), conditional_transfer=_rate(0, 1),
                                      clean_error=0.0)
                           for t in config.target_labels()}
                results[Cell.make(NAME, source=source, attack=attack.label, eps=eps)] = \
                    TransferMatrixResult(source_clean_error=0.0, perturbation_linf=eps,
                                         perturbation_l2=eps, whitebox_success=_rate(150, 200),
                                         attack_measures={}, n_points=200, targets=targets)
    return results


def _verdict(claim: str, config: TransferMatrixConfig, transfer) -> str:
    return BY_ID[claim].evaluate(config, _results(config, transfer)).verdict


def test_beats_noise_flips_with_its_input():
    config = _config()
    def strong(a, e, s, t): return 100 if a == "fgsm" else 10  # noqa: E704
    def weak(a, e, s, t): return 100 if a == "fgsm" and e > 0.15 else 10 if a == "fgsm" else 100  # noqa: E501, E704
    def close(a, e, s, t): return 52 if a == "fgsm" else 50  # noqa: E704
    assert _verdict("beats-noise", config, strong) == "PASS"
    assert _verdict("beats-noise", config, weak) == "FAIL"  # below noise at eps 0.1
    assert _verdict("beats-noise", config, close) == "INCONCLUSIVE"
    assert _verdict("beats-noise", _config(("fgsm",)), strong) == "INCONCLUSIVE"


def test_beats_noise_leaves_out_attacks_much_smaller_than_the_noise():
    """A minimal-perturbation attack (the tree attack moves to the nearest leaf) is not "noise of
    the same size": it is named and left out, not failed."""
    config = _config(("fgsm", "tree", "noise"))
    def rates(a, e, s, t): return {"fgsm": 100, "tree": 2, "noise": 10}[a]  # noqa: E704
    results = _results(config, rates)
    for cell, result in results.items():
        if cell["attack"] == "tree":
            results[cell] = result.model_copy(update={"perturbation_l2": 0.2 * cell["eps"]})
    finding = BY_ID["beats-noise"].evaluate(config, results)
    assert finding.verdict == "PASS" and "left out" in finding.evidence
    assert "tree (L2 0.04 vs 0.20 at eps 0.2)" in finding.evidence
    for cell, result in results.items():  # the same attack at the noise's size counts
        results[cell] = result.model_copy(update={"perturbation_l2": cell["eps"]})
    assert BY_ID["beats-noise"].evaluate(config, results).verdict == "FAIL"


def test_cross_family_flips_with_its_input():
    config = _config()
    def across(a, e, s, t): return 120 if a == "fgsm" else 10  # noqa: E704
    def never(a, e, s, t): return 5 if a == "fgsm" else 60  # noqa: E704
    def within_only(a, e, s, t): return 150 if a == "fgsm" and s == t else 10  # noqa: E704
    assert _verdict("cross-family", config, across) == "PASS"
    assert _verdict("cross-family", config, never) == "FAIL"
    assert _verdict("cross-family", config, within_only) == "INCONCLUSIVE"  # equal to noise


def test_local_targets_hardest_flips_with_its_input():
    config = _config()
    def knn_hard(a, e, s, t): return 10 if t == "knn" else 120  # noqa: E704
    def knn_easy(a, e, s, t): return 150 if t == "knn" else 40  # noqa: E704
    def alike(a, e, s, t): return 80  # noqa: E704
    assert _verdict("local-targets-hardest", config, knn_hard) == "PASS"
    assert _verdict("local-targets-hardest", config, knn_easy) == "FAIL"
    assert _verdict("local-targets-hardest", config, alike) == "INCONCLUSIVE"
    no_local = TransferMatrixConfig.model_validate(
        {"models": ["mlp", "logreg"], "attacks": ["fgsm"], "eps": [0.1], "n_points": 200})
    assert _verdict("local-targets-hardest", no_local, knn_hard) == "INCONCLUSIVE"


def test_claims_are_logged_and_listed(tracking_uri):
    config = tiny_config(models=["logreg", "softmax", "knn"], attacks=["fgsm", "noise"],
                         eps=[0.3], n_points=60)
    run = run_study(config, tracking_uri=tracking_uri)
    found = {claim.id: finding for claim, finding in run.claims}
    assert set(found) == set(BY_ID)
    metrics = MlflowClient(tracking_uri).get_run(run.run_id).data.metrics
    for claim_id, finding in found.items():
        assert metrics[f"claim.{claim_id}"] == {"PASS": 1, "FAIL": 0, "INCONCLUSIVE": -1}[
            finding.verdict]
    table = run.summary.tables["claims"].columns
    assert table["id"] == list(found) and all(table["evidence"])
    assert any(t.title.startswith("claims:") for t in run.summary.terminal)

    # a re-run by the same code changes nothing; by other code, it writes the claims again
    client = MlflowClient(tracking_uri)
    stored = Path(client.get_run(run.run_id).info.artifact_uri.removeprefix("file://"))
    claims = stored / "tables" / "claims.csv"
    claims.unlink()
    assert run_study(config, tracking_uri=tracking_uri).run_id == run.run_id
    assert not claims.exists(), "a finished study re-run by the same code is left as it is"
    client.set_tag(run.run_id, SUMMARY_CODE, "transfer 0.0.1 at an older commit")
    assert run_study(config, tracking_uri=tracking_uri).resumed == len(run.results)
    assert claims.exists(), "newer code writes its summary and claims over an older one's"
    assert client.get_run(run.run_id).data.tags[SUMMARY_CODE] == code_version()


SCORE_PLUGIN = '''
from typing import Literal

from transfer import Cell, CellResult, Claim, Finding, Study, StudyConfig, Summary, hookimpl


class ScoreConfig(StudyConfig):
    study: Literal["score"] = "score"
    threshold: float = 0.5


class Score(CellResult):
    value: float


def above(config, results):
    value = min(r.value for r in results.values())
    return Finding("PASS" if value > config.threshold else "FAIL", value, f"lowest {value}")


class ScoreStudy(Study[ScoreConfig, Score]):
    """Two scores, 0.6 and 0.7, and one claim: every score is above the threshold."""

    Config, Result = ScoreConfig, Score
    theory = "Scores above thresholds"
    claims = (Claim("above", "Every score is above the threshold", "none", "the lowest score",
                    "> threshold", above),)

    def plan(self, config):
        return [Cell.make("score", i=i) for i in range(2)]

    def run(self, cell, ctx):
        return Score(value=0.6 + 0.1 * cell["i"])

    def summarize(self, config, results):
        return Summary()


@hookimpl
def register_studies(register):
    register("score", ScoreStudy)
'''


def test_strict_exits_3_when_a_claim_fails(tmp_path, tracking_uri):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "score.py").write_text(SCORE_PLUGIN)
    config = tmp_path / "score.toml"
    config.write_text('study = "score"\n')
    runner = CliRunner()
    common = ["--plugins-dir", str(folder), "--tracking-uri", tracking_uri, "--no-progress"]
    holds = runner.invoke(cli, ["study", "run", str(config), "--strict", *common])
    assert holds.exit_code == 0, holds.output
    fails = runner.invoke(cli, ["study", "run", str(config), "--set", "threshold=0.65", "--strict",
                                *common])
    assert fails.exit_code == 3 and "claims that FAIL: above" in fails.output, fails.output
    lenient = runner.invoke(cli, ["study", "run", str(config), "--set", "threshold=0.65", *common])
    assert lenient.exit_code == 0 and "FAIL" in lenient.output


def _ensemble_cells(ensemble: int, singles: tuple[int, ...], targeted: tuple[int, int] | None,
                    count: int = 12) -> dict[Cell, EnsembleResult]:
    """``count`` leave-one-out cells with these successes of 200 (and matching successes of a
    targeted attack: ensemble, each single)."""
    cells = {}
    for i in range(count):
        members = [f"m{j}" for j in range(len(singles))]
        matching = {} if targeted is None else {
            "ensemble_matching": _rate(targeted[0], 200),
            "singles_matching": {m: _rate(targeted[1], 200) for m in members}}
        cells[Cell.make("ensemble-source", target=f"t{i}", attack="pgd", eps=0.1)] = \
            EnsembleResult(kind="leave-one-out", members=members, left_out={},
                           ensemble=_rate(ensemble, 200),
                           singles={m: _rate(s, 200) for m, s in zip(members, singles,
                                                                     strict=True)},
                           **matching)
    return cells


def test_ensemble_claims_flip_with_their_input():
    check = {claim.id: claim.evaluate for claim in ENSEMBLE_CLAIMS}
    between = _ensemble_cells(94, (80, 100), None)  # above the mean, below the best
    assert check["beats-mean"](None, between).verdict == "PASS"
    assert check["beats-best"](None, between).verdict == "FAIL"
    assert check["beats-mean"](None, _ensemble_cells(70, (80, 100), None)).verdict == "FAIL"
    few = _ensemble_cells(94, (80, 100), None, count=3)  # 3 of 3: p = 0.25
    assert check["beats-mean"](None, few).verdict == "INCONCLUSIVE"
    assert check["targeted-needs-ensemble"](None, between).verdict == "INCONCLUSIVE"
    assert check["targeted-needs-ensemble"](
        None, _ensemble_cells(50, (40, 60), (60, 5))).verdict == "PASS"
    assert check["targeted-needs-ensemble"](
        None, _ensemble_cells(50, (40, 60), (5, 60))).verdict == "FAIL"
    assert check["targeted-needs-ensemble"](
        None, _ensemble_cells(50, (40, 60), (10, 9))).verdict == "INCONCLUSIVE"


def _subspace(curves: dict[tuple[str, float], tuple[list[float], float]]
              ) -> dict[Cell, SubspaceResult]:
    """Per (source, L2 eps): the mean adversarial directions along k = 1, 2, 4, 8 and the share
    of them that transfer to the one other model; five points whose directions found average
    the peak of that mean (to 0.2)."""
    results = {}
    for (source, eps), (adversarial, share) in curves.items():
        other = "b" if source == "a" else "a"
        total = round(5 * max(adversarial))
        found = [total // 5 + (i < total % 5) for i in range(5)]
        results[Cell.make("subspace-dimension", source=source, norm="l2", eps=eps)] = \
            SubspaceResult(k=[1, 2, 4, 8], adversarial_mean=adversarial,
                           adversarial_median=adversarial,
                           transferred_mean={other: [share * v for v in adversarial],
                                             source: adversarial},
                           transfer_probability={other: [share] * 4, source: [1.0] * 4},
                           dimension=[8, 4], found=found)
    return results


def test_subspace_claims_flip_with_their_input():
    check = {claim.id: claim.evaluate for claim in SUBSPACE_CLAIMS}
    rich = _subspace({("a", 1.0): ([1, 2, 3, 4], 0.7), ("a", 3.0): ([1, 2, 4, 7], 0.7),
                      ("b", 3.0): ([1, 2, 4, 6], 0.6)})
    poor = _subspace({("a", 1.0): ([1, 1.5, 1.2, 1], 0.1), ("a", 3.0): ([1, 1.2, 1, 1], 0.1),
                      ("b", 3.0): ([0.5, 1, 1, 1], 0.1)})
    middle = _subspace({("a", 3.0): ([1, 2, 3, 3], 0.3), ("b", 3.0): ([1, 2, 3, 3], 0.3)})
    assert [check[c](None, rich).verdict for c in check] == ["PASS", "PASS", "PASS"]
    assert [check[c](None, poor).verdict for c in check] == ["FAIL", "FAIL", "FAIL"]
    assert [check[c](None, middle).verdict for c in check] == ["INCONCLUSIVE"] * 3
    assert check["large-share-transfers"](None, rich).value == pytest.approx((0.7 + 0.6) / 2)


def _lipschitz(models: dict[str, tuple[float, float, int, float]]) -> tuple[Any, dict]:
    """A config of these models and their results: (L_upper, L_emp, layers, smallest
    perturbation over certified radius)."""
    config = LipschitzConfig.model_validate({"models": list(models)})
    results = {}
    for label, (upper, empirical, layers, ratio) in models.items():
        bounds = [LayerBound(f"l{i}", "Linear", (4,), "", 1.0) for i in range(layers)]
        results[Cell.make("lipschitz", model=label)] = LipschitzResult(
            L_upper=upper, L_emp=empirical, layers=bounds, unsupported=[], clever=[1.0],
            radius_checks=10, perturbation_over_radius=[ratio, 2 * ratio], scatter=[])
    return config, results


def test_lipschitz_claims_flip_with_their_input():
    check = {claim.id: claim.evaluate for claim in LIPSCHITZ_CLAIMS}
    expected = _lipschitz({"logreg": (3.0, 3.0, 1, 1.4), "mlp": (50.0, 20.0, 3, 1.1)})
    wrong = _lipschitz({"logreg": (3.0, 2.0, 1, 0.7), "mlp": (20.0, 20.0, 3, 1.1)})
    assert [check[c](*expected).verdict for c in check] == ["PASS", "PASS", "PASS"]
    assert [check[c](*wrong).verdict for c in check] == ["FAIL", "FAIL", "FAIL"]
    assert check["radius-respected"](*wrong).value == pytest.approx(0.7)
    between = _lipschitz({"cnn": (30.0, 25.0, 4, 1.0)})  # 1.2: neither tight nor loose
    assert check["loose-for-deep"](*between).verdict == "INCONCLUSIVE"
    assert check["tight-for-linear"](*between).verdict == "INCONCLUSIVE"  # no linear model


def _noise(models: dict[str, tuple[float, float, float, float]], ratio: float):
    """Per model: (R², clean error, adversarial error at eps_max, random error at eps_max), and
    the measured / predicted minimal-norm ratio of every row."""
    config = NoiseVsAdversarialConfig.model_validate({"models": list(models)})
    results = {}
    for label, (r2, clean, adversarial, random) in models.items():
        curves = Curves(eps=[-0.5, 0.0, 0.5], clean_error=clean,
                        error_adversarial=[adversarial, clean, adversarial],
                        error_random=[random, clean, random], logits_adversarial=[],
                        logits_random=[], labels=[], r2_adversarial=r2, r2_random=r2,
                        slope_adversarial=2.0, slope_random=1.0)
        results[Cell.make("noise-vs-adversarial", part="curves", model=label, data=-1)] = \
            NoiseVsAdversarialResult(curves=curves)
        rows = [RatioRow(m=m, median=ratio * 8 / math.sqrt(m), mean=0.0, predicted=0.0,
                         linear_median=8 / math.sqrt(m), no_flip_share=0.0, ratios=[])
                for m in (1, 4)]
        results[Cell.make("noise-vs-adversarial", part="minimal-norm", model=label, data=-1)] = \
            NoiseVsAdversarialResult(minimal_norm=MinimalNorm(d=64, points=10,
                                                              deepfool_l2_mean=1.0, rows=rows))
    return config, results


def test_noise_vs_adversarial_claims_flip_with_their_input():
    check = {claim.id: claim.evaluate for claim in NOISE_CLAIMS}
    holds = _noise({"softmax": (1.0, 0.05, 0.95, 0.10), "mlp": (0.92, 0.02, 0.9, 0.2)}, 1.2)
    fails = _noise({"softmax": (0.3, 0.05, 0.30, 0.40), "mlp": (0.4, 0.02, 0.9, 0.2)}, 3.0)
    between = _noise({"mlp": (0.7, 0.02, 0.30, 0.20)}, 1.8)
    assert [check[c](*holds).verdict for c in check] == ["PASS", "PASS", "PASS"]
    assert [check[c](*fails).verdict for c in check][:2] == ["FAIL", "FAIL"]
    assert [check[c](*between).verdict for c in check] == ["INCONCLUSIVE"] * 3
    linear_off = _noise({"softmax": (0.99, 0.05, 0.95, 0.10)}, 3.0)
    assert check["sqrt-d-over-m"](*linear_off).verdict == "FAIL"
    assert check["sqrt-d-over-m"](*linear_off).value == pytest.approx(3.0)
    linear_near = _noise({"softmax": (0.99, 0.05, 0.95, 0.10)}, 1.8)
    assert check["sqrt-d-over-m"](*linear_near).verdict == "INCONCLUSIVE"


def test_adversarial_beats_noise_is_read_before_both_errors_saturate():
    """At eps_max both errors saturate (98% vs 70%: under 2x); where the adversarial error first
    reaches 50% the random one is still near the clean error."""
    claim = next(c for c in NOISE_CLAIMS if c.id == "adversarial-beats-noise").evaluate
    config, results = _noise({"rbf-svm": (0.4, 0.02, 1.0, 0.7)}, 1.0)
    cell = next(c for c in results if c["part"] == "curves")
    curves = results[cell].curves.model_copy(update={
        "eps": [-0.5, -0.25, 0.0, 0.25, 0.5], "error_adversarial": [1.0, 0.6, 0.02, 0.6, 1.0],
        "error_random": [0.7, 0.05, 0.02, 0.05, 0.7]})
    results[cell] = NoiseVsAdversarialResult(curves=curves)
    finding = claim(config, results)
    assert finding.verdict == "PASS" and "rbf-svm at eps 0.25: 58% vs 3%" in finding.evidence
    saturated = curves.model_copy(update={"error_adversarial": [1.0, 0.4, 0.02, 0.4, 1.0]})
    results[cell] = NoiseVsAdversarialResult(curves=saturated)
    assert claim(config, results).verdict == "INCONCLUSIVE"  # 98% vs 68% at eps_max


def test_the_sqrt_d_over_m_law_leaves_out_curved_models():
    """Fawzi et al.'s law assumes small curvature: a curved model's ratios are named, not used."""
    law = next(claim for claim in NOISE_CLAIMS if claim.id == "sqrt-d-over-m").evaluate
    only_curved = law(*_noise({"rbf-svm": (0.4, 0.02, 0.9, 0.2)}, 3.0))
    assert only_curved.verdict == "INCONCLUSIVE" and "rbf-svm" in only_curved.evidence
    config, results = _noise({"softmax": (0.99, 0.05, 0.95, 0.10)}, 1.1)
    _, curved = _noise({"rbf-svm": (0.4, 0.02, 0.9, 0.2)}, 10.0)
    mixed = law(config, {**results, **curved})
    assert mixed.verdict == "PASS" and mixed.value == pytest.approx(1.1)
    assert "outside the law's hypothesis" in mixed.evidence and "rbf-svm" in mixed.evidence


def test_every_built_in_study_states_at_least_three_claims(registry):
    studies = [entry for entry in registry if entry.kind == "study"]
    packages = [p for p in (Path(__file__).resolve().parent.parent / "studies").glob(
        "*/__init__.py") if p.parent.name != "shared"]
    assert len(studies) == len(packages) >= 11  # every study package registers its study
    for entry in studies:
        claims = registry.get("study", entry.name).claims
        assert len(claims) >= 3, entry.name
        assert len({c.id for c in claims}) == len(claims)
        for claim in claims:
            assert claim.text and claim.paper and claim.quantity and claim.test, claim.id
