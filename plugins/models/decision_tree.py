"""scikit-learn decision tree: no gradients, but its structure is open to the ``tree`` attack
(Papernot et al. 2016); a classic transfer target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transfer import DECISION, TREE, SklearnModel, hookimpl

if TYPE_CHECKING:  # scikit-learn is imported when a model is made, not when listed
    from sklearn.tree import DecisionTreeClassifier


class DecisionTree(SklearnModel):
    """``sklearn.tree.DecisionTreeClassifier`` (Gini); ``max_depth=None`` grows it fully."""

    capabilities = frozenset({DECISION, TREE})

    def __init__(self, max_depth: int | None = None, min_samples_leaf: int = 1) -> None:
        super().__init__(max_depth=max_depth, min_samples_leaf=min_samples_leaf)

    def make_estimator(self, seed: int) -> DecisionTreeClassifier:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(
            max_depth=self.params["max_depth"],
            min_samples_leaf=self.params["min_samples_leaf"],
            random_state=seed,
        )


@hookimpl
def register_models(register: Any) -> None:
    register("decision-tree", DecisionTree)
