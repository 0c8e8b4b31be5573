"""A study's datasets as MLflow dataset inputs (name, digest, size and schema on every run that
used them, so the MLflow UI shows which data a run saw)."""

from __future__ import annotations

from typing import Any

from mlflow.entities import DatasetInput, InputTag

from ..contracts.cell import stable_hash
from ..contracts.data import Dataset


def dataset_inputs(datasets: list[Dataset]) -> list[DatasetInput]:
    """One input per split of each dataset (context ``training`` / ``evaluation``); the digest is
    the hash of the dataset's spec, the same on every machine."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.numpy_dataset import from_numpy

    # named here: MLflow's own guess of the source probes for notebooks (importing IPython)
    source = CodeDatasetSource(tags={"mlflow.source.type": "LOCAL",
                                     "mlflow.source.name": "transfer"})
    inputs = []
    for data in datasets:
        for split, x, y, context in (("train", data.x_train, data.y_train, "training"),
                                     ("test", data.x_test, data.y_test, "evaluation")):
            dataset: Any = from_numpy(
                x.flatten(1).numpy(), targets=y.numpy(), name=f"{data.name}-{split}",
                digest=stable_hash([data.spec, split], length=16), source=source,
            )
            inputs.append(DatasetInput(dataset._to_mlflow_entity(),
                                       tags=[InputTag("mlflow.data.context", context)]))
    return inputs
