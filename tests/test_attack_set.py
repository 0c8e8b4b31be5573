"""Exact and behavioural checks of MI-FGSM, targeted attacks, DeepFool, the tree attack and
HopSkipJump."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transfer import ModelSpec, model_traits, train_model


@pytest.fixture(scope="module")
def trained(registry, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("attack-set-models"))

    def get(name, dataset, **params):
        return train_model(ModelSpec(name=name, params=params), dataset, registry=registry,
                           cache_dir=cache, device="cpu")

    return get


def test_deepfool_on_a_binary_linear_model_is_one_closed_form_step(registry, binary, trained):
    """r* = −f(x)·w/‖w‖² times (1 + overshoot) (Moosavi-Dezfooli et al. 2016, eq. 3)."""
    model = trained("logreg", binary)
    w = model.estimator.coef_[0]
    x = binary.x_test
    attack = registry.create("attack", "deepfool", clip=False, overshoot=0.02)
    result = attack(model, x, binary.y_test, float("inf"), bounds=binary.bounds)
    x_adv = result.x_adv
    f = model.estimator.decision_function(x.numpy().astype(np.float64))
    expected = -1.02 * f[:, None] * w[None, :] / (w @ w)
    np.testing.assert_allclose((x_adv - x).numpy(), expected, rtol=1e-3, atol=1e-5)
    assert result.measures["iterations_mean"] == 1.0
    flipped = model.estimator.predict(x_adv.numpy()) != model.estimator.predict(x.numpy())
    assert flipped.all()


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_deepfool_fools_every_correct_point_of_an_mlp(norm, registry, digits, trained):
    model = trained("mlp", digits, epochs=10)
    x, y = digits.x_test, digits.y_test
    correct = model.predict(x) == y
    attack = registry.create("attack", "deepfool", norm=norm)
    x_adv = attack(model, x, y, float("inf"), bounds=digits.bounds).x_adv
    assert (model.predict(x_adv)[correct] != y[correct]).float().mean() >= 0.99


def test_mifgsm_without_momentum_is_bim(registry, digits, trained):
    model = trained("mlp", digits, epochs=5)
    x, y, eps = digits.x_test[:100], digits.y_test[:100], 0.1
    mi = registry.create("attack", "mifgsm", steps=5, decay=0.0)(model, x, y, eps, bounds=(0, 1))
    bim = registry.create("attack", "bim", steps=5, alpha=eps / 5)(model, x, y, eps, bounds=(0, 1))
    assert torch.allclose(mi.x_adv, bim.x_adv, atol=1e-6)


@pytest.mark.parametrize("name", ["fgsm", "pgd", "mifgsm"])
def test_targeted_attacks_reach_their_targets(name, registry, digits, trained):
    model = trained("softmax", digits, epochs=10)
    x, y = digits.x_test[:200], digits.y_test[:200]
    for rule in ("random", "least-likely"):
        attack = registry.create("attack", name, target=rule)
        targets = attack.chosen_targets(model, x, y, seed=5)
        assert (targets != y).all()
        assert torch.equal(targets, attack.chosen_targets(model, x, y, seed=5))
        result = attack(model, x, y, 0.3, bounds=(0, 1), seed=5)
        assert torch.equal(result.targets, targets)
        hit = (model.predict(result.x_adv) == targets).float().mean()
        untargeted = registry.create("attack", name)(model, x, y, 0.3, bounds=(0, 1), seed=5)
        assert untargeted.targets is None
        by_chance = (model.predict(untargeted.x_adv) == targets).float().mean()
        assert hit > 0.5 and hit > by_chance, (rule, hit, by_chance)


def test_tree_attack_flips_a_tree(registry, digits, trained):
    tree = trained("decision-tree", digits)
    x, y = digits.x_test, digits.y_test
    for norm in ("l2", "linf"):
        x_adv = registry.create("attack", "tree", norm=norm)(tree, x, y, 1.0, bounds=(0, 1)).x_adv
        assert (tree.predict(x_adv) != y).float().mean() >= 0.9
    forest = model_traits(registry, ModelSpec(name="random-forest"))
    reason = registry.create("attack", "tree").supports(forest)
    assert reason and "tree" in reason


@pytest.mark.parametrize("name", ["decision-tree", "knn"])
def test_hopskipjump_attacks_from_labels_within_its_budget(name, registry, digits, trained):
    model = trained(name, digits)
    x, y = digits.x_test[:60], digits.y_test[:60]
    attack = registry.create("attack", "hopskipjump", max_queries=600)
    result = attack(model, x, y, 3.0, bounds=digits.bounds, seed=1)
    assert (model.predict(result.x_adv) != y).float().mean() >= 0.9
    assert 0 < result.measures["queries_mean"] and result.measures["queries_max"] <= 600
    again = registry.create("attack", "hopskipjump", max_queries=600)
    assert torch.equal(again(model, x, y, 3.0, bounds=digits.bounds, seed=1).x_adv, result.x_adv)


def test_deepfool_with_top_candidate_classes(registry, digits, trained):
    """Keeping the top-k classes of the clean logits (the paper's ImageNet setting): with k at
    least the number of classes it is the full algorithm, bit for bit; with k = 3 it still fools
    the points, with perturbations no smaller on average than the full search's (it sees fewer
    boundaries, so it cannot do much better)."""
    model = trained("mlp", digits, epochs=10)
    x, y = digits.x_test[:200], digits.y_test[:200]
    correct = model.predict(x) == y
    full = registry.create("attack", "deepfool")(model, x, y, float("inf"), bounds=(0, 1))
    every = registry.create("attack", "deepfool", candidates=10)(model, x, y, float("inf"),
                                                                bounds=(0, 1))
    assert torch.equal(full.x_adv, every.x_adv)
    top3 = registry.create("attack", "deepfool", candidates=3)(model, x, y, float("inf"),
                                                              bounds=(0, 1))
    assert (model.predict(top3.x_adv)[correct] != y[correct]).float().mean() >= 0.99
    size = {name: (r.x_adv - x)[correct].flatten(1).norm(dim=1).mean().item()
            for name, r in (("full", full), ("top3", top3))}
    assert size["top3"] >= size["full"] * 0.99, size
