"""Every registered attack stays in its eps-ball and the bounds; exact checks on linear models."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from transfer import ModelSpec, load_registry, model_traits, train_model

ATTACKS = load_registry().names("attack")


@pytest.fixture(scope="module")
def trained(registry, digits, binary, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("attack-models"))

    def get(name, dataset, **params):
        return train_model(ModelSpec(name=name, params=params), dataset, registry=registry,
                           cache_dir=cache, device="cpu")

    return get


def _norms(factory):
    return ["linf", "l2"] if "norm" in inspect.signature(factory).parameters else [None]


CASES = [(a, n) for a in ATTACKS for n in _norms(load_registry().get("attack", a))]


@pytest.mark.parametrize("name,norm", CASES)
@pytest.mark.parametrize("eps", [0.05, 0.3])
def test_every_attack_stays_in_ball_and_bounds(name, norm, eps, registry, digits, trained):
    params = {"norm": norm} if norm else {}
    attack = registry.create("attack", name, **params)
    family = next(f for f in ("mlp", "decision-tree", "random-forest", "knn")
                  if attack.supports(model_traits(registry, ModelSpec(name=f))) is None)
    model = trained(family, digits, **({"epochs": 5} if family == "mlp" else
                                       {"n_estimators": 10} if family == "random-forest" else {}))
    x, y = digits.x_test[:64], digits.y_test[:64]
    if attack.learns:  # a universal perturbation learns from training points first
        attack.learn(model, digits.x_train[:100], digits.y_train[:100], eps,
                     bounds=digits.bounds, seed=3)
    x_adv = attack(model, x, y, eps, bounds=digits.bounds, seed=3).x_adv
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and not x_adv.requires_grad
    delta = (x_adv - x).flatten(1)
    size = delta.abs().amax(1) if attack.norm == "linf" else delta.norm(dim=1)
    assert (size <= eps * (1 + 1e-5) + 1e-6).all(), size.max()
    assert x_adv.min() >= digits.bounds[0] and x_adv.max() <= digits.bounds[1]
    again = attack(model, x, y, eps, bounds=digits.bounds, seed=3).x_adv
    assert torch.equal(x_adv, again), "the same seed must give the same adversarial batch"
    parameters = model.net.parameters() if hasattr(model, "net") else []
    assert all(p.grad is None for p in parameters), "attacks must not touch dL/dθ"


def test_a_gradient_attack_explains_why_a_tree_is_not_a_source(registry):
    tree = model_traits(registry, ModelSpec(name="decision-tree"))
    reason = registry.create("attack", "fgsm").supports(tree)
    assert reason and "gradients" in reason
    assert registry.create("attack", "noise").supports(tree) is None


def test_fgsm_moves_a_binary_linear_logit_by_exactly_eps_l1(registry, binary, trained):
    """f(x) = wᵀx + b: FGSM changes f by −y·eps·‖w‖₁ (Goodfellow et al. 2014 §3), no clipping."""
    model = trained("logreg", binary)
    w = model.estimator.coef_[0]
    x, y = binary.x_test, binary.y_test
    eps = 0.25
    x_adv = registry.create("attack", "fgsm", clip=False)(model, x, y, eps,
                                                          bounds=binary.bounds).x_adv
    f = model.estimator.decision_function
    change = f(x_adv.numpy().astype(np.float64)) - f(x.numpy().astype(np.float64))
    sign = np.where(y.numpy() == 1, 1.0, -1.0)
    np.testing.assert_allclose(change, -sign * eps * np.abs(w).sum(), rtol=1e-4)


def test_fgsm_moves_multiclass_gaps_as_the_closed_form(registry, digits, trained):
    """Softmax regression: the gap z_y − z_j moves by eps·(w_y − w_j)ᵀsign(g), g = Wᵀ(p − e_y)."""
    model = trained("softmax", digits, epochs=10)
    linear = model.net[1]
    W = linear.weight.double().numpy()
    b = linear.bias.double().numpy()
    x, y = digits.x_test[:50], digits.y_test[:50].numpy()
    flat = x.flatten(1).double().numpy()
    z = flat @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g = (p - np.eye(10)[y]) @ W
    eps = 0.1
    x_adv = registry.create("attack", "fgsm", clip=False)(model, x, torch.as_tensor(y), eps,
                                                          bounds=digits.bounds).x_adv
    z_adv = x_adv.flatten(1).double().numpy() @ W.T + b
    rows = np.arange(len(y))
    gap = z[rows, y][:, None] - z
    gap_adv = z_adv[rows, y][:, None] - z_adv
    expected = -eps * (W[y] @ np.sign(g).T).diagonal()[:, None] + eps * np.sign(g) @ W.T
    np.testing.assert_allclose(gap - gap_adv, expected, atol=1e-4)
    assert (np.abs(gap - gap_adv) <= eps * np.abs(W[y][:, None, :] - W[None]).sum(-1) + 1e-4).all()


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_one_step_pgd_is_fgsm(norm, registry, digits, trained):
    model = trained("mlp", digits, epochs=5)
    x, y, eps = digits.x_test[:100], digits.y_test[:100], 0.2
    fgsm = registry.create("attack", "fgsm", norm=norm)(model, x, y, eps, bounds=digits.bounds)
    pgd = registry.create("attack", "pgd", norm=norm, steps=1, alpha=eps, random_start=False)
    assert torch.equal(pgd(model, x, y, eps, bounds=digits.bounds).x_adv, fgsm.x_adv)


def test_pgd_is_at_least_as_strong_as_fgsm(registry, digits, trained):
    model = trained("mlp", digits, epochs=5)
    x, y, eps = digits.x_test, digits.y_test, 0.1
    fooled = {}
    for name in ("fgsm", "pgd"):
        x_adv = registry.create("attack", name)(model, x, y, eps, bounds=digits.bounds).x_adv
        fooled[name] = (model.predict(x_adv) != y).float().mean().item()
    assert fooled["pgd"] >= fooled["fgsm"]


def test_noise_flavours_and_norms(registry, digits, trained):
    model = trained("knn", digits)
    x, y = digits.x_test[:30] * 0 + 0.5, digits.y_test[:30]
    sign = registry.create("attack", "noise")(model, x, y, 0.1, bounds=digits.bounds, seed=1).x_adv
    assert torch.allclose((sign - x).abs(), torch.full_like(x, 0.1))
    l2 = registry.create("attack", "noise", norm="l2", distribution="gaussian")
    delta = l2(model, x, y, 0.1, bounds=digits.bounds, seed=1).x_adv - x
    assert torch.allclose(delta.flatten(1).norm(dim=1), torch.full((30,), 0.1), atol=1e-6)
    other = registry.create("attack", "noise")(model, x, y, 0.1, bounds=digits.bounds, seed=2)
    assert not torch.equal(sign, other.x_adv)
    with pytest.raises(ValueError, match="sign, uniform, gaussian"):
        registry.create("attack", "noise", distribution="laplace")


def test_target_dataset_aims_each_point_at_its_own_target_in_every_chunk(
        registry, digits, trained, monkeypatch):
    """``target = "dataset"``: the caller's per-point targets, chunked with the points; the
    attack's loss steps towards them (the model's target logit grows on average)."""
    model = trained("softmax", digits, epochs=10)
    x, y = digits.x_test[:40], digits.y_test[:40]
    targets = (y + 3).remainder(10)
    monkeypatch.setenv("TRANSFER_CHUNK", "16")  # three chunks: 16, 16, 8
    attack = registry.create("attack", "pgd", target="dataset", steps=5)
    result = attack.with_targets(model, x, y, 0.2, bounds=digits.bounds, targets=targets)
    assert torch.equal(result.targets, targets)
    with torch.no_grad():
        gain = (model.logits(result.x_adv) - model.logits(x)).gather(1, targets[:, None])
    assert gain.mean() > 0
    with pytest.raises(ValueError, match="targeted_label"):
        attack(model, x, y, 0.2, bounds=digits.bounds)
    # the other rules ignore targets
    untargeted = registry.create("attack", "pgd", steps=5)
    assert untargeted.with_targets(model, x, y, 0.2, bounds=digits.bounds,
                                   targets=targets).targets is None
