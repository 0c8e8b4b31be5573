"""The user's own models: random-initialised networks saved to .safetensors, .pt (wrapped, with a
``module.`` prefix) and TorchScript, loaded back with identical logits; the input normalization
against a hand-computed (x − mean)/std; clear errors for a wrong architecture and a missing file;
a skops pipeline with its trusted-types check; a test-only dataset for a study of loaded models,
with each file's sha256 on its model's MLflow run."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from mlflow import MlflowClient
from safetensors.torch import save_file
from torch import nn

from transfer import CheckpointError, ConfigError, ModelSpec, run_study, train_model
from transfer.training.checkpoints import locate


@pytest.fixture(scope="module")
def images(registry):
    """Digits at 16 px in 3 channels: a small stand-in for the user's image data."""
    data = registry.create("dataset", "digits", size=16)
    return data, data.x_test[:40].repeat(1, 3, 1, 1), data.y_test[:40]


def timm_net(n_classes: int = 10) -> nn.Module:
    import timm

    torch.manual_seed(1)
    return timm.create_model("resnet18", pretrained=False, num_classes=n_classes).eval()


def load(registry, name, data, **params):
    model = registry.create("model", name, **params)
    model.registry = registry
    model.fit(data, 0)
    return model


def three_channels(data):
    import dataclasses

    return dataclasses.replace(data, x_train=data.x_train.repeat(1, 3, 1, 1),
                               x_test=data.x_test.repeat(1, 3, 1, 1))


def test_timm_weights_from_safetensors_and_pt_give_the_saved_networks_logits(
        registry, images, tmp_path):
    data, x, _ = images
    net = timm_net()
    save_file(net.state_dict(), tmp_path / "resnet18.safetensors")
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}},
               tmp_path / "resnet18.pt")  # a training checkpoint saved from DataParallel
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    with torch.no_grad():  # timm's ImageNet normalization, computed by hand
        expected = net((x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1))
    for file in ("resnet18.safetensors", "resnet18.pt"):
        model = load(registry, "timm:resnet18", three_channels(data),
                     weights=str(tmp_path / file))
        assert model.params["mean"] == pytest.approx(mean.tolist())
        assert len(model.params["weights_sha256"]) == 64
        assert not model.curves(), "nothing was trained"
        with torch.no_grad():
            assert torch.allclose(model.logits(x), expected, atol=1e-5), file


def test_a_checkpoint_of_a_built_in_family_and_a_torchscript_file(registry, images, tmp_path):
    data, _, _ = images
    family = registry.create("model", "cnn", channels=[4, 8], hidden=16)
    torch.manual_seed(2)
    net = family.build(data.input_shape, data.n_classes).eval()
    torch.save(net.state_dict(), tmp_path / "cnn.pth")
    torch.jit.save(torch.jit.script(net), tmp_path / "cnn.ts")
    with torch.no_grad():
        expected = net((data.x_test[:30] - 0.5) / 0.25)
    for params in ({"weights": str(tmp_path / "cnn.pth"),
                    "architecture": {"name": "cnn", "params": {"channels": [4, 8],
                                                              "hidden": 16}}},
                   {"weights": str(tmp_path / "cnn.ts")}):
        model = load(registry, "checkpoint", data, mean=[0.5], std=[0.25], **params)
        with torch.no_grad():
            assert torch.allclose(model.logits(data.x_test[:30]), expected, atol=1e-5)
    # the same weights on the family itself load instead of training
    model = load(registry, "cnn", data, channels=[4, 8], hidden=16,
                 weights=str(tmp_path / "cnn.pth"))
    with torch.no_grad():
        assert torch.allclose(model.logits(data.x_test[:30]), net(data.x_test[:30]), atol=1e-5)


def test_a_wrong_architecture_or_a_missing_file_is_named(registry, images, tmp_path):
    data, _, _ = images
    torch.save(timm_net().state_dict(), tmp_path / "resnet18.pt")
    with pytest.raises(CheckpointError, match=r"missing keys \(\d+\): 0\.weight.*unexpected "
                                              r"keys \(\d+\): conv1\.weight"):
        load(registry, "checkpoint", data, weights=str(tmp_path / "resnet18.pt"),
             architecture="cnn")
    with pytest.raises(CheckpointError, match="no file .*nowhere.pt"):
        registry.create("model", "mlp", weights=str(tmp_path / "nowhere.pt"))
    with pytest.raises(CheckpointError, match="not a TorchScript file: name its architecture"):
        registry.create("model", "checkpoint", weights=str(tmp_path / "resnet18.pt"))
    torch.save({"note": "no tensors"}, tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="holds no state dict"):
        load(registry, "mlp", data, weights=str(tmp_path / "empty.pt"))


