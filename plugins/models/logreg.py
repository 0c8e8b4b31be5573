"""scikit-learn logistic regression with an exact differentiable torch twin of its decision
function, so white-box attacks can use it as a source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import nn

from transfer import DECISION, GRADIENTS, LinearTwin, SklearnModel, hookimpl

if TYPE_CHECKING:  # scikit-learn is imported when a model is made, not when listed
    from sklearn.linear_model import LogisticRegression


class LogReg(SklearnModel):
    """``sklearn.linear_model.LogisticRegression`` (L2, lbfgs); ``C`` is the inverse penalty."""

    capabilities = frozenset({GRADIENTS, DECISION})

    def __init__(self, C: float = 1.0, max_iter: int = 2000) -> None:
        super().__init__(C=C, max_iter=max_iter)

    def make_estimator(self, seed: int) -> LogisticRegression:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=self.params["C"], max_iter=self.params["max_iter"], random_state=seed
        )

    def make_twin(self, estimator: LogisticRegression) -> nn.Module:
        return LinearTwin(estimator.coef_, estimator.intercept_)


@hookimpl
def register_models(register: Any) -> None:
    register("logreg", LogReg)
