"""scikit-learn random forest: decision-only, a common transfer target (Papernot et al. 2016)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transfer import DECISION, FOREST, SklearnModel, hookimpl

if TYPE_CHECKING:  # scikit-learn is imported when a model is made, not when listed
    from sklearn.ensemble import RandomForestClassifier


class RandomForest(SklearnModel):
    """``sklearn.ensemble.RandomForestClassifier``, seeded."""

    capabilities = frozenset({DECISION, FOREST})

    def __init__(self, n_estimators: int = 100, max_depth: int | None = None) -> None:
        super().__init__(n_estimators=n_estimators, max_depth=max_depth)

    def make_estimator(self, seed: int) -> RandomForestClassifier:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.params["n_estimators"], max_depth=self.params["max_depth"],
            random_state=seed, n_jobs=1,
        )


@hookimpl
def register_models(register: Any) -> None:
    register("random-forest", RandomForest)
