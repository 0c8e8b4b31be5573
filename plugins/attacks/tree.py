"""Decision-tree attack (Papernot et al. 2016, "Transferability in machine learning", §4): move
the input into a nearby leaf of another class by changing the features tested on the path to it.

Papernot et al. search the leaves near the current one; here every leaf is considered at once,
which makes the attack exact for a single tree: each leaf is an axis-aligned box of the input
space, the closest point of a box is the input clipped to it, and the closest box of another class
(in the attack's norm, within the bounds) is the minimal adversarial perturbation. Vectorized over
points and leaves. Needs the ``tree`` capability (a scikit-learn ``DecisionTreeClassifier``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from transfer import TREE, Attack, AttackResult, Model, Norm, SklearnModel, hookimpl


def leaf_boxes(tree: Any, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per leaf: the float32 box [low, high] of inputs that reach it, its class index and its
    node id (what scikit-learn's ``apply`` returns).

    scikit-learn sends x to the left child when x[f] <= threshold (compared in float32).
    """
    low, high, labels, nodes = [], [], [], []
    stack = [(0, np.full(dim, -np.inf, np.float32), np.full(dim, np.inf, np.float32))]
    while stack:
        node, lo, hi = stack.pop()
        left, right = tree.children_left[node], tree.children_right[node]
        if left == -1:
            low.append(lo)
            high.append(hi)
            labels.append(int(np.argmax(tree.value[node][0])))
            nodes.append(node)
            continue
        feature, threshold = tree.feature[node], tree.threshold[node]
        at_most = np.float32(threshold)
        if float(at_most) > threshold:
            at_most = np.nextafter(at_most, np.float32(-np.inf))
        above = np.nextafter(at_most, np.float32(np.inf))
        left_hi, right_lo = hi.copy(), lo.copy()
        left_hi[feature] = min(hi[feature], at_most)
        right_lo[feature] = max(lo[feature], above)
        stack.append((left, lo, left_hi))
        stack.append((right, right_lo, hi))
    return np.array(low), np.array(high), np.array(labels), np.array(nodes)


class TreeAttack(Attack):
    """Exact minimal move of each input into the nearest leaf of another class."""

    minimal = True
    requires = frozenset({TREE})

    def __init__(self, norm: Norm = "l2", clip: bool = True, chunk: int = 64) -> None:
        super().__init__(norm=norm, clip=clip, chunk=chunk)

    def __call__(
        self,
        model: Model,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        *,
        bounds: tuple[float, float],
        seed: int = 0,
    ) -> AttackResult:
        assert isinstance(model, SklearnModel), "the tree attack reads a scikit-learn tree"
        estimator = model.estimator
        flat = x.detach().flatten(1).cpu().to(torch.float32)
        low, high, leaf_class, _ = leaf_boxes(estimator.tree_, flat.shape[1])
        low_t, high_t = torch.as_tensor(low), torch.as_tensor(high)
        if self.clip:
            low_t, high_t = low_t.clamp(min=bounds[0]), high_t.clamp(max=bounds[1])
        reachable = (low_t <= high_t).all(dim=1)
        classes = torch.as_tensor(estimator.classes_)
        labels = y.cpu()
        wrong = model.predict(x).cpu() != labels  # already misclassified: nothing to do
        leaf_label = classes[torch.as_tensor(leaf_class)]
        best = flat.clone()
        for start in range(0, len(flat), self.params["chunk"]):
            points = flat[start : start + self.params["chunk"]]
            nearest = torch.maximum(torch.minimum(points[:, None, :], high_t), low_t)
            moved = nearest - points[:, None, :]
            size = moved.norm(dim=2) if self.norm == "l2" else moved.abs().amax(dim=2)
            other = leaf_label[None, :] != labels[start : start + len(points), None]
            size[~(other & reachable[None, :])] = torch.inf
            choice = size.argmin(dim=1)
            found = torch.isfinite(size.gather(1, choice[:, None]).squeeze(1))
            found &= ~wrong[start : start + len(points)]
            rows = torch.arange(len(points))
            best[start : start + len(points)][found] = nearest[rows, choice][found]
        x_adv = best.view_as(x).to(x.device)
        return self.finish(x.to(x.device), x_adv, eps, bounds)


@hookimpl
def register_attacks(register: Any) -> None:
    register("tree", TreeAttack)
