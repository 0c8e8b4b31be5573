"""``--amp``: the models' forward passes in mixed precision (bfloat16 autocast here, on the CPU;
float16 on CUDA), float32 outputs, training untouched, and an --amp run kept apart from a float32
run of the same config."""

from __future__ import annotations

import torch
from click.testing import CliRunner
from mlflow import MlflowClient

from transfer import ModelSpec, run_study, train_model
from transfer.cli.main import cli

CONFIG = {"study": "transfer-matrix", "n_points": 40, "eps": [0.1], "attacks": ["fgsm"],
          "models": [{"name": "mlp", "params": {"hidden": [32], "epochs": 5}}, "logreg"]}


def test_amp_logits_are_bfloat16_computations_returned_as_float32(registry, digits):
    model = train_model(ModelSpec(name="mlp", params={"hidden": [32], "epochs": 5}), digits,
                        registry=registry, device="cpu")
    x = digits.x_test[:64]
    exact = model.logits(x)
    model.amp = True
    try:
        mixed = model.logits(x)
    finally:
        model.amp = False
    # the same network evaluated by hand in bfloat16 (weights and inputs rounded)
    by_hand = model.module_copy(dtype=torch.bfloat16)(x.to(torch.bfloat16)).float()
    assert mixed.dtype == torch.float32 and not torch.equal(mixed, exact)
    torch.testing.assert_close(mixed, by_hand, rtol=0.02, atol=0.05)
    torch.testing.assert_close(mixed, exact, rtol=0.05, atol=0.1)
    x = x.clone().requires_grad_(True)
    model.amp = True
    try:
        (grad,) = torch.autograd.grad(model.loss(x, digits.y_test[:64]), x)
    finally:
        model.amp = False
    assert grad.dtype == torch.float32 and grad.abs().sum() > 0  # attacks get input gradients


def test_an_amp_run_is_its_own_study_run_and_is_tagged(tracking_uri):
    plain = run_study(CONFIG, tracking_uri=tracking_uri, device="cpu")
    out = CliRunner().invoke(cli, ["study", "run", "transfer-matrix", "--set", "n_points=40",
                                   "--set", "eps=[0.1]", "--set", "attacks=[fgsm]",
                                   "--set", 'models=[{name: mlp, params: {hidden: [32], '
                                            'epochs: 5}}, logreg]',
                                   "--amp", "--no-progress", "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    client = MlflowClient(tracking_uri)
    parents = client.search_runs([plain.experiment_id],
                                 filter_string="tags.`transfer.role` = 'study'")
    assert len(parents) == 2
    mixed = next(r for r in parents if r.info.run_id != plain.run_id)
    assert mixed.data.tags.get("transfer.amp") == "1" and "transfer.amp" not in next(
        r for r in parents if r.info.run_id == plain.run_id).data.tags
    assert mixed.info.status == "FINISHED"
