"""Attacks on the decision-only models' structure (forest, neighbors): every built-in family is a
source in the default transfer matrix; the attacks stay in the eps-ball and the bounds, flip most
of a digits model's correct points at a stated budget, and find the flips a brute-force search
finds on tiny 2-D problems (a 3-tree forest, kNN on 20 points)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from transfer import ModelSpec, evaluation_points, model_traits, train_model
from transfer.cli.config_files import read_default_config
from transfer.contracts.specs import AttackSpec


def _default_attacks(registry) -> list:
    config = read_default_config(registry.get("study", "transfer-matrix"), [])
    return [registry.create("attack", spec["name"], **spec.get("params", {}))
            for spec in (a if isinstance(a, dict) else {"name": a} for a in config["attacks"])
            if spec["name"] != "noise"]


def _needs_a_file(factory) -> bool:
    """A family of the user's own files (``skops``): it cannot be in a default config."""
    import inspect

    required = [p.name for p in inspect.signature(factory).parameters.values()
                if p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    return any(name in getattr(factory, "loaded_from", ()) for name in required)


def test_every_built_in_family_is_a_source_in_the_default_matrix(registry):
    """For every model family the suite ships, an attack of the default matrix (the noise
    control aside) can use it as a source; and the default models are all sources."""
    attacks = _default_attacks(registry)
    families = [e.name for e in registry if e.kind == "model"
                and e.plugin.startswith("transfer.plugins.") and not _needs_a_file(e.factory)]
    assert {"decision-tree", "random-forest", "knn", "mlp", "rbf-svm"} <= set(families)
    for family in families:
        name = family.replace("*", "resnet18")  # timm:* stands for any timm architecture
        traits = model_traits(registry, ModelSpec(name=name))
        reasons = [attack.supports(traits) for attack in attacks]
        assert None in reasons, f"{family} is no source in the default matrix: {reasons}"
    config = read_default_config(registry.get("study", "transfer-matrix"), [])
    assert {m["name"] if isinstance(m, dict) else m for m in config["models"]} >= {
        "decision-tree", "random-forest", "knn"}
    assert AttackSpec.model_validate(config["attacks"][-1]).name == "noise"


@pytest.fixture(scope="module")
def digits_points(digits):
    index = evaluation_points(len(digits.y_test), 300, 0)
    return digits.x_test[index], digits.y_test[index]


@pytest.mark.parametrize(("family", "attack", "eps"), [
    ("random-forest", "forest", 0.2), ("knn", "neighbors", 0.2)])
def test_a_structure_attack_flips_most_correct_digits(family, attack, eps, registry, digits,
                                                      digits_points):
    model = train_model(family, digits.half("a", 0), registry=registry, device="cpu")
    x, y = digits_points
    right = model.predict(x) == y
    crafted = registry.create("attack", attack)(model, x, y, eps, bounds=digits.bounds)
    delta = (crafted.x_adv - x).flatten(1)
    assert delta.abs().amax().item() <= eps + 1e-6
    assert crafted.x_adv.min() >= 0 and crafted.x_adv.max() <= 1
    assert torch.equal(crafted.x_adv[~right], x[~right]), "misclassified points are left alone"
    fooled = (model.predict(crafted.x_adv) != y) & right
    assert fooled.sum() > right.sum() / 2, f"{attack} flips {fooled.sum()} of {right.sum()}"


def _flippable(predict, x: np.ndarray, label: int, eps: float, cuts: list[np.ndarray]) -> bool:
    """Brute force in 2-D: does some point of the L-inf eps-box around x get another label?
    The model is constant between consecutive cuts of each axis, so one point per cell (and
    every cut itself) covers the box."""
    axes = []
    for d in range(2):
        low, high = x[d] - eps, x[d] + eps
        inner = cuts[d][(cuts[d] > low) & (cuts[d] < high)]
        edges = np.unique(np.concatenate([[low, high], inner]))
        axes.append(np.unique(np.concatenate([edges, (edges[1:] + edges[:-1]) / 2,
                                              np.nextafter(inner, np.inf)])))
    grid = np.array(list(itertools.product(*axes)), dtype=np.float32)
    return bool((predict(grid) != label).any())


def _tiny(registry):
    data = registry.create("dataset", "gaussian", dim=2, n_classes=3, n_samples=120,
                           separation=1.5)
    index = evaluation_points(len(data.y_test), 25, 0)
    return data, data.x_test[index], data.y_test[index]


def test_the_forest_attack_finds_the_flips_brute_force_finds(registry):
    data, x, y = _tiny(registry)
    model = train_model(ModelSpec(name="random-forest", params={"n_estimators": 3,
                                                                "max_depth": 3}),
                        data, registry=registry, device="cpu")
    trees = model.estimator.estimators_
    cuts = [np.unique(np.concatenate([t.tree_.threshold[t.tree_.feature == d] for t in trees]))
            for d in range(2)]
    crafted = registry.create("attack", "forest", classes=2)(model, x, y, 0.6,
                                                             bounds=data.bounds).x_adv
    right = (model.predict(x) == y).numpy()
    found = (model.predict(crafted) != y).numpy() & right
    predict = model.estimator.predict
    exists = np.array([r and _flippable(predict, p, label, 0.6, cuts)
                       for p, label, r in zip(x.numpy(), y.numpy(), right, strict=True)])
    assert exists.sum() >= 5, "the tiny problem has flips to find"
    assert not (found & ~exists).any(), "a flip brute force rules out"
    assert found.sum() >= 0.8 * exists.sum(), (found.sum(), exists.sum())


def test_the_neighbors_attack_finds_the_flips_brute_force_finds(registry):
    data, x, y = _tiny(registry)
    few = dataclasses.replace(data, x_train=data.x_train[:20], y_train=data.y_train[:20],
                              spec={**data.spec, "train_points": 20})
    model = train_model(ModelSpec(name="knn", params={"n_neighbors": 3}), few,
                        registry=registry, device="cpu")
    assert model.estimator.n_samples_fit_ == 20
    crafted = registry.create("attack", "neighbors")(model, x, y, 0.5, bounds=data.bounds).x_adv
    right = (model.predict(x) == y).numpy()
    found = (model.predict(crafted) != y).numpy() & right
    fine = [np.linspace(-1, 1, 401)] * 2  # kNN regions are not boxes: a fine grid instead
    predict = model.estimator.predict
    exists = np.array([r and _flippable(predict, p, label, 0.5, [c * 0.5 + p[d] for d, c in
                                                                  enumerate(fine)])
                       for p, label, r in zip(x.numpy(), y.numpy(), right, strict=True)])
    assert exists.sum() >= 5, "the tiny problem has flips to find"
    assert found.sum() >= 0.8 * exists.sum(), (found.sum(), exists.sum())


def test_the_forest_attack_walks_every_tree_to_the_leaf_scikit_learn_finds():
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    from transfer.plugins.attacks.forest import Leaves

    features, labels = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(features / 16, labels)
    points = np.random.default_rng(0).uniform(0, 1, (50, 64))
    tree = forest.estimators_[0].tree_  # points exactly on a split go left, as in scikit-learn
    points[:, tree.feature[0]] = tree.threshold[0]
    leaves = Leaves(forest, 64, None)
    rows = leaves.rows(torch.as_tensor(points, dtype=torch.float32)).numpy()
    leaf = leaves.row_of_node >= 0
    node_of_row = np.flatnonzero(leaf)[np.argsort(leaves.row_of_node[leaf])]
    expected = forest.apply(points.astype(np.float32)) + leaves.roots
    assert (node_of_row[rows] == expected).all()


def test_leaf_boxes_compared_along_their_splits_match_every_feature_compared():
    """``Boxes.fit`` compares a leaf with a point's box only along the leaf's splits; the full
    comparison over every feature (the definition) gives the same answers, to the bit."""
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    from transfer.plugins.attacks.forest import Boxes, Leaves

    features, labels = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(features / 16, labels)
    leaves = Leaves(forest, 64, (0.0, 1.0))
    rng = np.random.default_rng(0)
    z = torch.as_tensor(rng.uniform(0, 1, (12, 64)), dtype=torch.float32)
    width = torch.as_tensor(rng.uniform(0, 0.4, (12, 64)), dtype=torch.float32)
    low, high = (z - width).clamp(min=0), (z + width).clamp(max=1)
    high[0, 39] = low[0, 39] - 0.1  # an empty box (along a feature no tree splits on)
    z[1] = high[1] + 0.05  # a point outside its own box (both must still agree)
    rows = torch.arange(len(leaves.label))
    meets, gap = Boxes(leaves, rows).fit(low, high, z)
    box_low = torch.maximum(leaves.low[None], low[:, None])
    box_high = torch.minimum(leaves.high[None], high[:, None])
    assert torch.equal(meets, (box_low <= box_high).all(dim=2))
    assert torch.equal(gap, torch.maximum(box_low - z[:, None], z[:, None] - box_high).amax(dim=2))
    assert meets.any() and not meets[0].any()
