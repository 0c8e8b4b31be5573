"""Claims: each built-in transfer-matrix claim flips with its input (synthetic results that satisfy,
violate and leave it open), claims are logged to MLflow, and `--strict` fails a run on a FAIL."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from transfer import Cell, Rate, run_study, wilson_interval
from transfer.cli.main import cli
from transfer.studies.ensemble_source.claims import CLAIMS as ENSEMBLE_CLAIMS
from transfer.studies.ensemble_source.result import EnsembleResult
from transfer.studies.lipschitz.claims import CLAIMS as LIPSCHITZ_CLAIMS
from transfer.studies.noise_vs_adversarial.claims import CLAIMS as NOISE_CLAIMS
from transfer.studies.noise_vs_adversarial.claims import median_counting_misses
from transfer.studies.noise_vs_adversarial.result import NoiseVsAdversarialResult, RatioRow
from transfer.studies.subspace_dimension.claims import CLAIMS as SUBSPACE_CLAIMS
from transfer.studies.subspace_dimension.result import SubspaceResult
from transfer.studies.transfer_matrix.claims import CLAIMS
from transfer.studies.transfer_matrix.config import NAME, TransferMatrixConfig
from transfer.studies.transfer_matrix.result import TargetOutcome as Outcome
from transfer.studies.transfer_matrix.result import TransferMatrixResult
from transfer.tracking.environment import code_version
from transfer.tracking.tracker import SUMMARY_CODE

from .claim_cases.lipschitz import world as lipschitz_world
from .claim_cases.noise_vs_adversarial import world as noise_world
from .conftest import tiny_config

BY_ID = {claim.id: claim for claim in CLAIMS}
LIPSCHITZ_BY_ID = {claim.id: claim for claim in LIPSCHITZ_CLAIMS}
NOISE_BY_ID = {claim.id: claim for claim in NOISE_CLAIMS}
MODELS = ["mlp", "logreg", "knn"]


def _rate(count: int, n: int) -> Rate:
    low, high = wilson_interval(count, n)
    return Rate(rate=count / n, count=count, n=n, ci_low=low, ci_high=high)


def _config(attacks=("fgsm", "noise")) -> TransferMatrixConfig:
    return TransferMatrixConfig.model_validate(
        {"models": MODELS, "sources": ["mlp", "logreg"], "attacks": list(attacks),
         "eps": [0.1, 0.2], "n_points": 200})


def _results(config: TransferMatrixConfig, transfer) -> dict[Cell, TransferMatrixResult]:
    """Every cell's result, with ``transfer(attack, eps, source, target) -> successes of 200``
    (the first points of the 200)."""
    results = {}
    for source in config.source_labels():
        for attack in config.attacks:
            for eps in config.eps:
                fooled = {t: transfer(attack.label, eps, source, t)
                          for t in config.target_labels()}
                targets = {t: Outcome(transfer_rate=_rate(k, 200), target_error=_rate(0, 200),
                                      conditional_transfer=_rate(0, 1), clean_error=0.0,
                                      transferred="1" * k + "0" * (200 - k))
                           for t, k in fooled.items()}
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
    def barely(a, e, s, t): return 12 if a == "fgsm" else 10  # noqa: E704
    assert _verdict("cross-family", config, across) == "PASS"
    assert _verdict("cross-family", config, never) == "FAIL"
    # across families no more than the noise: the point estimate is not above it
    assert _verdict("cross-family", config, within_only) == "FAIL"
    # two points more than the noise on every pair: 2 of 200 points, not enough to decide
    assert _verdict("cross-family", config, barely) == "INCONCLUSIVE"


def test_local_targets_hardest_flips_with_its_input():
    config = _config()
    def knn_hard(a, e, s, t): return 10 if t == "knn" else 120  # noqa: E704
    def knn_easy(a, e, s, t): return 150 if t == "knn" else 40  # noqa: E704
    def alike(a, e, s, t): return 80  # noqa: E704
    assert _verdict("local-targets-hardest", config, knn_hard) == "PASS"
    assert _verdict("local-targets-hardest", config, knn_easy) == "FAIL"
    assert _verdict("local-targets-hardest", config, alike) == "FAIL"  # not harder: a FAIL
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


def _ensemble_cells(ensemble: int | list[int], singles: tuple[int, ...], targets: int,
                    eps: int = 1, prefix: str = "t") -> dict[Cell, EnsembleResult]:
    """Untargeted leave-one-out cells, ``eps`` budgets for each of ``targets`` targets (named
    ``prefix`` and a number), with these successes of 200: the ensemble's (one per budget with a
    list), each single source's."""
    members = [f"m{j}" for j in range(len(singles))]
    fooled = ensemble if isinstance(ensemble, list) else [ensemble] * eps
    return {Cell.make("ensemble-source", kind="leave-one-out", target=f"{prefix}{i}",
                      attack="pgd", eps=(e + 1) / 10):
            EnsembleResult(kind="leave-one-out", members=members, left_out={},
                           ensemble=_rate(fooled[e], 200),
                           singles={m: _rate(k, 200) for m, k in zip(members, singles,
                                                                     strict=True)})
            for i in range(targets) for e in range(len(fooled))}


