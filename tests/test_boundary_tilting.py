"""The boundary-tilting study: the deviation angle and the distances against independent
computations (scikit-learn's own coefficients and decision function, NumPy's arccos, a bisection
on the nearest-centroid rule itself), the reading of a linear model's hyperplane through its
torch module, the refusal of a non-linear model, and the study end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from transfer import ModelSpec, run_study, train_model
from transfer.contracts.validation import ConfigError, validate_config
from transfer.studies.boundary_tilting import BoundaryTilting
from transfer.studies.boundary_tilting.tilt import (
    affine_weights,
    angle_degrees,
    boundary_distance,
    class_means,
    flat,
    nearest_centroid,
    two_classes,
)

from .conftest import assert_claims_evaluated


@pytest.fixture(scope="module")
def pair(digits):
    return two_classes(digits, [3, 7])


def test_two_classes_keeps_the_pair_and_relabels_it(digits, pair):
    for part in ("train", "test"):
        labels = getattr(digits, f"y_{part}")
        keep = (labels == 3) | (labels == 7)
        assert torch.equal(getattr(pair, f"x_{part}"), getattr(digits, f"x_{part}")[keep])
        assert torch.equal(getattr(pair, f"y_{part}"), (labels[keep] == 7).long())
    assert pair.class_names == ("3", "7") and pair.n_classes == 2
    assert pair.spec == {**digits.spec, "binary_classes": [3, 7]}
    with pytest.raises(ValueError, match="not a class"):
        two_classes(digits, [3, 12])


@pytest.mark.parametrize("C", [0.001, 100.0])
def test_theta_and_the_distance_are_scikit_learns(digits, pair, registry, C):
    model = train_model(ModelSpec(name="logreg", params={"C": C}), pair, registry=registry,
                        device="cpu")
    x = flat(pair.x_test)
    w, b = affine_weights(model, pair.input_shape, x)
    # independently: scikit-learn's coefficients, the class means of the original labels
    coef = model.estimator.coef_[0].astype(np.float64)
    train = digits.x_train.flatten(1).double().numpy()
    labels = digits.y_train.numpy()
    direction = train[labels == 7].mean(0) - train[labels == 3].mean(0)
    cosine = coef @ direction / (np.linalg.norm(coef) * np.linalg.norm(direction))
    w_nc, _ = nearest_centroid(*class_means(flat(pair.x_train), pair.y_train.numpy()))
    assert angle_degrees(w, w_nc) == pytest.approx(np.degrees(np.arccos(cosine)), abs=1e-6)
    decision = model.estimator.decision_function(pair.x_test.flatten(1).numpy())
    np.testing.assert_allclose(boundary_distance(x, w, b),
                               np.abs(decision) / np.linalg.norm(coef), rtol=1e-5)
    # a fresh scikit-learn fit on the same points gives the same hyperplane
    fresh = LogisticRegression(C=C, max_iter=2000, random_state=0).fit(
        pair.x_train.flatten(1).numpy(), pair.y_train.numpy())
    np.testing.assert_allclose(w, fresh.coef_[0], rtol=1e-6)


def test_the_nearest_centroid_distance_is_a_bisection_on_the_centroid_rule(pair):
    x = flat(pair.x_test[:25])
    mu0, mu1 = class_means(flat(pair.x_train), pair.y_train.numpy())
    w_nc, b_nc = nearest_centroid(mu0, mu1)

    def nearer_to_mu1(point: np.ndarray) -> bool:  # the rule itself, not the hyperplane
        return bool(np.linalg.norm(point - mu1) < np.linalg.norm(point - mu0))

    unit = w_nc / np.linalg.norm(w_nc)
    found = []
    for point in x:
        side = nearer_to_mu1(point)
        step = -unit if side else unit  # towards the other centroid's side
        low, high = 0.0, 1.0
        while nearer_to_mu1(point + high * step) == side:
            high *= 2
        for _ in range(80):
            middle = (low + high) / 2
            low, high = (middle, high) if nearer_to_mu1(point + middle * step) == side \
                else (low, middle)
        found.append((low + high) / 2)
    np.testing.assert_allclose(boundary_distance(x, w_nc, b_nc), found, rtol=1e-9, atol=1e-12)


def test_angles_of_known_vectors():
    assert angle_degrees(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(90)
    assert angle_degrees(np.array([1.0, 1.0]), np.array([2.0, 0.0])) == pytest.approx(45)
    assert angle_degrees(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(0, abs=1e-12)
    assert angle_degrees(np.array([1.0, 0.0]), np.array([-1.0, 1e-9])) == pytest.approx(
        180 - np.degrees(1e-9), abs=1e-12)


def test_a_torch_linear_model_is_read_through_its_module_and_a_network_is_refused(
        pair, registry):
    x = flat(pair.x_test)
    softmax = train_model(ModelSpec(name="softmax", params={"epochs": 5}), pair,
                          registry=registry, device="cpu")
    w, b = affine_weights(softmax, pair.input_shape, x)
    layer = softmax.torch_module[1]
    weight, bias = layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()
    np.testing.assert_allclose(w, weight[1] - weight[0], rtol=1e-6, atol=1e-9)
    assert b == pytest.approx(bias[1] - bias[0], rel=1e-6)
    mlp = train_model(ModelSpec(name="mlp", params={"hidden": [16], "epochs": 5}), pair,
                      registry=registry, device="cpu")
    reason = affine_weights(mlp, pair.input_shape, x)
    assert isinstance(reason, str) and "not linear" in reason
    knn = train_model("knn", pair, registry=registry, device="cpu")
    assert "neither" in affine_weights(knn, pair.input_shape, x)


def test_the_config_is_checked(registry):
    base = {"study": "boundary-tilting"}
    for bad, field in (({"classes": [3, 3]}, "classes"), ({"values": [0.1, 0.0]}, "values"),
                       ({"param": "gamma"}, "param"),
                       ({"model": {"name": "logreg", "params": {"C": 1.0}}}, "model.params.C")):
        with pytest.raises(ConfigError, match=field):
            validate_config(registry, {**base, **bad})


def test_the_study_end_to_end(tracking_uri, registry, digits):
    values = [0.0001, 0.001, 1.0, 100.0]
    config = {"study": "boundary-tilting", "values": values}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    assert_claims_evaluated(result, BoundaryTilting)
    by_value = {c["value"]: r for c, r in result.results.items()}
    assert set(by_value) == set(values)
    done = [by_value[v] for v in values]
    assert all(r.points == done[0].points for r in done)  # the same points in every cell
    data = two_classes(registry.create("dataset", "digits", test_fraction=0.5), [3, 7])
    assert len(done[0].points) == len(data.y_test) > 100
    for r in done:
        model = train_model(ModelSpec(name="logreg", params={"C": r.value}), data,
                            registry=registry, device="cpu")
        np.testing.assert_allclose(r.w, model.estimator.coef_[0], rtol=1e-12)
        predicted = model.predict(data.x_test[r.points]).numpy()
        assert r.correct == (predicted == data.y_test[r.points].numpy()).tolist()
        # a constant classifier (scikit-learn's predictions: one class) is marked, and only it
        assert r.one_class == (len(np.unique(predicted)) == 1)
        assert r.accuracy.count == sum(r.correct) and r.accuracy.n == len(r.points)
        relative = [d for d, ok in zip(r.relative(), r.correct, strict=True) if ok]
        assert r.relative_distance.mean == pytest.approx(np.mean(relative))
        assert 0 <= r.theta <= 90 and math.isfinite(r.theta)
    assert by_value[0.0001].one_class and not by_value[0.001].one_class
    # every claim reads the sweep without the constant classifier, and says so
    for claim, finding in result.claims:
        assert "left out: C = 0.0001" in finding.evidence, claim.id
    kept = next(f for c, f in result.claims if c.id == "accuracy-kept")
    assert "strongest regularisation C = 0.001" in kept.evidence
    assert set(result.summary.figures) == {"tilt", "weights"}
    assert result.summary.key_figure == "tilt"
    assert result.summary.tables["sweep"].columns["C"] == values
