"""The oscillation study: 1-NN flip distances against closed forms and brute-force bounds on a
small plane, interpolation and label noise recomputed with scikit-learn, the noise-to-class
distance of a two-class linear model against its closed form, the label-noise-0 control (its
cells, its training labels, its test against scipy and an exact enumeration), and the study end
to end."""

from __future__ import annotations

import hashlib
import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import rankdata, wilcoxon
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from transfer import Cell, Dataset, ModelSpec, evaluation_points, run_study, train_model
from transfer.contracts.validation import ConfigError, validate_config
from transfer.studies.oscillation import Oscillation
from transfer.studies.oscillation.claims import control_test, errors_dense
from transfer.studies.oscillation.config import OscillationConfig
from transfer.studies.oscillation.data import noisy_labels, training_set
from transfer.studies.oscillation.distances import Search, error_distance, reach_distance

from .claim_cases.oscillation import CONTROL_CASES
from .claim_cases.oscillation import cell as constructed_cell
from .conftest import assert_claims_evaluated


def plane(n_train: int = 60, n_test: int = 40, seed: int = 3) -> Dataset:
    """Random points of the unit square with random labels of three classes."""
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.random((n_train + n_test, 2)), dtype=torch.float32)
    y = torch.as_tensor(rng.integers(0, 3, n_train + n_test))
    digest = hashlib.sha256(x.numpy().tobytes() + y.numpy().tobytes()).hexdigest()
    return Dataset(name="plane", x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:],
                   y_test=y[n_train:], class_names=("a", "b", "c"), bounds=(0.0, 1.0),
                   spec={"name": "plane", "sha256": digest})


def test_1nn_flip_from_a_training_point_is_half_the_gap_to_its_nearest_neighbour(registry):
    data = plane()
    model = train_model(ModelSpec(name="knn", params={"n_neighbors": 1}), data,
                        registry=registry, device="cpu")
    x, y = data.x_train.numpy().astype(np.float64), data.y_train.numpy()
    found, _, spent = error_distance(model, data.x_train, data, Search(count=3))
    # brute force: each point's nearest other training point, and nearest other-class point
    gap, index = NearestNeighbors(n_neighbors=2).fit(x).kneighbors(x)
    other = np.array([np.min(np.linalg.norm(x[y != y[i]] - x[i], axis=1))
                      for i in range(len(x))])
    # when the nearest other point s has another class, no point of the plane closer to x
    # than ‖x − s‖/2 can change the label, and the segment to s changes it exactly there
    lonely = y[index[:, 1]] != y
    assert lonely.sum() >= 10
    np.testing.assert_allclose(found.numpy()[lonely], gap[lonely, 1] / 2, rtol=1e-5)
    # for every training point, half the gap to the nearest other-class point is a lower bound
    assert np.all(found.numpy() >= other / 2 * (1 - 1e-5))
    assert spent.queries >= spent.queries_minimum > 0 and spent.gradients == 0


def test_1nn_distance_to_an_error_lies_between_brute_force_bounds(registry):
    data = plane(seed=5)
    model = train_model(ModelSpec(name="knn", params={"n_neighbors": 1}), data,
                        registry=registry, device="cpu")
    found, _, _ = error_distance(model, data.x_test, data, Search(count=2))
    x, train, labels = (data.x_test.numpy().astype(np.float64),
                        data.x_train.numpy().astype(np.float64), data.y_train.numpy())
    predicted = KNeighborsClassifier(n_neighbors=1).fit(train, labels).predict(x)
    same = np.array([np.min(np.linalg.norm(train[labels == c] - p, axis=1))
                     for p, c in zip(x, predicted, strict=True)])
    other = np.array([np.min(np.linalg.norm(train[labels != c] - p, axis=1))
                      for p, c in zip(x, predicted, strict=True)])
    # a move of r keeps the label while d_same + r < d_other − r; the other-class point itself
    # is an error at distance d_other
    assert np.all(found.numpy() >= (other - same) / 2 * (1 - 1e-5))
    assert np.all(found.numpy() <= other * (1 + 1e-5))


