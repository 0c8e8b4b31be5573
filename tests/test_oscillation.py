"""The oscillation study: 1-NN flip distances against closed forms and brute-force bounds on a
small plane, interpolation and label noise recomputed with scikit-learn, the noise-to-class
distance of a two-class linear model against its closed form, and the study end to end."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from transfer import Dataset, ModelSpec, evaluation_points, run_study, train_model
from transfer.contracts.validation import ConfigError, validate_config
from transfer.studies.oscillation import Oscillation
from transfer.studies.oscillation.data import noisy_labels, training_set
from transfer.studies.oscillation.distances import Search, error_distance, reach_distance

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
    done = {(c["model"], c["size"]): r for c, r in result.results.items()}
    assert len(done) == 9
    assert all("sizes: 5000" in done[(m, 5000)].reason for m in ("1-nn", "5-nn", "softmax"))
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
