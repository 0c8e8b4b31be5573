"""The MLflow store as the model cache a team or a cluster shares: a machine whose cache lacks a
model fetches its weights from the store by key (checked against their checksums) and trains
nothing; a model trained on another machine reaches the driver's cache from its files."""

from __future__ import annotations

import json

from transfer import run_study
from transfer.training.model_cache import RECORD, ModelCache

CONFIG = {"study": "transfer-matrix", "n_points": 30, "eps": [0.1], "attacks": ["fgsm"],
          "models": ["logreg", {"name": "softmax", "params": {"epochs": 5}}]}


class Trainings:
    """A progress that records every model trained (the runner reports each training)."""

    def __init__(self) -> None:
        self.models: list[str] = []

    def start(self, total: int, resumed: int) -> None: ...

    def advance(self, outcome) -> None: ...

    def stop(self) -> None: ...

    def train(self, model: str, epoch: int, epochs: int, loss: float) -> None:
        if epoch == 0 and epochs == 0:  # a training starts
            self.models.append(model)


def test_a_cache_without_the_model_fetches_it_from_the_store_and_trains_nothing(tmp_path):
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    first, second = Trainings(), Trainings()
    run_study(CONFIG, tracking_uri=uri, cache_dir=str(tmp_path / "laptop"), progress=first)
    assert sorted(first.models) == ["logreg", "logreg", "softmax", "softmax"]  # 2 halves each
    # another machine, an empty cache, the same store, another study using the same models
    other = run_study({**CONFIG, "n_points": 40}, tracking_uri=uri,
                      cache_dir=str(tmp_path / "cluster-node"), progress=second)
    assert not other.failed and second.models == []
    laptop = sorted(p for p in (tmp_path / "laptop" / "models").iterdir() if p.is_dir())
    node = sorted(p for p in (tmp_path / "cluster-node" / "models").iterdir() if p.is_dir())
    assert [p.name for p in node] == [p.name for p in laptop] and len(node) == 4
    for mine, theirs in zip(laptop, node, strict=True):
        assert json.loads((theirs / RECORD).read_text())["files"] == json.loads(
            (mine / RECORD).read_text())["files"]


def test_a_tampered_download_is_refused_and_the_model_trained(tmp_path):
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    run_study(CONFIG, tracking_uri=uri, cache_dir=str(tmp_path / "laptop"))
    for weights in (tmp_path / "mlartifacts").rglob("model/*"):
        if weights.name != RECORD:
            weights.write_bytes(weights.read_bytes()[::-1])  # the store's copy is damaged
    trainings = Trainings()
    again = run_study({**CONFIG, "n_points": 40}, tracking_uri=uri,
                      cache_dir=str(tmp_path / "node"), progress=trainings)
    assert not again.failed and len(trainings.models) == 4
    assert len(list((tmp_path / "node" / "corrupt").iterdir())) == 4


def test_a_model_trained_elsewhere_is_adopted_from_its_files(tmp_path):
    files = {RECORD: b'{"key": "k"}', "weights.safetensors": b"\x00\x01"}
    cache = ModelCache(tmp_path / "driver")
    record = cache.adopt({"key": "k", "path": "/elsewhere/k"}, files)
    folder = tmp_path / "driver" / "models" / "k"
    assert record["path"] == str(folder) and cache.has("k")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
