"""The node structure of decision trees read from a file, checked before any tree is used.

skops leaves scikit-learn's ``Tree`` (the nodes of every decision tree, random forest and
gradient-boosting model) untrusted: scikit-learn follows a tree's child and feature indices
without bounds checks, so a crafted file loads fine and then reads memory out of bounds (or
crashes) at its first prediction. A tree is used here only when every internal node's children
come after it and inside the tree (so every walk from the root ends at a leaf, inside the
arrays), every leaf has no children, and every split feature is one of the tree's features,
which are as many as its estimator's inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

TREE = "sklearn.tree._tree.Tree"  # the one type skops leaves untrusted that is checked here


def check_trees(loaded: Any, source: str) -> None:
    """Raise ``ValueError`` naming ``source`` unless every tree inside ``loaded`` is sound."""
    from sklearn.tree._tree import Tree

    checked: set[int] = set()
    for owner in _objects(loaded):  # an estimator comes before its ``tree_``
        tree = getattr(owner, "tree_", None) if not isinstance(owner, Tree) else owner
        if not isinstance(tree, Tree) or id(tree) in checked:
            continue
        checked.add(id(tree))
        problem = _unsound(tree, getattr(owner, "n_features_in_", tree.n_features))
        if problem is not None:
            raise ValueError(f"refusing to load {source}: a decision tree in it {problem} (a "
                             f"damaged or crafted file; scikit-learn would read memory out of "
                             f"bounds)")


def _unsound(tree: Any, inputs: int) -> str | None:
    """What is wrong with ``tree`` for an estimator of ``inputs`` features, else ``None``."""
    if tree.n_features != inputs:
        return f"splits {tree.n_features} features where its estimator has {inputs}"
    count = tree.node_count
    if count < 1:  # a file's node array sets the count (scikit-learn's ``__setstate__``)
        return "has no nodes"
    left, right = np.asarray(tree.children_left), np.asarray(tree.children_right)
    feature = np.asarray(tree.feature)
    node = np.arange(count)
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        return "has a node with one child"
    inner = ~leaf
    for name, child in (("left", left), ("right", right)):
        bad = inner & ((child <= node) | (child >= count))
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            return f"sends node {k} to {name} child {int(child[k])} (of {count} nodes)"
    bad = inner & ((feature < 0) | (feature >= inputs))
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        return f"splits node {k} on feature {int(feature[k])} (of {inputs})"
    return None


def _objects(root: Any) -> Iterator[Any]:
    """Every object reachable from ``root`` through attributes, containers and object arrays."""
    stack, seen = [root], set()
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, type)):
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            if item.dtype == object:
                stack.extend(item.ravel())
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
