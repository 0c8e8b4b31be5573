"""The manifold study: the local tangent plane against NumPy's SVD on a point cloud in a known
plane, DeepFool's tangent share and the tangent-restricted distance against their closed forms on
a binary linear model, and the study end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from transfer import random_basis, run_study, train_model
from transfer.contracts.results import encode
from transfer.studies.manifold import Manifold
from transfer.studies.manifold.config import ManifoldConfig
from transfer.studies.manifold.result import ManifoldResult, median
from transfer.studies.manifold.tangent import (
    energy_share,
    measure,
    plane_distance,
    tangent_planes,
)

from .conftest import assert_claims_evaluated


def _projector(basis: np.ndarray) -> np.ndarray:
    return basis @ basis.T


def test_the_tangent_plane_of_a_cloud_in_a_known_plane_is_that_plane():
    rng = np.random.default_rng(0)
    d, m, k = 12, 3, 25
    plane = np.linalg.qr(rng.standard_normal((d, m)))[0]  # orthonormal columns
    origin = rng.standard_normal(d)
    train = origin + rng.standard_normal((300, m)) @ plane.T * 3 + 1e-7 * rng.standard_normal(
        (300, d))
    normal = np.linalg.qr(np.hstack([plane, rng.standard_normal((d, 1))]))[0][:, m]
    offsets = np.array([0.0, 0.5, 2.0, 0.1])
    x = origin + rng.standard_normal((4, m)) @ plane.T + offsets[:, None] * normal
    planes = tangent_planes(torch.as_tensor(x, dtype=torch.float32).view(4, 3, 4),
                            torch.as_tensor(train).view(300, 3, 4), k, m)
    assert planes.basis.shape == (4, d, m)
    for i in range(len(x)):
        ours = _projector(planes.basis[i].numpy())
        # NumPy: the k nearest training points, centred, their top-m right singular vectors
        xi = torch.as_tensor(x[i], dtype=torch.float32).double().numpy()
        nearest = np.argsort(((train - xi) ** 2).sum(axis=1))[:k]
        centred = train[nearest] - train[nearest].mean(axis=0)
        _, s, vh = np.linalg.svd(centred, full_matrices=False)
        np.testing.assert_allclose(ours, _projector(vh[:m].T), atol=1e-10)
        np.testing.assert_allclose(planes.centre[i].numpy(), train[nearest].mean(axis=0),
                                   atol=1e-12)
        assert planes.explained[i].item() == pytest.approx((s[:m] ** 2).sum() / (s ** 2).sum())
        # ... and it is the plane the cloud was drawn in, up to the noise
        np.testing.assert_allclose(ours, _projector(plane), atol=1e-5)
        assert planes.explained[i].item() > 1 - 1e-10
    # the distance to the affine plane is the offset along the normal (x is float32: 1e-6)
    np.testing.assert_allclose(plane_distance(torch.as_tensor(x), planes).numpy(), offsets,
                               atol=1e-5)
    u = rng.standard_normal((4, d))
    shares = energy_share(planes.basis, torch.as_tensor(u)).numpy()
    expected = [np.sum((_projector(plane) @ v) ** 2) / np.sum(v ** 2) for v in u]
    np.testing.assert_allclose(shares, expected, atol=1e-5)


def test_a_binary_linear_model_has_the_closed_forms(registry, binary):
    model = train_model("logreg", binary, registry=registry, device="cpu")
    x = binary.x_test[:40]
    w = model.estimator.coef_[0].astype(np.float64)
    f = model.estimator.decision_function(x.numpy().astype(np.float64))
    neighbours, m, overshoot = 15, 3, 0.02
    measured = measure(model, x, binary.x_train, neighbours=neighbours, dimension=m,
                       overshoot=overshoot, max_iter=50, generator=torch.Generator().manual_seed(7))
    assert measured.kept.tolist() == list(range(40))  # a linear model: DeepFool fools every point
    planes = tangent_planes(x, binary.x_train, neighbours, m)
    tangent_w = np.einsum("ndm,d->nm", planes.basis.numpy(), w)
    inside = np.linalg.norm(tangent_w, axis=1)  # ‖P_T w‖
    # r* = −(1 + overshoot)·f(x)·w/‖w‖², one step: its share in T is ‖P_T w‖²/‖w‖²
    np.testing.assert_allclose(measured.deepfool_norm.numpy(),
                               (1 + overshoot) * np.abs(f) / np.linalg.norm(w), rtol=1e-4)
    np.testing.assert_allclose(measured.tangent_share.numpy(), inside ** 2 / (w @ w), rtol=1e-5)
    # restricted to T, the boundary's nearest point is |f(x)|/‖P_T w‖ away
    np.testing.assert_allclose(measured.tangent_norm.numpy(),
                               (1 + overshoot) * np.abs(f) / inside, rtol=1e-4)
    # ... and restricted to the random plane S drawn from the same seed, |f(x)|/‖P_S w‖
    random = random_basis(40, len(w), m, torch.Generator().manual_seed(7)).numpy()
    np.testing.assert_allclose(measured.random_norm.numpy(),
                               (1 + overshoot) * np.abs(f)
                               / np.linalg.norm(np.einsum("ndm,d->nm", random, w), axis=1),
                               rtol=1e-4)
    # the distance of x + r* to the affine plane, in NumPy
    r = -(1 + overshoot) * f[:, None] * w / (w @ w)
    offset = x.numpy().astype(np.float64) + r - planes.centre.numpy()
    along = np.einsum("ndm,nm->nd", planes.basis.numpy(),
                      np.einsum("ndm,nd->nm", planes.basis.numpy(), offset))
    np.testing.assert_allclose(measured.adversarial_distance.numpy(),
                               np.linalg.norm(offset - along, axis=1), rtol=1e-4, atol=1e-5)


def test_the_median_counts_a_perturbation_never_found_as_infinite():
    assert median([1.0, 3.0, math.inf]) == 3.0
    assert median([1.0, 2.0, math.inf, math.inf]) == math.inf
    assert median([1.0, 2.0]) == 1.5
    assert math.isnan(median([]))


def test_a_stored_result_with_points_never_flipped_reads_back():
    result = ManifoldResult(
        d=64, dimension=8, neighbours=20, points=3, correct=2, index=[0, 2],
        deepfool_norm=[0.5, 0.7], tangent_share=[0.1, 0.3], tangent_ratio=[2.0, math.inf],
        random_ratio=[math.inf, 3.0], explained=[0.9, 0.8], clean_distance=[1.0, 1.1],
        adversarial_distance=[1.2, 1.3])
    stored = json.loads(json.dumps(encode(result, Manifold.result_format)))  # as MLflow writes
    assert Manifold().decode(stored) == result
    assert (result.no_flip("tangent"), result.no_flip("random")) == (1, 1)
    assert result.metrics()["tangent_ratio_median"] == math.inf
    with pytest.raises(ValidationError, match="different lengths"):
        ManifoldResult.model_validate({**result.model_dump(), "index": [0]})


def test_the_tangent_plane_needs_fewer_dimensions_than_neighbours():
    with pytest.raises(ValidationError, match="dimension"):
        ManifoldConfig.model_validate({"models": ["softmax"], "neighbours": 8, "dimension": 8})


def test_the_study_end_to_end(tracking_uri):
    config = {"study": "manifold", "n_points": 40,
              "models": [{"name": "softmax", "params": {"epochs": 10}},
                         {"name": "mlp", "params": {"hidden": [32], "epochs": 10}}]}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    assert_claims_evaluated(result, Manifold)
    by_model = {c["model"]: r for c, r in result.results.items()}
    assert set(by_model) == {"softmax", "mlp"}
    for cell_result in by_model.values():
        assert (cell_result.d, cell_result.dimension, cell_result.points) == (64, 8, 40)
        assert 30 <= cell_result.fooled <= cell_result.correct <= 40
        shares = np.array(cell_result.tangent_share)
        assert ((shares >= 0) & (shares <= 1 + 1e-9)).all()
        # x + r* lies at most ‖(I − P_T) r*‖ = √(1 − share)·‖r*‖ farther from the plane than x
        norms = np.array(cell_result.deepfool_norm)
        rise = np.array(cell_result.adversarial_distance) - np.array(cell_result.clean_distance)
        assert (np.abs(rise) <= np.sqrt(1 - np.minimum(shares, 1)) * norms + 1e-4).all()
        # a plane holds fewer directions than the whole space: typically a longer way
        for ratios in (cell_result.tangent_ratio, cell_result.random_ratio):
            assert median(ratios) > 1
        assert cell_result.metrics()["expected_share"] == 8 / 64
    assert {"restricted_ratios", "tangent_share"} <= set(result.summary.figures)
    assert result.summary.key_figure == "restricted_ratios"
    assert result.summary.tables["manifold"].columns["model"] == ["softmax", "mlp"]