def test_label_noise_subsets_and_1nn_interpolation_recomputed_with_sklearn(digits):
    flipped = noisy_labels(digits.y_train, 0.2, 10, seed=4) != digits.y_train
    assert int(flipped.sum()) == round(0.2 * len(digits.y_train))
    small, small_share = training_set(digits, 150, 0.2, seed=4)
    large, large_share = training_set(digits, 600, 0.2, seed=4)
    rows = {r.numpy().tobytes(): int(label) for r, label in zip(large.x_train, large.y_train,
                                                                strict=True)}
    # nested subsets, each point keeping its noisy label
    assert all(rows.get(r.numpy().tobytes()) == int(label)
               for r, label in zip(small.x_train, small.y_train, strict=True))
    clean = {r.numpy().tobytes(): int(label) for r, label in zip(digits.x_train, digits.y_train,
                                                                 strict=True)}
    wrong = np.mean([clean[r.numpy().tobytes()] != int(label)
                     for r, label in zip(large.x_train, large.y_train, strict=True)])
    assert large_share == pytest.approx(wrong)
    assert small.spec != large.spec
    knn = KNeighborsClassifier(n_neighbors=1).fit(large.x_train.flatten(1).numpy(),
                                                  large.y_train.numpy())
    assert knn.score(large.x_train.flatten(1).numpy(), large.y_train.numpy()) == 1.0


@pytest.mark.parametrize("confidence", [0.5, 0.9])
def test_noise_to_class_of_a_two_class_linear_model_is_the_closed_form(registry, binary,
                                                                       confidence):
    model = train_model("logreg", binary, registry=registry, device="cpu")
    z = binary.x_test[:40]
    found, spent = reach_distance(model, z, binary, Search(confidence=confidence))
    w = model.estimator.coef_[0]
    f = model.estimator.decision_function(z.flatten(1).numpy().astype(np.float64))
    kappa = math.log(confidence / (1 - confidence))
    # class 1 needs f ≥ κ, class 0 needs −f ≥ κ: the distance to the half-space
    expected = np.stack([np.maximum(kappa + f, 0), np.maximum(kappa - f, 0)], axis=1) \
        / np.linalg.norm(w)
    np.testing.assert_allclose(found.numpy(), expected, rtol=1e-3, atol=1e-4)
    assert spent.gradients >= spent.gradients_minimum > 0


