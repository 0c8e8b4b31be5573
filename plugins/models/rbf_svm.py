"""scikit-learn RBF-kernel SVM (``SVC(kernel="rbf")``) with an exact, vectorized, differentiable
torch twin of its decision function.

SVC trains one-vs-one: for classes i < j, f_ij(x) = Σ_s a_ij,s·exp(−γ‖x − s‖²) + b_ij over the
support vectors s of classes i and j. The twin computes the kernel against all support vectors in
one matrix product and every f_ij from a (support vectors x pairs) coefficient matrix, then applies
scikit-learn's one-vs-rest transform: votes (piecewise constant) plus the squashed sums of
confidences, so its outputs equal ``decision_function`` and its argmax equals ``predict``.
Gradients flow through the confidences. Binary SVC: the logits are (0, f(x)).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from transfer import DECISION, GRADIENTS, SklearnModel, freeze, hookimpl

if TYPE_CHECKING:  # scikit-learn is imported when a model is made, not when listed
    from sklearn.svm import SVC


class RBFSVMTwin(nn.Module):
    """Exact torch copy of a fitted ``SVC(kernel="rbf")`` decision function."""

    def __init__(self, svc: SVC) -> None:
        super().__init__()
        n = len(svc.classes_)
        starts = np.r_[0, np.cumsum(svc.n_support_)]
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        coef = np.zeros((len(svc.support_vectors_), len(pairs)))
        incidence = np.zeros((len(pairs), n))
        for p, (i, j) in enumerate(pairs):
            coef[starts[i] : starts[i + 1], p] = svc.dual_coef_[j - 1, starts[i] : starts[i + 1]]
            coef[starts[j] : starts[j + 1], p] = svc.dual_coef_[i, starts[j] : starts[j + 1]]
            incidence[p, i], incidence[p, j] = 1.0, -1.0
        as_tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
        self.gamma = float(svc._gamma)
        self.binary = n == 2
        self.support: torch.Tensor
        self.support_sq: torch.Tensor
        self.coef: torch.Tensor
        self.intercept: torch.Tensor
        self.incidence: torch.Tensor
        self.register_buffer("support", as_tensor(svc.support_vectors_))
        self.register_buffer("support_sq", as_tensor((svc.support_vectors_ ** 2).sum(1)))
        self.register_buffer("coef", as_tensor(coef))
        self.register_buffer("intercept", as_tensor(svc.intercept_))
        self.register_buffer("incidence", as_tensor(incidence))
        freeze(self)

    def pairwise(self, x: torch.Tensor) -> torch.Tensor:
        """The one-vs-one decision values f_ij(x), shape (n, pairs)."""
        x = x.flatten(1)
        squared = (x * x).sum(1, keepdim=True) - 2 * x @ self.support.T + self.support_sq
        return torch.exp(-self.gamma * squared.clamp_min(0)) @ self.coef + self.intercept

    def lipschitz_bound(self, input_shape: tuple[int, ...]) -> float:
        """Binary: ‖∇f‖₂ ≤ Σ|α_i|·√(2γ/e) for f(x) = Σ α_i exp(−γ‖x − s_i‖²) + b. Multi-class:
        infinite, as the one-vs-rest votes jump."""
        if not self.binary:
            return math.inf
        return self.coef.double().abs().sum().item() * math.sqrt(2 * self.gamma / math.e)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        decision = self.pairwise(x)
        if self.binary:
            return torch.cat([torch.zeros_like(decision), decision], dim=1)
        wins = (decision >= 0).to(decision.dtype)
        votes = wins @ self.incidence.clamp_min(0) + (1 - wins) @ (-self.incidence).clamp_min(0)
        confidence = decision @ self.incidence
        return votes + confidence / (3 * (confidence.abs() + 1))


class RBFSVM(SklearnModel):
    """``sklearn.svm.SVC(kernel="rbf")``; ``gamma="scale"`` is 1 / (d · Var(x))."""

    capabilities = frozenset({GRADIENTS, DECISION})

    def __init__(self, C: float = 10.0, gamma: float | str = "scale") -> None:
        super().__init__(C=C, gamma=gamma)

    def make_estimator(self, seed: int) -> SVC:
        from sklearn.svm import SVC

        return SVC(kernel="rbf", C=self.params["C"], gamma=self.params["gamma"],
                   random_state=seed)

    def make_twin(self, estimator: SVC) -> nn.Module:
        return RBFSVMTwin(estimator)


@hookimpl
def register_models(register: Any) -> None:
    register("rbf-svm", RBFSVM)