def test_a_hub_snapshot_folder_is_found_offline(tmp_path):
    snapshot = tmp_path / "models--timm--resnet18" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    save_file({"w": torch.zeros(2)}, snapshot / "model.safetensors")
    torch.save({"w": torch.zeros(2)}, snapshot / "pytorch_model.bin")
    assert locate(tmp_path / "models--timm--resnet18") == (snapshot / "model.safetensors")


def test_a_skops_pipeline_loads_with_its_trusted_types_checked(registry, digits, tmp_path):
    import skops.io
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = digits.x_train.flatten(1).numpy(), digits.y_train.numpy()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    skops.io.dump(pipeline, tmp_path / "pipeline.skops")
    model = load(registry, "skops", digits, file=str(tmp_path / "pipeline.skops"))
    np.testing.assert_array_equal(model.predict(digits.x_test).numpy(),
                                  pipeline.predict(digits.x_test.flatten(1).numpy()))
    skops.io.dump({"model": pipeline, "extra": Untrusted()}, tmp_path / "odd.skops")
    with pytest.raises(ValueError, match="refusing to load.*Untrusted"):
        load(registry, "skops", digits, file=str(tmp_path / "odd.skops"))


class Untrusted:
    """A type skops must not load without being told to."""


@pytest.mark.parametrize(("field", "value", "says"), [
    ("left_child", lambda n: 10**6, "sends node 0 to left child 1000000"),
    ("right_child", lambda n: 0, "sends node 0 to right child 0"),  # a cycle: a walk never ends
    ("feature", lambda n: n, "splits node 0 on feature {n} (of {n})"),  # one past the inputs
    ("feature", lambda n: -5, "splits node 0 on feature -5"),
])
def test_a_forest_file_with_a_crafted_tree_is_refused(registry, digits, tmp_path, field, value,
                                                      says):
    """skops leaves scikit-learn's Tree untrusted (its node indices are followed without bounds
    checks): a forest is loaded only once its trees' nodes are checked; the same forest with one
    node of one tree rewritten is refused, naming the node."""
    import skops.io
    from sklearn.ensemble import RandomForestClassifier

    x, y = digits.x_train.flatten(1).numpy(), digits.y_train.numpy()
    forest, inputs = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y), x.shape[1]
    skops.io.dump(forest, tmp_path / "forest.skops")
    model = load(registry, "skops", digits, file=str(tmp_path / "forest.skops"))
    np.testing.assert_array_equal(model.predict(digits.x_test).numpy(),
                                  forest.predict(digits.x_test.flatten(1).numpy()))
    state = forest.estimators_[1].tree_.__getstate__()
    nodes = state["nodes"].copy()
    nodes[field][0] = value(inputs)
    forest.estimators_[1].tree_.__setstate__({**state, "nodes": nodes})
    skops.io.dump(forest, tmp_path / "crafted.skops")
    said = re.escape(says.format(n=inputs))
    with pytest.raises(ValueError, match=f"refusing to load .*crafted.skops.*{said}"):
        load(registry, "skops", digits, file=str(tmp_path / "crafted.skops"))


def test_a_type_skops_warns_about_is_refused(registry, digits, tmp_path):
    """HistGradientBoosting's TreePredictor: skops warns that its nodes are followed without
    bounds checks, and nothing here checks them, so it is refused."""
    import skops.io
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = digits.x_train.flatten(1).numpy(), digits.y_train.numpy()
    boosted = HistGradientBoostingClassifier(max_iter=2, random_state=0).fit(x, y)
    skops.io.dump(boosted, tmp_path / "boosted.skops")
    with pytest.raises(ValueError, match="refusing to load.*TreePredictor"):
        load(registry, "skops", digits, file=str(tmp_path / "boosted.skops"))