def test_the_cells_of_one_target_are_one_vote():
    check = {claim.id: claim.evaluate for claim in ENSEMBLE_CLAIMS}
    between = (80, 100)  # mean 90, best 100
    # 3 targets x 8 budgets, every cell won: 3 votes of 3 (p = 0.125), below the 5 targets
    crowded = check["beats-mean"](None, _ensemble_cells(94, between, targets=3, eps=8))
    assert crowded.verdict == "INCONCLUSIVE" and "3 of 3 targets" in crowded.evidence
    # 5 targets, one cell each, every one won: 5 of 5 (p = 0.031)
    assert check["beats-mean"](None, _ensemble_cells(94, between, targets=5)).verdict == "PASS"
    assert check["beats-best"](None, _ensemble_cells(94, between, targets=5)).verdict == "FAIL"
    # a target's budgets are pooled: lost by 2 at one, won by 10 at the other is a win (cell by
    # cell, 5 wins and 5 losses)
    pooled = check["beats-mean"](None, _ensemble_cells([88, 100], between, targets=5, eps=2))
    assert pooled.verdict == "PASS" and "5 of 5 targets" in pooled.evidence
    # no more wins than losses fails, significant or not: 3 targets won, 3 lost
    split = {**_ensemble_cells(94, between, targets=3),
             **_ensemble_cells(86, between, targets=3, prefix="u")}
    assert check["beats-mean"](None, split).verdict == "FAIL"


def _matching(outcomes: str) -> Rate:
    return _rate(outcomes.count("1"), outcomes.count("1") + outcomes.count("0"))


def _targeted_cells(ensemble: str, single: str, targets: int = 4) -> dict[Cell, EnsembleResult]:
    """Targeted leave-one-out cells of ``targets`` targets, two single sources each: the
    ``point_outcomes`` of the ensemble's and each single source's matching (rates from them)."""
    members = ["m0", "m1"]
    return {Cell.make("ensemble-source", kind="leave-one-out", target=f"t{i}",
                      attack="pgd-targeted", eps=0.1):
            EnsembleResult(kind="leave-one-out", members=members, left_out={},
                           ensemble=_rate(100, 200), singles={m: _rate(100, 200) for m in members},
                           ensemble_matching=_matching(ensemble),
                           singles_matching={m: _matching(single) for m in members},
                           ensemble_matching_points=ensemble,
                           singles_matching_points={m: single for m in members})
            for i in range(targets)}


def _points(matching: int, start: int = 0, counted: int = 200, points: int = 220) -> str:
    return ("0" * start + "1" * matching + "0" * (counted - start - matching)
            + "-" * (points - counted))


def test_targeted_matching_is_compared_point_by_point():
    claim = next(c for c in ENSEMBLE_CLAIMS if c.id == "targeted-needs-ensemble")
    single = _points(4)  # the singles keep the target class on the first 4 points: "rarely"

    def verdict(ensemble: str, singles: str = single) -> str:
        return claim.evaluate(None, _targeted_cells(ensemble, singles)).verdict

    # 5.0% vs 2.0%: the ensemble matches on the singles' 4 points and 6 more, so the paired
    # difference does not straddle 0, and the singles' interval lies below 5%
    assert verdict(_points(10)) == "PASS"
    # the same rates on other points than the singles': the difference straddles 0
    assert verdict(_points(10, start=4)) == "INCONCLUSIVE"
    assert verdict(_points(4)) == "FAIL"  # no difference
    assert verdict(_points(2)) == "FAIL"
    # the singles keep the target class on 12%: not rarely, however far the ensemble is above
    assert verdict(_points(40), _points(24)) == "FAIL"
    assert verdict(_points(40), _points(10)) == "INCONCLUSIVE"  # 5%: rarely or not, undecided
    # 20 counted points (of 220): too few, however large the difference
    assert verdict(_points(15, counted=20), _points(1, counted=20)) == "INCONCLUSIVE"
    # results written before the per-point outcomes
    old = {cell: result.model_copy(update={"ensemble_matching_points": "",
                                           "singles_matching_points": {}})
           for cell, result in _targeted_cells(_points(40), single).items()}
    assert claim.evaluate(None, old).verdict == "INCONCLUSIVE"
    untargeted = _ensemble_cells(94, (80, 100), targets=5)
    assert claim.evaluate(None, untargeted).verdict == "INCONCLUSIVE"


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
    # many-directions needs the random control and 30 points: tests/claim_cases covers it
    check = {claim.id: claim.evaluate for claim in SUBSPACE_CLAIMS
             if claim.id != "many-directions"}
    rich = _subspace({("a", 1.0): ([1, 2, 3, 4], 0.7), ("a", 3.0): ([1, 2, 4, 7], 0.7),
                      ("b", 3.0): ([1, 2, 4, 6], 0.6)})
    poor = _subspace({("a", 1.0): ([1, 1.5, 1.2, 1], 0.1), ("a", 3.0): ([1, 1.2, 1, 1], 0.1),
                      ("b", 3.0): ([0.5, 1, 1, 1], 0.1)})
    middle = _subspace({("a", 3.0): ([1, 2, 3, 3], 0.3), ("b", 3.0): ([1, 2, 3, 3], 0.3)})
    assert [check[c](None, rich).verdict for c in check] == ["PASS", "PASS"]
    assert [check[c](None, poor).verdict for c in check] == ["FAIL", "FAIL"]
    assert [check[c](None, middle).verdict for c in check] == ["INCONCLUSIVE"] * 2
    assert check["large-share-transfers"](None, rich).value == pytest.approx((0.7 + 0.6) / 2)