def test_the_study_end_to_end(tracking_uri, digits):
    config = {"study": "oscillation", "sizes": [100, 300, 5000], "n_points": 40, "n_noise": 8,
              "models": [{"name": "knn", "label": "1-nn", "params": {"n_neighbors": 1}},
                         {"name": "knn", "label": "5-nn", "params": {"n_neighbors": 5}},
                         {"name": "softmax", "params": {"epochs": 5}}]}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    assert_claims_evaluated(result, Oscillation)
    done = {(c["model"], c["size"]): r for c, r in result.results.items()
            if "label_noise" not in c.as_dict()}
    control = {(c["model"], c["size"]): r for c, r in result.results.items()
               if "label_noise" in c.as_dict()}
    assert len(done) == 9 and len(control) == 6  # the control: at 100 and 5000 only
    assert all("sizes: 5000" in cells[(m, 5000)].reason for m in ("1-nn", "5-nn", "softmax")
               for cells in (done, control))
    # the control at 100: the same points with clean labels, a training error recounted on them
    clean, _ = training_set(digits, 100, 0.1, 0, clean=True)
    flat, labels = clean.x_train.flatten(1).numpy(), clean.y_train.numpy()
    for k, label in ((1, "1-nn"), (5, "5-nn")):
        score = KNeighborsClassifier(n_neighbors=k).fit(flat, labels).score(flat, labels)
        assert control[(label, 100)].train_error.rate == pytest.approx(1 - score)
    assert all(control[(m, 100)].label_noise == 0 for m in ("1-nn", "5-nn", "softmax"))
    assert all(done[(m, 100)].label_noise > 0 for m in ("1-nn", "5-nn", "softmax"))
    index = evaluation_points(len(digits.y_test), 40, 0)
    x, y = digits.x_test[index].numpy(), digits.y_test[index].numpy()
    pairs = [np.linalg.norm(x[i] - x[j]) for i in range(len(y)) for j in range(i + 1, len(y))
             if y[i] != y[j]]
    for size in (100, 300):
        subset, _ = training_set(digits, size, 0.1, 0)
        flat, labels = subset.x_train.flatten(1).numpy(), subset.y_train.numpy()
        for k, label in ((1, "1-nn"), (5, "5-nn")):
            cell = done[(label, size)]
            score = KNeighborsClassifier(n_neighbors=k).fit(flat, labels).score(flat, labels)
            assert cell.train_error.rate == pytest.approx(1 - score)
            assert cell.gradients == 0 and cell.by_deepfool == 0
        assert done[("1-nn", size)].interpolates
        for cell in (done[(m, size)] for m in ("1-nn", "5-nn", "softmax")):
            assert cell.scale == pytest.approx(np.quantile(pairs, 0.5, method="lower"),
                                               rel=1e-5)
            assert np.array(cell.reach).shape == (8, 10)
            assert cell.queries >= cell.queries_minimum > 0
            assert cell.gradients >= cell.gradients_minimum
    assert done[("softmax", 300)].gradients > 0
    assert set(result.summary.figures) == {"error_distance", "noise_to_class"}
    assert result.summary.key_figure == "error_distance"


def test_sizes_must_increase(registry):
    config = {"study": "oscillation", "models": ["knn"], "sizes": [200, 100]}
    with pytest.raises(ConfigError, match="sizes"):
        validate_config(registry, config)
    with pytest.raises(ConfigError, match="sizes"):
        validate_config(registry, {**config, "sizes": ["all", 100]})


ONE_NN = {"study": "oscillation", "models": [
    {"name": "knn", "label": "1-nn", "params": {"n_neighbors": 1}},
    {"name": "knn", "label": "15-nn", "params": {"n_neighbors": 15}}]}


def test_the_control_cells_are_planned_at_the_smallest_and_largest_size_only():
    config = OscillationConfig.model_validate({**ONE_NN, "sizes": [100, 200, 400, "all"]})
    plan = Oscillation().plan(config)
    default = [Cell.make("oscillation", model=m, size=s) for m in ("1-nn", "15-nn")
               for s in (100, 200, 400, "all")]
    # the default cells first, with the keys they always had (stored runs resume on them)
    assert plan[:len(default)] == default
    assert Cell.make("oscillation", model="1-nn", size=100).key == "c85e37ee67c91f55"
    assert {(c["model"], c["size"], c["label_noise"]) for c in plan[len(default):]} == {
        (m, s, 0.0) for m in ("1-nn", "15-nn") for s in (100, "all")}
    assert len(plan) == len(default) + 4
    # none when switched off, when the labels carry no noise (they would repeat the default
    # cells), or with a single size
    for settings in ({"control": False}, {"label_noise": 0.0}, {"sizes": [100]}):
        config = OscillationConfig.model_validate({**ONE_NN, **settings})
        assert all("label_noise" not in c.as_dict() for c in Oscillation().plan(config))


def test_the_control_trains_on_the_same_points_with_their_clean_labels(digits):
    truth: dict[bytes, set[int]] = {}
    for row, label in zip(digits.x_train, digits.y_train, strict=True):
        truth.setdefault(row.numpy().tobytes(), set()).add(int(label))
    for size in (150, None):
        noisy, noisy_share = training_set(digits, size, 0.2, seed=4)
        clean, clean_share = training_set(digits, size, 0.2, seed=4, clean=True)
        assert torch.equal(noisy.x_train, clean.x_train)  # the same points, in the same order
        assert all(int(label) in truth[row.numpy().tobytes()]
                   for row, label in zip(clean.x_train, clean.y_train, strict=True))
        assert clean_share == 0 and noisy_share == pytest.approx(0.2, abs=0.03)
        assert int((noisy.y_train != clean.y_train).sum()) == round(noisy_share * len(
            noisy.y_train))
        assert clean.spec["training_subset"]["sha256"] != noisy.spec["training_subset"]["sha256"]


