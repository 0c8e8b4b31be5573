"""A study's datasets as MLflow dataset inputs (name, digest, size and schema on every run that
used them, so the MLflow UI shows which data a run saw)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..contracts.cell import stable_hash

if TYPE_CHECKING:
    from mlflow.entities import DatasetInput

    from ..contracts.data import Dataset

# One split of a dataset in plain values: name, digest, inputs, targets, MLflow context.
Split = tuple[str, str, np.ndarray, np.ndarray, str]


def dataset_splits(datasets: list[Dataset]) -> list[Split]:
    """One split per part of each dataset (context ``training`` / ``evaluation``), as numpy
    arrays: what the driver sends its writer process. The digest is the hash of the dataset's
    spec, the same on every machine."""
    return [(f"{data.name}-{split}", stable_hash([data.spec, split], length=16),
             x.flatten(1).numpy(), y.numpy(), context)
            for data in datasets
            for split, x, y, context in (("train", data.x_train, data.y_train, "training"),
                                         ("test", data.x_test, data.y_test, "evaluation"))]


def dataset_inputs(splits: list[Split]) -> list[DatasetInput]:
    """The MLflow dataset input of each split."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.numpy_dataset import from_numpy
    from mlflow.entities import DatasetInput, InputTag

    # named here: MLflow's own guess of the source probes for notebooks (importing IPython)
    source = CodeDatasetSource(tags={"mlflow.source.type": "LOCAL",
                                     "mlflow.source.name": "transfer"})
    inputs = []
    for name, digest, x, y, context in splits:
        dataset: Any = from_numpy(x, targets=y, name=name, digest=digest, source=source)
        inputs.append(DatasetInput(dataset._to_mlflow_entity(),
                                   tags=[InputTag("mlflow.data.context", context)]))
    return inputs
