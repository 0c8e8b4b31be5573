"""Claims: each built-in transfer-matrix claim flips with its input (synthetic results that satisfy,
violate and leave it open), claims are logged to MLflow, and `--strict` fails a run on a FAIL."""

from __future__ import annotations

from click.testing import CliRunner
from mlflow import MlflowClient

from transfer import Cell, Rate, run_study, wilson_interval
from transfer.cli import cli
from transfer.studies.ensemble_source import EnsembleResult
from transfer.studies.ensemble_source_claims import CLAIMS as ENSEMBLE_CLAIMS
from transfer.studies.transfer_matrix import NAME, TransferMatrixConfig, TransferMatrixResult
from transfer.studies.transfer_matrix import TargetOutcome as Outcome
from transfer.studies.transfer_matrix_claims import CLAIMS

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
