"""The non-robust-features study (Ilyas et al. 2019): the ``next`` target rule, the relabelled
D_rand / D_det examples against torch norms and numpy labels, the representation matching against
the network's own layers, the fresh model's accuracy against scikit-learn on an independently
rebuilt D_det, and the study end to end with its runs, figures and claims."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mlflow import MlflowClient
from sklearn.metrics import accuracy_score

from transfer import Cell, Dataset, ModelSpec, Rate, evaluation_points, run_study, train_model
from transfer.cli.config_files import read_default_config
from transfer.contracts.validation import ConfigError, validate_config
from transfer.studies.non_robust_features import NonRobustFeatures
from transfer.studies.non_robust_features.claims import CLAIMS, READS_ORIGINAL
from transfer.studies.non_robust_features.construction import (
    matched,
    relabelled,
    representation_layer,
    starts,
)
from transfer.studies.non_robust_features.result import Construction, NonRobustResult
from transfer.tracking.cell_runs import PARENT

from .claim_cases.non_robust_features import CASES, UNDECIDED_ACCURACY, UNMEASURED_GATE
from .conftest import assert_claims_evaluated

TINY = {"hidden": [16, 8], "epochs": 8}


@pytest.fixture(scope="module")
def tiny(registry, digits):
    return train_model(ModelSpec(name="mlp", params=TINY), digits, registry=registry,
                       device="cpu")


def test_the_next_target_rule_is_the_following_class(registry, digits, tiny):
    y = digits.y_train[:50]
    attack = registry.create("attack", "pgd", target="next")
    targets = attack.chosen_targets(tiny, digits.x_train[:50], y, seed=3)
    np.testing.assert_array_equal(targets.numpy(), (y.numpy() + 1) % 10)
    with pytest.raises(ValueError, match="next"):
        registry.create("attack", "pgd", target="previous")


@pytest.mark.parametrize("rule", ["random", "next"])
def test_relabelled_examples_carry_their_targets_inside_the_ball(registry, digits, tiny, rule):
    x, y = digits.x_train[:120], digits.y_train[:120]
    attack = registry.create("attack", "pgd", norm="l2", steps=6, target=rule)
    built = relabelled(tiny, attack, x, y, 1.0, bounds=digits.bounds, seed=0, keep="all")
    labels, targets = y.numpy(), built.targets.numpy()
    assert (targets != labels).all()
    if rule == "next":
        np.testing.assert_array_equal(targets, (labels + 1) % 10)
    else:
        assert len(np.unique(targets)) > 5
    distance = torch.linalg.vector_norm((built.x_adv - x).flatten(1), ord=2, dim=1)
    assert distance.max().item() <= 1.0 + 1e-5
    assert built.x_adv.min().item() >= 0.0 and built.x_adv.max().item() <= 1.0
    with torch.no_grad():
        predicted = tiny.logits(built.x_adv).argmax(1).numpy()
    np.testing.assert_array_equal(built.reached.numpy(), predicted == targets)
    assert built.gradients == 6 * len(y)  # one gradient per point and step, no more
    kept = relabelled(tiny, attack, x, y, 1.0, bounds=digits.bounds, seed=0, keep="reached")
    np.testing.assert_array_equal(kept.kept.numpy(), predicted == targets)


def test_matching_brings_the_representation_closer(digits, tiny):
    x = digits.x_train[:80]
    net = tiny.torch_module
    assert representation_layer(net, x[:1]) is net[-1]  # Flatten, Linear, ReLU, ..., Linear
    start = starts(x, "other-point", digits.bounds, seed=0)
    assert not (start == x).flatten(1).all(1).any()  # no point starts from itself
    built = matched(tiny, x, start, steps=60, step_size=0.1, bounds=digits.bounds)

    def g(points: torch.Tensor) -> torch.Tensor:  # the layers before the last one, directly
        with torch.no_grad():
            return net[:-1](points)

    before = (g(start) - g(x)).norm(dim=1) / g(x).norm(dim=1)
    after = (g(built.x_r) - g(x)).norm(dim=1) / g(x).norm(dim=1)
    np.testing.assert_allclose(built.before.numpy(), before.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(built.after.numpy(), after.numpy(), rtol=1e-4, atol=1e-6)
    assert after.mean() < 0.5 * before.mean()
    assert (after < before).float().mean() > 0.9
    assert built.x_r.min() >= 0 and built.x_r.max() <= 1
    assert built.gradients == 60 * len(x)
    noise = starts(x, "noise", (-float("inf"), float("inf")), seed=0)  # unbounded data
    assert torch.isfinite(noise).all() and noise.shape == x.shape


def _rate(k: int, n: int) -> Rate:
    return Rate.of(torch.arange(n) < k, torch.ones(n, dtype=torch.bool))


def _result(name: str, clean: int, robust: int, first: int = 0, n: int = 400,
            reads: int | None = 1200, built: int = 1347) -> NonRobustResult:
    """``robust`` of ``n`` test points right after the attack: points first, first + 1, ...
    (wrapping), so that two sets' flags overlap as much as their ``first`` points say. D_rand
    and D_det: the robust model reads y on ``reads`` of their ``built`` points (None: not
    measured)."""
    correct = ((torch.arange(n) - first) % n) < robust
    construction = None
    if name in ("D_rand", "D_det"):
        construction = Construction(
            points=built, gradients=0, gradients_min=0, sha256="",
            robust_sees_label=None if reads is None else _rate(reads, built))
    return NonRobustResult(set=name, n_classes=10, clean=_rate(clean, n),
                           robust=Rate.of(correct, torch.ones(n, dtype=torch.bool)),
                           train_accuracy=_rate(n, n), eval_gradients=0, eval_gradients_min=0,
                           points=list(range(n)), robust_correct=correct.tolist(),
                           construction=construction)


@pytest.mark.parametrize(("counts", "verdicts"), [
    # (D, D_R, D_NR, D_rand, D_det) as (clean, robust, first robust point) of 400 test points
    ({"D": (390, 150, 0), "D_R": (370, 250, 0), "D_NR": (370, 60, 0), "D_rand": (300, 0, 0),
      "D_det": (130, 0, 0)}, ("PASS", "PASS", "PASS")),  # 32.5% [28.1, 37.3] > 10% + 10 points
    # D_R right on 160 other points than D's 150: 160 vs 150 discordant, McNemar p = 0.31
    ({"D": (390, 150, 0), "D_R": (370, 160, 200), "D_NR": (370, 60, 0), "D_rand": (300, 0, 0),
      "D_det": (90, 0, 0)}, ("INCONCLUSIVE", "INCONCLUSIVE", "INCONCLUSIVE")),  # 22.5%
    # D_R right on a subset of D's points: below D, a FAIL whatever the p-value
    ({"D": (390, 250, 0), "D_R": (370, 245, 0), "D_NR": (370, 200, 0), "D_rand": (300, 0, 0),
      "D_det": (20, 0, 0)}, ("FAIL", "FAIL", "FAIL")),  # D_det 5% [3.3, 7.6]: below chance
])
def test_claims_follow_the_paired_tests(counts, verdicts):
    results = {Cell.make("non-robust-features", set=name): _result(name, *triple)
               for name, triple in counts.items()}
    found = tuple(claim.evaluate(None, results).verdict for claim in CLAIMS)
    assert found == verdicts


GENERALIZE = next(c for c in CLAIMS if c.id == "non-robust-generalize")


@pytest.mark.parametrize(("reads", "clean", "verdict"), [
    (710, 300, "PASS"),  # 52.7% [50.04, 55.4]: the lower end just above half
    (709, 300, "INCONCLUSIVE"),  # 52.6% [49.97, 55.3]: just not
    (300, 300, "INCONCLUSIVE"),  # 22.3%: the robust model reads t, not y, on most points
    (None, 300, "INCONCLUSIVE"),  # not measured: the gate cannot be checked
    (300, 20, "FAIL"),  # at chance: a FAIL whatever the robust model reads
])
def test_the_gate_reads_the_robust_models_reading_of_y(reads, clean, verdict):
    """D_rand passes only if the robust model reads the original label y on more than half of
    its relabelled points (Wilson lower end); D_det (130/400, 1250 of 1347 read as y) passes."""
    results = {Cell.make("non-robust-features", set=name): r for name, r in (
        ("D_rand", _result("D_rand", clean, 0, reads=reads)),
        ("D_det", _result("D_det", 130, 0, reads=1250)))}
    finding = GENERALIZE.evaluate(None, results)
    assert finding.verdict == verdict, finding.evidence
    assert READS_ORIGINAL == 0.5
    if reads is None:
        assert "cannot be checked" in finding.evidence
    else:
        assert f"({reads}/1347)" in finding.evidence and "(1250/1347)" in finding.evidence
    written = "the attack may have written robust features of t" in finding.evidence
    assert written == (verdict == "INCONCLUSIVE" and reads is not None)


def test_the_constructed_undecided_cases_stay_undecided():
    """CASES' INCONCLUSIVE is the gate's (accuracy high, gate failed); the other two reasons."""
    for case in (CASES["non-robust-generalize"]["INCONCLUSIVE"], UNDECIDED_ACCURACY,
                 UNMEASURED_GATE):
        config, results = case()
        finding = GENERALIZE.evaluate(config, results)
        assert finding.verdict == "INCONCLUSIVE", finding.evidence
    config, results = CASES["non-robust-generalize"]["INCONCLUSIVE"]()
    rand = next(r for c, r in results.items() if c["set"] == "D_rand")
    assert rand.clean.ci_low > 0.2 and rand.construction.robust_sees_label.ci_low <= 0.5


def test_the_default_threat_model_is_ilyas_l2_in_their_ratios(registry):
    """Ilyas et al.: robust training and the D_rand / D_det attack at the same L2 eps (0.5),
    robust accuracy read at half of it (0.25). The default config keeps those ratios."""
    _, config = validate_config(registry, read_default_config(NonRobustFeatures))
    adversarial = config.robust_model.params["adversarial"]
    assert adversarial["method"] == "pgd" and adversarial["norm"] == "l2"
    assert adversarial["eps"] == config.attack_eps
    assert config.attack.params["norm"] == "l2"
    assert config.evaluation.name == "pgd" and config.evaluation.params["norm"] == "l2"
    assert config.eps == pytest.approx(config.attack_eps / 2)
    default = NonRobustFeatures.Config.model_validate({"study": "non-robust-features"})
    assert default.robust_model == config.robust_model  # the code's defaults say the same
    assert (default.evaluation, default.eps) == (config.evaluation, config.eps)


def test_a_gain_in_the_predicted_direction_is_decided_by_the_paired_points():
    """The same two robust accuracies (160 vs 150 of 400) PASS when D_R keeps every point D
    gets right (10 discordant points, all one way) and stay open when they share none."""
    nested = {"D": _result("D", 390, 150), "D_R": _result("D_R", 370, 160)}
    apart = {"D": _result("D", 390, 150), "D_R": _result("D_R", 370, 160, first=200)}
    robust_dataset_robust = next(c for c in CLAIMS if c.id == "robust-dataset-robust")
    for cases, verdict in ((nested, "PASS"), (apart, "INCONCLUSIVE")):
        results = {Cell.make("non-robust-features", set=name): r for name, r in cases.items()}
        finding = robust_dataset_robust.evaluate(None, results)
        assert finding.verdict == verdict, finding.evidence
        assert "(160/400)" in finding.evidence and "(150/400)" in finding.evidence


def test_the_study_end_to_end(tracking_uri, registry, digits):
    mlp = {"name": "mlp", "params": TINY}
    config = {"study": "non-robust-features", "n_points": 120, "match_steps": 20,
              "model": mlp, "attack": {"name": "pgd", "params": {"norm": "l2", "steps": 8}},
              "evaluation": {"name": "pgd", "params": {"norm": "l2", "steps": 4}},
              "n_examples": 3, "robust_model": {"name": "mlp", "params": {**TINY, "adversarial": {
                  "method": "pgd", "eps": 1.0, "norm": "l2", "steps": 2}}}}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    assert_claims_evaluated(result, NonRobustFeatures)
    done = {c["set"]: r for c, r in result.results.items()}
    assert list(done) == ["D", "D-adv", "D_R", "D_NR", "D_rand", "D_det"]
    index = evaluation_points(len(digits.y_test), 120, 0)
    x_test, y_test = digits.x_test[index], digits.y_test[index].numpy()
    # D: the standard model's accuracy, again with scikit-learn
    standard = train_model(ModelSpec(name="mlp", params=TINY), digits, registry=registry,
                           device="cpu")
    assert done["D"].clean.rate == pytest.approx(
        accuracy_score(y_test, standard.predict(x_test).numpy()))
    # D_det rebuilt without the study: the registered PGD towards y + 1 (labels from numpy),
    # a fresh model with seed 1, scored by scikit-learn on the clean test points
    pgd = registry.create("attack", "pgd", norm="l2", steps=8, target="next")
    x_det = pgd(standard, digits.x_train, digits.y_train, 1.0, bounds=digits.bounds,
                seed=0).x_adv
    y_det = torch.from_numpy((digits.y_train.numpy() + 1) % 10)
    rebuilt = Dataset(name="d-det-test", x_train=x_det, y_train=y_det, x_test=digits.x_test,
                      y_test=digits.y_test, class_names=digits.class_names,
                      bounds=digits.bounds, spec={"name": "d-det-test-rebuilt"})
    fresh = train_model(ModelSpec(name="mlp", params=TINY), rebuilt, seed=1, registry=registry,
                        device="cpu")
    det = done["D_det"]
    assert det.clean.rate == pytest.approx(accuracy_score(y_test, fresh.predict(x_test).numpy()))
    assert det.shifted is not None and det.shifted.rate == pytest.approx(
        accuracy_score((y_test + 1) % 10, fresh.predict(x_test).numpy()))
    assert det.construction is not None and det.construction.points == len(digits.y_train)
    assert det.construction.gradients == det.construction.gradients_min == 8 * len(y_det)
    assert done["D_R"].construction.match_after < done["D_R"].construction.match_before
    assert {r.evaluation_norm for r in done.values()} == {"l2"}
    assert "pgd, L2 eps 0.5: D_R / std" in next(
        m.text for h, m in result.headlines if h.id == "d-r-robust-accuracy")
    assert {"figure_2", "examples"} == set(result.summary.figures)
    assert result.summary.key_figure == "figure_2"

    client = MlflowClient(tracking_uri)
    parent = client.get_run(result.run_id)
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.`{PARENT}` = '{result.run_id}'")
    assert len(children) == 6
    metrics = {c.data.tags.get("mlflow.runName", ""): c.data.metrics for c in children}
    rand = next(m for name, m in metrics.items() if "D_rand" in name)
    assert {"clean_accuracy", "robust_accuracy_ci_low", "attack_success",
            "construction_gradients_min", "evaluation_gradients"} <= set(rand)
    assert parent.data.tags["transfer.theory"] == "Non-robust features"


@pytest.mark.parametrize(("change", "message"), [
    ({"attack": {"name": "pgd", "params": {"target": "random"}}}, r"attack\.params\.target"),
    ({"robust_model": "mlp"}, r"robust_model\.params\.adversarial"),
    ({"model": "knn"}, r"model: 'knn'.*no gradients"),
    ({"attack": "deepfool"}, r"attack: 'deepfool' has no 'target'"),
    ({"sets": ["D", "D"]}, r"sets: .*twice"),
])
def test_config_mistakes_name_the_field(registry, change, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(registry, {"study": "non-robust-features", **change})
