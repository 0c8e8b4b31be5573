"""A scikit-learn model (an estimator or a pipeline) the user saved with ``skops.io.dump``:
``name = "skops"``, ``params = { file = "model.skops" }``. It is loaded, never trained, and only
when every type in the file is scikit-learn's, NumPy's or SciPy's (skops' untrusted-types check;
nothing is unpickled). It sees flattened inputs and answers labels only (a decision-only model:
decision-based attacks and transfer from other sources reach it). The file's sha256 is part of
the model's parameters, so a changed file is a different model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transfer import DECISION, Dataset, SklearnModel, file_identity, hookimpl, load_skops


class SkopsModel(SklearnModel):
    """The user's scikit-learn model from a skops file."""

    capabilities = frozenset({DECISION})
    loaded_from = ("file",)

    def __init__(self, file: str) -> None:
        path = Path(file).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"file: no skops file {path} (save the model with "
                                    "skops.io.dump(model, path))")
        super().__init__(**file_identity(path.resolve(), "file"))

    def make_estimator(self, seed: int) -> Any:
        return load_skops(Path(self.params["file"]))

    def _fit(self, dataset: Dataset, seed: int) -> None:
        estimator = self.make_estimator(seed)
        width = getattr(estimator, "n_features_in_", None)
        features = int(dataset.x_test[0].numel())
        if width is not None and width != features:
            raise ValueError(f"file: {self.params['file']} expects {width} features, the dataset "
                             f"has {features} per point")
        self._set_estimator(estimator)


@hookimpl
def register_models(register: Any) -> None:
    register("skops", SkopsModel)
