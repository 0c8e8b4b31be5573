"""Universal adversarial perturbations (Moosavi-Dezfooli et al. 2017): one perturbation, learnt on
training points, inside the eps-ball, added unchanged to every test point; it fools the source
far more than random sign noise of the same L-inf norm, and in a transfer matrix its fooling rate
across targets and its image are logged."""

from __future__ import annotations

import torch

from transfer import ModelSpec, evaluation_points, run_study, train_model

SOFTMAX = {"name": "softmax", "params": {"epochs": 15}}
MLP = {"name": "mlp", "params": {"epochs": 10}}


def test_one_perturbation_for_all_points_beats_noise_of_its_size(registry, digits):
    model = train_model(ModelSpec.model_validate(MLP), digits, registry=registry, device="cpu")
    attack = registry.create("attack", "universal", fit_points=300)
    eps = 0.2
    attack.learn(model, digits.x_train, digits.y_train, eps, bounds=digits.bounds, seed=0)
    index = evaluation_points(len(digits.y_test), 300, 0)
    x, y = digits.x_test[index], digits.y_test[index]
    crafted = attack(model, x, y, eps, bounds=digits.bounds, seed=0)
    v = crafted.perturbation
    assert v is not None and v.shape == x.shape[1:]
    assert torch.equal(crafted.x_adv, (x + v).clamp(*digits.bounds)), "the same v for every x"
    size = v.abs().max().item()
    assert 0 < size <= eps + 1e-6
    right = model.predict(x) == y
    fooled = ((model.predict(crafted.x_adv) != y) & right).sum() / right.sum()
    noise = registry.create("attack", "noise")(model, x, y, size, bounds=digits.bounds, seed=0)
    by_noise = ((model.predict(noise.x_adv) != y) & right).sum() / right.sum()
    assert fooled > 2 * by_noise, (fooled, by_noise)
    assert crafted.measures["fooling_rate_train"] > 0.3


def test_a_universal_perturbation_in_the_transfer_matrix(tracking_uri):
    config = {"study": "transfer-matrix", "models": [SOFTMAX, "logreg", "knn"],
              "attacks": [{"name": "universal", "params": {"fit_points": 100}}, "noise"],
              "eps": [0.2], "n_points": 60}
    run = run_study(config, tracking_uri=tracking_uri)
    assert not run.failed
    figures = set(run.summary.figures)
    assert {"universal_universal_softmax_eps0.2", "universal_universal_logreg_eps0.2"} <= figures
    cell = next(r for c, r in run.results.items()
                if c["source"] == "softmax" and c["attack"] == "universal")
    assert len(cell.perturbation) == 64 and cell.perturbation_shape == [1, 8, 8]
    assert "fooling_rate_train" in cell.attack_measures
    assert {"logreg", "knn"} <= set(cell.targets)  # the paper's cross-model table
