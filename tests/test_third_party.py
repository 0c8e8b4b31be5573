"""A third-party plugin providing a dataset, an executor and a whole study, through the public API
only, run end to end into MLflow."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from mlflow import MlflowClient
from sklearn.datasets import make_blobs

from transfer import (
    Cell,
    CellResult,
    Dataset,
    DatasetSpec,
    Executor,
    ModelSpec,
    Study,
    StudyConfig,
    Summary,
    Table,
    hookimpl,
    load_registry,
    run_study,
)

ORDER: list[str] = []
LOADS: list[int] = []


def blobs(n_samples: int = 300, seed: int = 0) -> Dataset:
    """Three Gaussian blobs in 4 dimensions, scaled into [0, 1]."""
    LOADS.append(n_samples)
    x, y = make_blobs(n_samples=n_samples, n_features=4, centers=3, random_state=seed)
    x = (x - x.min()) / (x.max() - x.min())
    half = n_samples // 2
    xs, ys = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    return Dataset("blobs", xs[:half], ys[:half], xs[half:], ys[half:], ("a", "b", "c"),
                   (0.0, 1.0), {"name": "blobs", "n_samples": n_samples, "seed": seed})


class Reverse(Executor):
    """Runs cells last to first (so a test can see that this executor ran them)."""

    def run(self, task, cells):
        for cell in reversed(cells):
            ORDER.append(cell["model"])
            yield task(cell)


class AccuracyConfig(StudyConfig):
    study: Literal["accuracy"] = "accuracy"
    dataset: DatasetSpec = DatasetSpec(name="blobs")
    models: list[ModelSpec]


class AccuracyResult(CellResult):
    accuracy: float

    def metrics(self):
        return {"accuracy": self.accuracy}


class Accuracy(Study[AccuracyConfig, AccuracyResult]):
    """Clean accuracy of each model: one cell per model."""

    Config = AccuracyConfig
    Result = AccuracyResult

    def plan(self, config):
        return [Cell.make("accuracy", model=m.label) for m in config.models]

    def run(self, cell, ctx):
        data = ctx.dataset(ctx.config.dataset)
        spec = next(m for m in ctx.config.models if m.label == cell["model"])
        model = ctx.model(spec, data, ctx.config.seed)
        accuracy = (model.predict(data.x_test) == data.y_test).float().mean().item()
        return AccuracyResult(accuracy=accuracy)

    def summarize(self, config, results):
        table = Table({"model": [c["model"] for c in results],
                       "accuracy": [r.accuracy for r in results.values()]})
        return Summary(tables={"accuracy": table}, terminal=[table],
                       metrics={"best_accuracy": max(table.columns["accuracy"])})


class ThirdParty:
    @hookimpl
    def register_datasets(self, register):
        register("blobs", blobs)

    @hookimpl
    def register_executors(self, register):
        register("reverse", Reverse)

    @hookimpl
    def register_studies(self, register):
        register("accuracy", Accuracy)


def test_a_third_party_study_dataset_and_executor(tracking_uri):
    registry = load_registry(extra=[ThirdParty()])
    config = {"study": "accuracy", "models": ["logreg", "knn", "mlp"]}
    ORDER.clear()
    LOADS.clear()
    result = run_study(config, registry=registry, tracking_uri=tracking_uri, executor="reverse")
    assert ORDER == ["mlp", "knn", "logreg"]
    assert LOADS == [300], "validation loads nothing; the cells share one loaded dataset"
    accuracies = [r.accuracy for r in result.results.values()]
    assert all(0.9 <= a <= 1.0 for a in accuracies)  # three well separated blobs
    client = MlflowClient(tracking_uri)
    parent = client.get_run(result.run_id)
    assert parent.data.metrics["best_accuracy"] == max(accuracies)
    assert np.isclose(max(accuracies), result.summary.metrics["best_accuracy"])

    ORDER.clear()
    LOADS.clear()
    again = run_study(config, registry=registry, tracking_uri=tracking_uri, executor="reverse")
    assert ORDER == [] and again.resumed == 3
    assert LOADS == [300], "the data are loaded once, before any work, to check their files"
