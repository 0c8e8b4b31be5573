"""The robustness study: DeepFool's ρ_adv and FGSM's smallest fooling step against their closed
forms on a binary linear model, the rubbish-class share (of a normal model and of the RBF
contrast, and the contrast's share of confident clean test points) against a direct computation,
the contrast deciding rubbish-everywhere (when confident on the data), and the study end to end
with its MLflow runs, figures and claims."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mlflow import MlflowClient

from transfer import ModelSpec, evaluation_points, rho_adv, run_study, train_model
from transfer.contracts.validation import ConfigError, validate_config
from transfer.studies.robustness import Robustness, minimal_perturbations
from transfer.studies.robustness.fgsm_reach import fgsm_reach
from transfer.tracking.cell_runs import PARENT

from .claim_cases.robustness import CONTRAST
from .conftest import assert_claims_evaluated


def test_rho_adv_and_the_fgsm_step_of_a_binary_linear_model_are_the_closed_forms(registry,
                                                                                  binary):
    model = train_model("logreg", binary, registry=registry, device="cpu")
    x, y = binary.x_test, binary.y_test
    deepfool_l2, fgsm_l2, _ = minimal_perturbations(model, x, y, overshoot=0.02)
    w = model.estimator.coef_[0]
    f = model.estimator.decision_function(x.numpy().astype(np.float64))
    size = np.linalg.norm(x.flatten(1).numpy().astype(np.float64), axis=1)
    # DeepFool takes one step, ‖r*‖ = |f(x)|/‖w‖₂, applied with the overshoot: ρ_adv = mean
    # (1 + overshoot)·|f(x)|/(‖w‖₂·‖x‖₂)
    np.testing.assert_allclose(rho_adv(deepfool_l2, x).mean().item(),
                               1.02 * np.mean(np.abs(f) / (np.linalg.norm(w) * size)), rtol=1e-4)
    # FGSM moves along −sign(w)·sign(f) (every coordinate): the step reaching the boundary has
    # eps = |f|/‖w‖₁, so its L2 norm is |f|·√d/‖w‖₁ (points FGSM pushes away cannot be fooled)
    toward = (model.predict(x) == y).numpy()
    expected = np.abs(f) * np.sqrt(len(w)) / np.abs(w).sum()
    np.testing.assert_allclose(fgsm_l2.numpy()[toward], expected[toward], rtol=1e-3)


def test_fgsm_reach_is_the_90_percent_eps_of_a_binary_linear_model(registry, binary):
    """The paper's FGSM ρ_adv: on a linear model the error at eps counts the misclassified
    points and the correct ones whose boundary is within |f|/‖w‖₁, so the smallest eps that
    misclassifies 90% is an order statistic of |f|/‖w‖₁, computed here directly."""
    model = train_model("logreg", binary, registry=registry, device="cpu")
    x, y = binary.x_test, binary.y_test
    deepfool_l2, fgsm_l2, sign = minimal_perturbations(model, x, y, overshoot=0.02)
    reach = fgsm_reach(model, x, y, sign, fgsm_l2, deepfool_l2, seed=0)
    w = model.estimator.coef_[0]
    f = model.estimator.decision_function(x.numpy().astype(np.float64))
    correct = (model.predict(x) == y).numpy()
    needed = math.ceil(0.9 * len(y)) - int((~correct).sum())
    eps90 = np.sort(np.abs(f[correct]) / np.abs(w).sum())[needed - 1]
    assert reach.eps == pytest.approx(eps90, rel=1e-3)
    size = np.linalg.norm(x.flatten(1).numpy().astype(np.float64), axis=1)
    assert reach.rho_fgsm == pytest.approx(eps90 * np.mean(np.sqrt(len(w)) / size), rel=1e-3)
    assert reach.rho_deepfool == pytest.approx(rho_adv(deepfool_l2, x).mean().item(), rel=1e-6)
    assert reach.ratio_ci_low < reach.ratio < reach.ratio_ci_high
    assert reach.points == len(y) and reach.deepfool_points == len(y)


def test_the_study_end_to_end(tracking_uri, registry, digits):
    mlp = {"hidden": [32], "epochs": 10}
    rbf = {"loss": "units", "epochs": 8}
    config = {"study": "robustness", "n_points": 60, "eps": [0.1, 0.2], "n_noise": 200,
              "models": [{"name": "mlp", "params": mlp},
                         {"name": "mlp", "label": "mlp-fgsm",
                          "params": {**mlp, "adversarial": {"method": "fgsm", "eps": 0.1}}}],
              "contrast": [{"name": "rbf-net", "params": rbf}]}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    assert_claims_evaluated(result, Robustness)
    by_cell = {(c["part"], c["model"]): r for c, r in result.results.items()}
    assert set(by_cell) == {(p, m) for p in ("white-box", "transfer") for m in ("mlp",
                                                                                 "mlp-fgsm")
                            } | {("contrast", "rbf-net")}
    # the contrast joins no transfer: its label is no target of the transfer cells
    assert set(by_cell[("transfer", "mlp")].transfer) == {"mlp", "mlp-fgsm"}
    normal, trained = by_cell[("white-box", "mlp")].white_box, by_cell[("white-box",
                                                                        "mlp-fgsm")].white_box
    assert (normal.group, trained.group) == ("normal", "fgsm")
    # a source's examples on itself are its white-box error at that eps
    assert by_cell[("transfer", "mlp")].transfer["mlp"] == normal.errors["fgsm"][0]
    # the rubbish-class share, computed again from the model and the seeded noise
    model = train_model(ModelSpec(name="mlp", params=mlp), digits, registry=registry,
                        device="cpu")
    noise = torch.randn((200, *digits.input_shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        confident = torch.softmax(model.logits(noise), 1).max(1).values > 0.5
    assert normal.rubbish.count == int(confident.sum())
    # the contrast's share: its RBF units exp(−β‖x − μ‖²), averaged over each class's centres,
    # on the same noise (not a softmax of its logits)
    rbf_net = train_model(ModelSpec(name="rbf-net", params=rbf), digits, registry=registry,
                          device="cpu")
    layer = rbf_net.net
    kernels = torch.exp(-torch.nn.functional.softplus(layer.raw_beta.detach().double())
                        * torch.cdist(noise.flatten(1).double(), layer.centres.detach().double())
                        ** 2).view(200, digits.n_classes, -1).mean(dim=2)
    contrast = by_cell[("contrast", "rbf-net")].contrast
    assert contrast.rubbish.n == 200
    assert contrast.rubbish.count == int((kernels.max(dim=1).values > 0.5).sum())
    assert contrast.rubbish_confidence == pytest.approx(kernels.max(dim=1).values.mean().item(),
                                                        rel=1e-3, abs=1e-7)
    # and the same on the 60 clean evaluation points: confident share, mean confidence, error
    index = evaluation_points(len(digits.y_test), 60, 0)
    x_clean, y_clean = digits.x_test[index], digits.y_test[index]
    units = torch.exp(-torch.nn.functional.softplus(layer.raw_beta.detach().double())
                      * torch.cdist(x_clean.flatten(1).double(), layer.centres.detach().double())
                      ** 2).view(60, digits.n_classes, -1).mean(dim=2).max(dim=1).values
    assert contrast.clean_confident.n == 60
    assert contrast.clean_confident.count == int((units > 0.5).sum())
    assert contrast.clean_confidence == pytest.approx(units.mean().item(), rel=1e-3, abs=1e-7)
    with torch.no_grad():
        assert contrast.clean_error.count == int((rbf_net.predict(x_clean) != y_clean).sum())
    assert by_cell[("contrast", "rbf-net")].metrics() == {
        "rubbish_share": contrast.rubbish.rate, "rubbish_confidence": contrast.rubbish_confidence,
        "clean_confident_share": contrast.clean_confident.rate,
        "clean_confidence": contrast.clean_confidence,
        "clean_error": contrast.clean_error.rate}
    finding = {c.id: f for c, f in result.claims}["rubbish-everywhere"]
    assert "RBF contrast: rbf-net noise " in finding.evidence
    assert f"({contrast.clean_confident.count}/60)" in finding.evidence
    table = result.summary.tables["robustness"].columns
    assert table["model"] == ["mlp", "mlp-fgsm", "rbf-net"]
    assert table["training"][-1] == "contrast"
    assert table["rubbish_share"][-1] == contrast.rubbish.rate
    shares = table["clean_confident_share"]  # measured for the contrast only
    assert math.isnan(shares[0]) and math.isnan(shares[1])
    assert shares[-1] == contrast.clean_confident.rate
    assert table["clean_error"][-1] == contrast.clean_error.rate
    assert math.isnan(table["rho_adv"][-1])
    # clean error on the fixed evaluation points
    with torch.no_grad():
        wrong = model.predict(digits.x_test[index]) != digits.y_test[index]
    assert normal.clean_error.count == int(wrong.sum())
    assert {"error_curves", "rho_adv", "transfer"} == set(result.summary.figures)

    client = MlflowClient(tracking_uri)
    parent = client.get_run(result.run_id)
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.`{PARENT}` = '{result.run_id}'")
    assert len(children) == 5
    figures = {a.path for a in client.list_artifacts(result.run_id, "figures")}
    assert {"figures/error_curves.png", "figures/rho_adv.png", "figures/transfer.png"} <= figures
    assert parent.data.tags["transfer.theory"] == "Adversarial training"


def test_every_model_must_have_gradients(registry):
    config = {"study": "robustness", "models": ["mlp", "decision-tree"]}
    with pytest.raises(ConfigError, match=r"models\.1: 'decision-tree'.*no gradients"):
        validate_config(registry, config)


def test_a_contrast_model_must_have_gradients_and_its_own_label(registry):
    config = {"study": "robustness", "models": ["mlp"], "contrast": ["decision-tree"]}
    with pytest.raises(ConfigError, match=r"contrast\.0: 'decision-tree'.*no gradients"):
        validate_config(registry, config)
    config = {"study": "robustness", "models": ["rbf-net"], "contrast": ["rbf-net"]}
    with pytest.raises(ConfigError, match=r"label 'rbf-net' is used twice"):
        validate_config(registry, config)


@pytest.mark.parametrize("case", sorted(CONTRAST))
def test_the_rbf_contrast_decides_rubbish_everywhere(case):
    """The normal mlp puts 900 of 1,000 noise inputs confidently in a class: the verdict is the
    contrast's, and so are the value, interval and n when it decides; a contrast unconfident on
    the clean test points (or not measured there) does not count: INCONCLUSIVE, valued at the
    normal pooled share."""
    claim = next(c for c in Robustness.claims if c.id == "rubbish-everywhere")
    config, results = CONTRAST[case]()
    finding = claim.evaluate(config, results)
    assert finding.verdict == case.split(",")[0]
    expected = {"PASS": 0.9, "FAIL": 0.7, "INCONCLUSIVE": 0.9,
                "INCONCLUSIVE, undecided contrast": 0.49}.get(case, 0.9)
    assert finding.value == pytest.approx(expected)
    assert finding.low <= finding.value <= finding.high and finding.n == 1000
    if case == "INCONCLUSIVE":
        assert finding.evidence.endswith("no RBF contrast")
        return
    assert "RBF contrast: rbf-net noise " in finding.evidence and "/1000)" in finding.evidence
    if "not measured" in case:
        assert "rbf-net's confidence on clean test points was not measured" in finding.evidence
    elif "on data" in case:
        assert "rbf-net is confident on " in finding.evidence
        assert "of clean test points: its units say nothing about noise" in finding.evidence
    else:  # the guard holds: the clean share stands beside the noise share, with counts
        assert "clean test points 95.0% [91.9, 96.9] (285/300)" in finding.evidence
        assert "say nothing" not in finding.evidence