# distances to the nearest error of 14 evaluation points: at the smallest and the largest size
# with noisy labels, then with label noise 0 (nan: misclassified; inf: no error found)
TABLE = np.array([
    [1.00, 0.62, 1.10, 0.90],
    [0.80, 0.61, 0.85, 0.80],
    [1.20, 0.70, 1.15, 1.00],
    [math.nan, 0.50, 0.90, 0.80],
    [0.95, 0.80, 1.00, 0.70],
    [1.40, 0.90, 1.30, 1.12],
    [0.70, 0.52, 0.75, 0.71],
    [1.10, 0.81, 1.05, math.inf],
    [0.90, 0.55, 0.92, 0.83],
    [1.30, 1.05, 1.25, 1.00],
    [1.00, 0.66, math.nan, 0.90],
    [0.85, 0.64, 0.80, 0.74],
    [1.05, 0.59, 1.00, 0.93],
    [0.75, 0.60, 0.70, 0.60],
]).T


def exact_less(d: np.ndarray) -> float:
    """P(W+ ≤ the observed W+) over the 2^n equally likely signs of the ranks of |d|: the exact
    one-sided signed-rank p that d lies below 0 (no zeros, no ties)."""
    ranks = rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    sums = [sum(r for r, up in zip(ranks, signs, strict=True) if up)
            for signs in itertools.product((False, True), repeat=len(d))]
    return float(np.mean(np.array(sums) <= observed))


def test_the_control_test_is_the_signed_rank_test_of_the_log_ratios():
    config = OscillationConfig.model_validate({**ONE_NN, "sizes": [100, "all"]})
    results = {}
    for key, distances in zip(
            [Cell.make("oscillation", model="1-nn", size=s, **extra)
             for extra in ({}, {"label_noise": 0.0}) for s in (100, "all")], TABLE, strict=True):
        made = constructed_cell("knn", 100, 0, interpolates=True, factor=1.0,
                                reached=[50] * 10, config=config)
        results[key] = made.model_copy(update={"error_distance": distances.tolist()})
    kept = np.isfinite(TABLE).all(axis=0)
    noisy = np.log(TABLE[1, kept] / TABLE[0, kept])
    clean = np.log(TABLE[3, kept] / TABLE[2, kept])
    less = wilcoxon(noisy - clean, alternative="less").pvalue
    greater = wilcoxon(noisy - clean, alternative="greater").pvalue
    assert kept.sum() == 11 and less == pytest.approx(exact_less(noisy - clean), rel=1e-9)
    cells_ = [results[c] for c in results]
    found = control_test((cells_[0], cells_[1]), (cells_[2], cells_[3]))
    assert found[:2] == pytest.approx((less, greater), rel=1e-9)
    assert found[2:] == pytest.approx((TABLE[2, kept].mean(), TABLE[3, kept].mean(), 11))
    finding = errors_dense(config, results)
    assert (f"noisy shrinks more: p = {less:.2g}, control shrinks more: p = {greater:.2g} "
            "(11 points)") in finding.evidence
    assert finding.verdict == ("PASS" if less < 0.05 else "INCONCLUSIVE")


@pytest.mark.parametrize("name", sorted(CONTROL_CASES))
def test_the_label_noise_0_control_decides(name):
    verdict, case = CONTROL_CASES[name]
    finding = errors_dense(*case())
    assert finding.verdict == verdict, finding.evidence
    if name.startswith("control not") or name.endswith("missing"):
        assert "no label-noise-0 control" in finding.evidence
