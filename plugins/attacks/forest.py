"""Random-forest attack: a greedy search over the trees' leaf boxes, in the spirit of Kantchelian
et al. (2016, "Evasion and hardening of tree ensemble classifiers"), whose exact mixed-integer
program is relaxed here to what runs on a laptop.

Each leaf of each tree is an axis-aligned box of the input space. For a point x with label y the
attack picks a target class c (the forest's most probable other class, then the next ones) and
keeps a box B, first the L-inf eps-ball around x within the bounds. While the forest still
predicts y, it moves z (first x) to the nearest point of B inside a class-c leaf of a tree that
does not vote c yet, choosing the leaf nearest to z, and shrinks B to that leaf's box, so later
moves never undo the trees already won. Every point stays in the eps-ball; the attack stops at
the first change of the forest's prediction (the trees' votes are read off the boxes, and
scikit-learn's own prediction confirms the result). Needs the ``forest`` capability (a
scikit-learn forest with ``estimators_``). Logged: the mean number of moves per point.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch

from transfer import FOREST, Attack, AttackResult, Model, SklearnModel, hookimpl

from .tree import leaf_boxes


class Leaves:
    """Every leaf of every tree: boxes ``low`` / ``high`` (clipped to the bounds), class index,
    class probabilities and tree; ``rows(z)`` finds the leaf each tree sends each point to."""

    def __init__(self, forest: Any, dim: int, bounds: tuple[float, float] | None) -> None:
        self.trees = [tree.tree_ for tree in forest.estimators_]
        parts = [leaf_boxes(tree, dim) for tree in self.trees]
        self.low = torch.as_tensor(np.concatenate([p[0] for p in parts]))
        self.high = torch.as_tensor(np.concatenate([p[1] for p in parts]))
        # the features each leaf's path splits on, first in each row (the others are unbounded)
        bounded = (self.low > -torch.inf) | (self.high < torch.inf)
        self.split = bounded.int().argsort(dim=1, descending=True, stable=True)
        self.splits = bounded.sum(dim=1)
        if bounds is not None:
            self.low, self.high = self.low.clamp(min=bounds[0]), self.high.clamp(max=bounds[1])
        self.label = torch.as_tensor(np.concatenate([p[2] for p in parts]))
        values = [tree.value[p[3], 0] for tree, p in zip(self.trees, parts, strict=True)]
        self.probability = torch.as_tensor(np.concatenate(
            [v / v.sum(axis=1, keepdims=True) for v in values]), dtype=torch.float64)
        self.tree = torch.as_tensor(np.concatenate([np.full(len(p[2]), t)
                                                    for t, p in enumerate(parts)]))
        # all trees' nodes in one array, a leaf's children itself, so that a walk of
        # ``depth`` steps lands every point in its leaf in every tree at once
        sizes = [tree.node_count for tree in self.trees]
        starts = np.cumsum([0, *sizes[:-1]])
        self.roots = starts
        own = [np.arange(start, start + size) for start, size in zip(starts, sizes, strict=True)]
        self.left, self.right = (np.concatenate([
            np.where(tree.children_left == -1, nodes, getattr(tree, side) + start)
            for tree, nodes, start in zip(self.trees, own, starts, strict=True)])
            for side in ("children_left", "children_right"))
        self.feature = np.concatenate([t.feature for t in self.trees]).clip(0)
        self.threshold = np.concatenate([t.threshold for t in self.trees])
        self.depth = max(tree.max_depth for tree in self.trees)
        self.row_of_node = np.full(sum(sizes), -1)  # node -> leaf row (-1: inner)
        offset = 0
        for start, part in zip(starts, parts, strict=True):
            self.row_of_node[part[3] + start] = np.arange(offset, offset + len(part[3]))
            offset += len(part[3])

    def rows(self, z: torch.Tensor) -> torch.Tensor:
        """(points, trees): the row of the leaf each tree sends each point of ``z`` to (as
        scikit-learn's ``apply``: float32 inputs, ``x[feature] <= threshold`` goes left)."""
        points = z.numpy().astype(np.float32).astype(np.float64)
        node = np.broadcast_to(self.roots, (len(points), len(self.roots)))
        at = np.arange(len(points))[:, None]
        for _ in range(self.depth):
            left = points[at, self.feature[node]] <= self.threshold[node]
            node = np.where(left, self.left[node], self.right[node])
        return torch.as_tensor(self.row_of_node[node])


_LEAVES: weakref.WeakKeyDictionary[Any, dict[Any, Leaves]] = weakref.WeakKeyDictionary()


def leaves_of(forest: Any, dim: int, bounds: tuple[float, float] | None) -> Leaves:
    """The forest's ``Leaves``, built once per forest (every cell that attacks it reuses them)."""
    built = _LEAVES.setdefault(forest, {})
    if (dim, bounds) not in built:
        built[dim, bounds] = Leaves(forest, dim, bounds)
    return built[dim, bounds]


class Boxes:
    """Some leaves (``rows`` of ``Leaves``, of the trees ``tree``) as boxes along the features
    each splits on; along a feature a leaf does not split on, its box meets a point's box in the
    point's own box, so only the splits are compared: (points, leaves, splits), not every
    feature."""

    def __init__(self, leaves: Leaves, rows: torch.Tensor) -> None:
        self.rows, self.tree = rows, leaves.tree[rows]
        most = int(leaves.splits[rows].max()) if len(rows) else 0
        split = leaves.split[rows, : max(1, most)]
        self.shape = split.shape
        self.features = split.flatten()
        self.low, self.high = leaves.low[rows].gather(1, split), leaves.high[rows].gather(1, split)

    def fit(self, low: torch.Tensor, high: torch.Tensor, z: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
        """(points, leaves): whether each leaf's box meets each point's box [low, high], and the
        L-inf distance from the point z to that intersection."""
        def along(values: torch.Tensor) -> torch.Tensor:  # (points, leaves, splits)
            return values.index_select(1, self.features).view(len(values), *self.shape)

        box_low = torch.maximum(self.low, along(low))
        box_high = torch.minimum(self.high, along(high))
        meets = (box_low <= box_high).all(dim=2) & (low <= high).all(dim=1)[:, None]
        gap = torch.maximum(box_low - along(z), along(z) - box_high).amax(dim=2)
        return meets, torch.maximum(gap, torch.maximum(low - z, z - high).amax(dim=1)[:, None])


class ForestAttack(Attack):
    """Greedy leaf-box search against a tree ensemble (always L-inf: the boxes are L-inf)."""

    minimal = True
    requires = frozenset({FOREST})

    def __init__(self, clip: bool = True, classes: int = 2, max_moves: int = 200,
                 chunk: int = 16) -> None:
        super().__init__(norm="linf", clip=clip, classes=classes, max_moves=max_moves,
                         chunk=chunk)

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
        assert isinstance(model, SklearnModel), "the forest attack reads a scikit-learn forest"
        forest = model.estimator
        flat = x.detach().flatten(1).cpu().to(torch.float32)
        leaves = leaves_of(forest, flat.shape[1], bounds if self.clip else None)
        classes = torch.as_tensor(forest.classes_)
        label = (classes[None, :] == y.cpu()[:, None]).int().argmax(dim=1)
        probability = torch.as_tensor(forest.predict_proba(flat.numpy()))
        ranked = probability.scatter(1, label[:, None], -1.0).argsort(dim=1, descending=True)
        todo = probability.argmax(dim=1) == label  # the misclassified need nothing
        best, moves = flat.clone(), torch.zeros(len(flat))
        for rank in range(min(self.params["classes"], len(classes) - 1)):
            for target in range(len(classes)):  # points grouped by target class
                group = torch.nonzero(todo & (ranked[:, rank] == target)).flatten()
                for start in range(0, len(group), self.params["chunk"]):
                    rows = group[start : start + self.params["chunk"]]
                    z, fooled, made = self._towards(leaves, flat[rows], label[rows], target,
                                                    eps, bounds)
                    moves[rows] += made
                    best[rows[fooled]] = z[fooled]
                    todo[rows[fooled]] = False
        # scikit-learn has the last word (a tie of the summed probabilities may go either way)
        kept = torch.as_tensor(forest.predict(best.numpy())) != y.cpu()
        best[~kept] = flat[~kept]
        x_adv = best.view_as(x).to(x.device)
        return AttackResult(self.finish(x, x_adv, eps, bounds).x_adv,
                            measures={"moves_mean": moves.mean().item()})

    def _towards(self, leaves: Leaves, x: torch.Tensor, label: torch.Tensor, target: int,
                 eps: float, bounds: tuple[float, float]
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Greedy moves of the points ``x`` into leaves of class ``target``: the points reached,
        whether the forest's label changed there, and the moves made."""
        low, high = x - eps, x + eps
        if self.clip:
            low, high = low.clamp(min=bounds[0]), high.clamp(max=bounds[1])
        z = x.clone()
        candidates = Boxes(leaves, torch.nonzero(leaves.label == target).flatten())
        # the allowed box only shrinks: a leaf outside every point's eps-box is never reachable
        candidates = Boxes(leaves, candidates.rows[candidates.fit(low, high, z)[0].any(dim=0)])
        if len(candidates.rows) == 0:  # no leaf of the target class within eps: nothing to try
            return z, torch.zeros(len(x), dtype=torch.bool), torch.zeros(len(x))
        active = torch.ones(len(x), dtype=torch.bool)
        fooled = torch.zeros(len(x), dtype=torch.bool)
        moves = torch.zeros(len(x))
        for _ in range(self.params["max_moves"]):
            rows = torch.nonzero(active).flatten()  # the points still searching
            if len(rows) == 0:
                break
            here = z[rows]
            reached = leaves.rows(here)  # (points, trees)
            done = leaves.probability[reached].sum(dim=1).argmax(dim=1) != label[rows]
            fooled[rows[done]] = True
            active[rows[done]] = False
            rows, here, reached = rows[~done], here[~done], reached[~done]
            if len(rows) == 0:
                break
            won = leaves.label[reached] == target  # (points, trees)
            meets, cost = candidates.fit(low[rows], high[rows], here)
            allowed = ~won.gather(1, candidates.tree.expand(len(rows), -1)) & meets
            cost = cost.clamp_min(0).masked_fill(~allowed, torch.inf)
            choice = cost.argmin(dim=1)
            stuck = torch.isinf(cost.gather(1, choice[:, None]).squeeze(1))
            active[rows[stuck]] = False
            moving = torch.nonzero(~stuck).flatten()
            chosen, targets = candidates.rows[choice[moving]], rows[moving]
            new_low = torch.maximum(leaves.low[chosen], low[targets])
            new_high = torch.minimum(leaves.high[chosen], high[targets])
            z[targets] = torch.maximum(torch.minimum(here[moving], new_high), new_low)
            low[targets], high[targets] = new_low, new_high
            moves[targets] += 1
            reachable = meets.any(dim=0)  # the boxes only shrink: a leaf they all miss is out
            if reachable.sum() < 0.8 * len(reachable):
                candidates = Boxes(leaves, candidates.rows[reachable])
        return z, fooled, moves


@hookimpl
def register_attacks(register: Any) -> None:
    register("forest", ForestAttack)
