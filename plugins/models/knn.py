"""scikit-learn k-nearest neighbours: decision-only, and a robust transfer target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transfer import DECISION, NEIGHBORS, SklearnModel, hookimpl

if TYPE_CHECKING:  # scikit-learn is imported when a model is made, not when listed
    from sklearn.neighbors import KNeighborsClassifier


class KNN(SklearnModel):
    """``sklearn.neighbors.KNeighborsClassifier`` with Euclidean distance."""

    capabilities = frozenset({DECISION, NEIGHBORS})

    def __init__(self, n_neighbors: int = 5, weights: str = "uniform") -> None:
        super().__init__(n_neighbors=n_neighbors, weights=weights)

    def make_estimator(self, seed: int) -> KNeighborsClassifier:
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(
            n_neighbors=self.params["n_neighbors"], weights=self.params["weights"]
        )


@hookimpl
def register_models(register: Any) -> None:
    register("knn", KNN)
