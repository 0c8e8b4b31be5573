"""Adversarial training (``params.adversarial`` of every torch family): it makes a model more
robust to white-box PGD on real data; the FGSM objective is Goodfellow et al.'s, computed here by
hand; examples are crafted in eval mode from input gradients only and stay in the eps-ball; the
settings are checked with the config; an adversarially trained model is an ordinary model whose
per-epoch curves are on its MLflow run. Without the option nothing changes."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from mlflow import MlflowClient
from torch import nn

from transfer import ModelSpec, TorchModel, run_study, train_model
from transfer.contracts.validation import ConfigError, validate_config
from transfer.training.adversarial import AdversarialExamples, AdversarialTraining
from transfer.training.model_cache import ModelCache

PGD_TRAINING = {"method": "pgd", "eps": 0.1, "steps": 5}


def examples_for(registry, digits, net: nn.Module | None = None, **adversarial):
    """A model being trained (its network in train mode) and its adversarial examples."""
    model = registry.create("model", "mlp", hidden=[32], adversarial=adversarial)
    model.input_shape, model.n_classes = digits.input_shape, digits.n_classes
    torch.manual_seed(0)
    model.net = net if net is not None else model.build(digits.input_shape, digits.n_classes)
    model.net.train()
    settings = AdversarialTraining.model_validate(model.params["adversarial"])
    return AdversarialExamples(settings, model, model.net, digits.bounds, registry), model.net


def pgd_error(registry, model, digits, eps: float = 0.1) -> float:
    x, y = digits.x_test[:300], digits.y_test[:300]
    x_adv = registry.create("attack", "pgd", steps=10)(model, x, y, eps, bounds=digits.bounds,
                                                       seed=1).x_adv
    return (model.predict(x_adv) != y).float().mean().item()


def test_pgd_training_lowers_white_box_pgd_error(registry, digits):
    clean = train_model(ModelSpec(name="mlp", params={"hidden": [64], "epochs": 20}), digits,
                        registry=registry, device="cpu")
    robust = train_model(
        ModelSpec(name="mlp", params={"hidden": [64], "epochs": 20,
                                      "adversarial": PGD_TRAINING}),
        digits, registry=registry, device="cpu")
    clean_error, robust_error = pgd_error(registry, clean, digits), pgd_error(registry, robust,
                                                                                digits)
    assert robust_error < clean_error - 0.05, (clean_error, robust_error)
    curves = robust.curves()
    assert len(curves["valid_robust_accuracy"]) == len(curves["valid_loss"]) \
        == robust.measures()["epochs_run"]


def test_without_the_option_the_clean_model_is_unchanged(registry, digits):
    plain = registry.create("model", "mlp", hidden=[32], epochs=3)
    explicit = registry.create("model", "mlp", hidden=[32], epochs=3, adversarial=None)
    assert plain.params == explicit.params and "adversarial" not in plain.params
    assert ModelCache.key("mlp", plain.params, digits, 0) \
        == ModelCache.key("mlp", explicit.params, digits, 0)
    plain.fit(digits, 0)
    explicit.fit(digits, 0)
    for (name, a), b in zip(plain.net.state_dict().items(), explicit.net.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    trained = registry.create("model", "mlp", hidden=[32], epochs=3, adversarial=PGD_TRAINING)
    assert ModelCache.key("mlp", trained.params, digits, 0) \
        != ModelCache.key("mlp", plain.params, digits, 0), "the settings are part of the key"


def test_the_fgsm_objective_is_goodfellows_and_no_parameter_gradient_leaks(registry, digits):
    examples, net = examples_for(registry, digits, method="fgsm", eps=0.1, alpha=0.3)
    x, y = digits.x_train[:32], digits.y_train[:32]
    loss, adversarial = examples.objective(x, y, seed=0)
    assert all(p.grad is None for p in net.parameters()), "crafting accumulated gradients"
    # by hand: x + eps·sign(∇ₓ J) in the bounds, then α·J(x) + (1 − α)·J(x_adv)
    points = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(nn.functional.cross_entropy(net(points), y), points)
    x_adv = (x + 0.1 * gradient.sign()).clamp(*digits.bounds)
    by_hand_adversarial = nn.functional.cross_entropy(net(x_adv), y)
    by_hand = 0.3 * nn.functional.cross_entropy(net(x), y) + 0.7 * by_hand_adversarial
    assert torch.allclose(loss, by_hand, atol=1e-6)
    assert adversarial == pytest.approx(by_hand_adversarial.item(), abs=1e-6)
    # the parameter gradient is that of the objective at fixed x_adv: nothing through crafting
    ours = torch.autograd.grad(loss, list(net.parameters()))
    theirs = torch.autograd.grad(by_hand, list(net.parameters()))
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_fgsm_rs_steps_stay_in_the_ball_and_start_at_random(registry, digits):
    examples, _ = examples_for(registry, digits, method="fgsm-rs", eps=0.1)
    x, y = digits.x_train[:64], digits.y_train[:64]
    x_adv = examples.craft(examples.attack, x, y, seed=3)
    delta = x_adv - x
    assert delta.abs().max() <= 0.1 + 1e-6
    assert x_adv.min() >= digits.bounds[0] and x_adv.max() <= digits.bounds[1]
    inside = (delta.abs() < 0.099) & (x > 0.1) & (x < 0.9)  # away from the ball and the bounds
    assert inside.any(), "a 1.25·eps step from a random start ends inside the ball somewhere"
    assert not torch.equal(x_adv, examples.craft(examples.attack, x, y, seed=4))


def test_examples_are_crafted_in_eval_mode(registry, digits):
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.Dropout(0.5), nn.ReLU(),
                        nn.Linear(64, 10))
    examples, _ = examples_for(registry, digits, net, method="fgsm", eps=0.1)
    x, y = digits.x_train[:64], digits.y_train[:64]
    first = examples.craft(examples.attack, x, y, seed=0)
    assert net.training, "training resumes in train mode"
    assert torch.equal(first, examples.craft(examples.attack, x, y, seed=0)), \
        "dropout was active while crafting"


def test_the_settings_are_checked_with_the_config(registry):
    def config(adversarial):
        return {"study": "transfer-matrix", "attacks": ["fgsm"], "eps": [0.1],
                "models": [{"name": "mlp", "params": {"adversarial": adversarial}}]}

    with pytest.raises(ConfigError, match=r"models\.0\.params\.adversarial\.method.*'fgsm-rs'"):
        validate_config(registry, config({"method": "pgdd", "eps": 0.1}))
    with pytest.raises(ConfigError, match="needs eps"):
        validate_config(registry, config({"method": "pgd"}))
    with pytest.raises(ConfigError, match=r"adversarial\.attack\.name.*Did you mean: pgd"):
        validate_config(registry, config({"method": "pgd", "eps": 0.1, "attack": "pgx"}))
    validate_config(registry, config({"method": "pgd", "eps": 0.1,
                                      "attack": {"name": "bim", "params": {"steps": 3}}}))


def test_an_adversarially_trained_model_is_a_source_with_its_curves_logged(tracking_uri):
    robust = {"name": "mlp", "label": "mlp-pgd",
              "params": {"hidden": [32], "epochs": 8, "adversarial": PGD_TRAINING}}
    config = {"study": "transfer-matrix", "models": [
        {"name": "mlp", "params": {"hidden": [32], "epochs": 8}}, robust],
        "attacks": ["fgsm"], "eps": [0.1], "n_points": 40}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("transfer-models")
    runs = client.search_runs([experiment.experiment_id],
                              filter_string="params.`param.adversarial` != ''")
    trained = [r for r in runs if "pgd" in r.data.params.get("param.adversarial", "")]
    assert len(trained) == 2, "a source and a target (disjoint halves of the training set)"
    for run in trained:
        history = client.get_metric_history(run.info.run_id, "valid_robust_accuracy")
        epochs = int(run.data.metrics["epochs_run"])
        assert sorted(m.step for m in history) == list(range(1, epochs + 1))
        assert run.data.metrics["kept_robust_accuracy"] in [m.value for m in history]

def test_catastrophic_overfitting_is_a_collapse_of_held_out_robust_accuracy(registry):
    model = registry.create("model", "mlp", adversarial={"method": "fgsm-rs", "eps": 0.3})
    model.history = {"valid_loss": [1.0] * 4, "valid_robust_accuracy": [0.1, 0.5, 0.2, 0.1]}
    model._best_epoch = 2
    assert model.measures()["catastrophic_overfitting"] == 1.0
    assert model.measures()["kept_robust_accuracy"] == 0.5
    model.history["valid_robust_accuracy"] = [0.1, 0.5, 0.3, 0.4]
    assert model.measures()["catastrophic_overfitting"] == 0.0


@pytest.mark.parametrize("name", ["cnn", "maxout", "mlp", "rbf-net", "softmax", "timm:resnet18"])
def test_every_torch_family_trains_adversarially(name, registry, digits):
    model = registry.create("model", name, epochs=1,
                            adversarial={"method": "fgsm-rs", "eps": 0.1, "eval_steps": 2})
    assert isinstance(model, TorchModel)
    small = dataclasses.replace(digits, x_train=digits.x_train[:200], y_train=digits.y_train[:200])
    model.fit(small, 0)
    curves = model.curves()
    assert len(curves["valid_robust_accuracy"]) == len(curves["train_adversarial_loss"]) == 1
    assert 0 <= curves["valid_robust_accuracy"][0] <= 1


def test_every_torch_family_is_covered(registry):
    families = {n.replace("*", "resnet18") for n in registry.names("model")
                if n not in ("checkpoint", "skops")}  # the user's files (test_checkpoints.py)
    torch_families = {n for n in families
                      if isinstance(registry.create("model", n), TorchModel)}
    assert torch_families == {"cnn", "maxout", "mlp", "rbf-net", "softmax", "timm:resnet18"}