def test_a_test_only_dataset_runs_a_study_of_loaded_models(registry, digits, tmp_path,
                                                          tracking_uri):
    family = registry.create("model", "mlp", hidden=[16])
    torch.manual_seed(3)
    net = family.build(digits.input_shape, digits.n_classes)
    torch.save(net.state_dict(), tmp_path / "mlp.pt")
    trained = train_model(ModelSpec(name="logreg"), digits, registry=registry, device="cpu")
    import skops.io

    skops.io.dump(trained.estimator, tmp_path / "logreg.skops")
    np.savez(tmp_path / "test.npz", x_test=digits.x_test.numpy(), y_test=digits.y_test.numpy())
    models = [{"name": "mlp", "params": {"hidden": [16], "weights": str(tmp_path / "mlp.pt")}},
              {"name": "skops", "params": {"file": str(tmp_path / "logreg.skops")}}]
    config = {"study": "transfer-matrix", "dataset": {"name": "npz", "params": {
        "path": str(tmp_path / "test.npz")}}, "models": models, "attacks": ["fgsm"],
        "eps": [0.1], "n_points": 40}
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("transfer-models")
    runs = client.search_runs([experiment.experiment_id])
    sha = {r.data.params.get("param.weights_sha256") or r.data.params.get("param.file_sha256")
           for r in runs}
    import hashlib

    assert sha >= {hashlib.sha256((tmp_path / "mlp.pt").read_bytes()).hexdigest(),
                   hashlib.sha256((tmp_path / "logreg.skops").read_bytes()).hexdigest()}
    models.append("softmax")  # would have to train on no data
    with pytest.raises(ConfigError, match=r"test points only.*models\.2\.softmax"):
        run_study(config, tracking_uri=tracking_uri, device="cpu")


def _write_images(folder, count: int, colour_of, fmt: str) -> list[str]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        pixels = np.full((12, 24, 3), colour_of(i), dtype=np.uint8)
        pixels[:, :2] = 0  # a dark left border that the center crop removes
        name = f"img{i}.{fmt}"
        Image.fromarray(pixels).save(folder / name)
        names.append(name)
    return names


def test_an_image_folder_in_both_layouts(registry, tmp_path):
    # torchvision layout: one sub-folder per class, PNG and JPEG
    _write_images(tmp_path / "tv" / "cat", 3, lambda i: (200, 100, 50), "png")
    _write_images(tmp_path / "tv" / "dog", 2, lambda i: (10, 20, 30), "jpg")
    data = registry.create("dataset", "image-folder", root=str(tmp_path / "tv"), size=8)
    assert data.class_names == ("cat", "dog") and data.y_test.tolist() == [0, 0, 0, 1, 1]
    assert data.x_test.shape == (5, 3, 8, 8) and len(data.y_train) == 0
    # shorter side 12 -> 8, width 24 -> 16, the center crop (columns 4..11) drops the border
    assert torch.allclose(data.x_test[0], torch.tensor([200, 100, 50]).view(3, 1, 1) / 255)
    assert abs(data.x_test[3, 2].mean().item() - 30 / 255) < 0.02  # JPEG: nearly exact
    # TransferAttack layout: images/ plus labels.csv with targeted labels
    names = _write_images(tmp_path / "ta" / "images", 4, lambda i: (60 * i, 0, 0), "png")
    (tmp_path / "ta" / "labels.csv").write_text(
        "filename,label,targeted_label\n" + "".join(f"{n},{i * 300},{i}\n"
                                                     for i, n in enumerate(names)))
    data = registry.create("dataset", "image-folder", root=str(tmp_path / "ta"), size=8,
                           classes=1000)
    assert data.n_classes == 1000 and data.y_test.tolist() == [0, 300, 600, 900]
    assert data.targets_test.tolist() == [0, 1, 2, 3]  # for target = "dataset"
    assert data.targets_of(torch.tensor([3, 1])).tolist() == [3, 1]
    assert torch.allclose(data.x_test[:, 0, 4, 4], torch.tensor([0, 60, 120, 180]) / 255)
    (tmp_path / "ta" / "labels.csv").write_text("filename,label\nmissing.png,1\n")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        registry.create("dataset", "image-folder", root=str(tmp_path / "ta"), size=8)
