"""scikit-learn random forest: decision-only, a common transfer target (Papernot et al. 2016)."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import RandomForestClassifier

from transfer import DECISION, FOREST, SklearnModel, hookimpl


class RandomForest(SklearnModel):
    """``sklearn.ensemble.RandomForestClassifier``, seeded."""

    capabilities = frozenset({DECISION, FOREST})

    def __init__(self, n_estimators: int = 100, max_depth: int | None = None) -> None:
        super().__init__(n_estimators=n_estimators, max_depth=max_depth)

    def make_estimator(self, seed: int) -> RandomForestClassifier:
        return RandomForestClassifier(
            n_estimators=self.params["n_estimators"], max_depth=self.params["max_depth"],
            random_state=seed, n_jobs=1,
        )


@hookimpl
def register_models(register: Any) -> None:
    register("random-forest", RandomForest)