def test_radius_respected_fails_when_the_empirical_constant_exceeds_the_bound():
    """One Jacobian norm above the certified constant refutes the bound, even with every
    adversarial example outside its radius."""
    config, results = lipschitz_world()
    cell = Cell.make("lipschitz", model="mlp")
    results[cell] = results[cell].model_copy(update={"L_emp": 1.01 * results[cell].L_upper})
    finding = LIPSCHITZ_BY_ID["radius-respected"].evaluate(config, results)
    assert finding.verdict == "FAIL" and "mlp: 0 of" in finding.evidence


def test_adversarial_beats_noise_is_read_before_both_errors_saturate():
    """At eps_max both errors saturate (98% vs 70%: under 2x); where the adversarial error first
    reaches 50% the random one is still near the clean error."""
    claim = NOISE_BY_ID["adversarial-beats-noise"].evaluate
    config, results = noise_world()
    cell = Cell.make("noise-vs-adversarial", part="curves", model="rbf-net", data=-1)
    curves = results[cell].curves.model_copy(update={
        "clean_error": 0.02, "error_adversarial": [1.0, 0.6, 0.02, 0.6, 1.0],
        "error_random": [0.7, 0.05, 0.02, 0.05, 0.7]})
    results[cell] = NoiseVsAdversarialResult(curves=curves)
    finding = claim(config, results)
    assert finding.verdict == "PASS" and "rbf-net at eps 0.25: 58% vs 3%" in finding.evidence
    saturated = curves.model_copy(update={"error_adversarial": [1.0, 0.4, 0.02, 0.4, 1.0]})
    results[cell] = NoiseVsAdversarialResult(curves=saturated)
    assert claim(config, results).verdict == "INCONCLUSIVE"  # 98% vs 68% at eps_max


def test_the_median_counts_subspaces_that_never_flip_as_infinite():
    """Dropping the points no subspace flipped would bias the median low: 7 flipped ratios and 3
    misses (30%) give the median of the 10 values with 3 infinities."""
    ratios = [2.5, 1.0, 4.0, 3.0, 2.0, 6.0, 3.5]
    row = RatioRow(m=4, median=3.0, mean=3.14, predicted=4.0, linear_median=4.3,
                   no_flip_share=0.3, ratios=ratios)
    assert median_counting_misses(row) == pytest.approx(float(np.median(ratios + [math.inf] * 3)))
    assert median_counting_misses(row) == pytest.approx(3.75)  # not the flipped ones' 3.0
    mostly_missed = row.model_copy(update={"no_flip_share": 5 / 8, "ratios": ratios[:3]})
    assert median_counting_misses(mostly_missed) == math.inf  # 5 of 8 points never flipped


def test_an_rbf_model_as_linear_as_a_network_fails_near_linear():
    """Goodfellow et al.'s contrast: the RBF network must be less linear than every deep network;
    at the least linear network's R² (cnn, 0.95) it is not, though every network passes alone."""
    claim = NOISE_BY_ID["near-linear"].evaluate
    assert claim(*noise_world({"rbf-net": {"r2": 0.9}})).verdict == "PASS"
    finding = claim(*noise_world({"rbf-net": {"r2": 0.95}}))
    assert finding.verdict == "FAIL" and finding.value == pytest.approx(0.95)
    assert "least linear network: rbf-net" in finding.evidence


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
            assert claim.control and claim.minimum, f"{claim.id}: state its control and minimum"
