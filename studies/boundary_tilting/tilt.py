"""The mathematics of the boundary-tilting study (Tanay & Griffin 2016): the two-class problem,
a binary linear model's weight vector w and bias b, the nearest-centroid classifier, the
deviation angle between w and w_nc, and the exact L2 distance of a point to a hyperplane.

Everything is in float64 NumPy on flattened inputs; label 1 is the second class of the pair,
and a binary linear model predicts it where wᵀx + b > 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from transfer import Dataset


def two_classes(data: Dataset, classes: list[int]) -> Dataset:
    """``data`` restricted to the two ``classes`` (train and test), relabelled 0 and 1 in that
    order; its spec names the pair, so models trained on it are cached apart."""
    for k in classes:
        if not 0 <= k < data.n_classes:
            raise ValueError(f"classes: {k} is not a class of {data.name} (classes 0 to "
                             f"{data.n_classes - 1})")
    first, second = classes

    def part(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keep = (y == first) | (y == second)
        return x[keep].contiguous(), (y[keep] == second).long()

    x_train, y_train = part(data.x_train, data.y_train)
    x_test, y_test = part(data.x_test, data.y_test)
    return Dataset(name=data.name, x_train=x_train, y_train=y_train, x_test=x_test,
                   y_test=y_test, class_names=(data.class_names[first], data.class_names[second]),
                   bounds=data.bounds, spec={**data.spec, "binary_classes": [first, second]})


def flat(x: torch.Tensor) -> np.ndarray:
    """Points as float64 rows."""
    return x.detach().cpu().flatten(1).double().numpy()


def class_means(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """μ₀ and μ₁, the means of the points of class 0 and of class 1."""
    return x[y == 0].mean(axis=0), x[y == 1].mean(axis=0)


def nearest_centroid(mu0: np.ndarray, mu1: np.ndarray) -> tuple[np.ndarray, float]:
    """The nearest-centroid classifier as a hyperplane: w_nc = μ₁ − μ₀ and
    b_nc = −w_ncᵀ(μ₀ + μ₁)/2, the perpendicular bisector of the two means."""
    w = mu1 - mu0
    return w, float(-w @ (mu0 + mu1) / 2)


def angle_degrees(u: np.ndarray, v: np.ndarray) -> float:
    """The angle between two vectors, in degrees (0: parallel, 90: orthogonal), as
    2·atan2(‖û − v̂‖, ‖û + v̂‖) of the unit vectors: accurate near 0 and 180, where arccos of the
    cosine loses half the digits."""
    a, c = u / np.linalg.norm(u), v / np.linalg.norm(v)
    return math.degrees(2 * math.atan2(float(np.linalg.norm(a - c)), float(np.linalg.norm(a + c))))


def boundary_distance(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """The L2 distance |wᵀx + b|/‖w‖ of each row of ``x`` to the hyperplane wᵀx + b = 0: the
    length of the smallest perturbation that moves the point onto the boundary."""
    return np.abs(x @ w + b) / np.linalg.norm(w)


def relative(distance: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Distances divided by the norm ‖x‖ of their points (NaN at x = 0)."""
    norms = np.linalg.norm(x, axis=1)
    return np.divide(distance, norms, out=np.full_like(distance, np.nan), where=norms > 0)


def affine_weights(model: Any, input_shape: tuple[int, ...], x: np.ndarray
                   ) -> tuple[np.ndarray, float] | str:
    """The model's decision function f(x) = wᵀx + b (label 1 where f > 0), or why it has none.

    A scikit-learn estimator with a binary ``coef_`` gives w and b exactly. Otherwise the
    model's differentiable module, copied in float64, is probed at 0 and at every basis vector
    (f = logit₁ − logit₀), and the affine map found must reproduce f at the points ``x``; the
    model's own predictions must equal the sign of f there in both cases."""
    estimator = getattr(model, "estimator", None)
    coef = getattr(estimator, "coef_", None)
    if coef is not None and np.ndim(coef) == 2 and np.shape(coef)[0] == 1:
        w = np.asarray(coef, dtype=np.float64)[0]
        b = float(np.ravel(getattr(estimator, "intercept_", [0.0]))[0])
    elif getattr(model, "torch_module", None) is not None:
        net = model.module_copy(dtype=torch.float64, device="cpu")
        d = math.prod(input_shape)
        with torch.no_grad():
            probes = torch.cat([torch.zeros(1, d, dtype=torch.float64),
                                torch.eye(d, dtype=torch.float64)]).reshape(-1, *input_shape)
            out = net(probes)
            if out.ndim != 2 or out.shape[1] != 2:
                return f"its module gives {tuple(out.shape[1:])} scores per point, not 2"
            f = (out[:, 1] - out[:, 0]).numpy()
            seen = net(torch.as_tensor(x).reshape(-1, *input_shape))
            f_x = (seen[:, 1] - seen[:, 0]).numpy()
        w, b = f[1:] - f[0], float(f[0])
        worst = float(np.abs(x @ w + b - f_x).max(initial=0.0))
        if worst > 1e-6 * max(1.0, float(np.abs(f_x).max(initial=0.0))):
            return (f"it is not linear: its decision function differs from the affine map "
                    f"through its values at 0 and the basis vectors by up to {worst:.3g}")
    else:
        return "it has neither a binary scikit-learn coef_ nor a differentiable module to read"
    if not np.any(w):
        return "its weight vector is zero (no boundary)"
    predicted = model.predict(torch.as_tensor(x, dtype=torch.float32).reshape(
        -1, *input_shape)).cpu().numpy()
    f_x = x @ w + b
    clear = np.abs(f_x) > 1e-6 * max(1e-12, float(np.abs(f_x).max()))  # float32 ties aside
    disagree = int(((f_x > 0).astype(int) != predicted)[clear].sum())
    if disagree:
        return (f"its predictions differ from the sign of wᵀx + b at {disagree} of {len(x)} "
                "points: not a binary linear model")
    return w, b
