"""scikit-learn linear SVM (``LinearSVC``, one-vs-rest, squared hinge) with an exact
differentiable torch twin of its decision function."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import nn

from transfer import DECISION, GRADIENTS, LinearTwin, SklearnModel, hookimpl

if TYPE_CHECKING:  # scikit-learn is imported when a model is made, not when listed
    from sklearn.svm import LinearSVC


class LinearSVM(SklearnModel):
    """``sklearn.svm.LinearSVC``; ``C`` is the inverse L2 penalty."""

    capabilities = frozenset({GRADIENTS, DECISION})

    def __init__(self, C: float = 0.1, max_iter: int = 10000) -> None:
        super().__init__(C=C, max_iter=max_iter)

    def make_estimator(self, seed: int) -> LinearSVC:
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.params["C"], max_iter=self.params["max_iter"], random_state=seed)

    def make_twin(self, estimator: LinearSVC) -> nn.Module:
        return LinearTwin(estimator.coef_, estimator.intercept_)


@hookimpl
def register_models(register: Any) -> None:
    register("linear-svm", LinearSVM)
