"""A protocol for layers that know their own Lipschitz constant.

A plugin's module (e.g. a maxout layer or an RBF-SVM twin) implements
``lipschitz_bound(input_shape) -> float``: an upper bound on its L2 Lipschitz constant at that
input shape (``inf`` where none is known). The ``lipschitz`` study then uses it instead of its
own per-layer rules; the method's docstring says how the bound is obtained.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class LipschitzBounded(Protocol):
    def lipschitz_bound(self, input_shape: tuple[int, ...]) -> float:
        """An upper bound on the module's L2 Lipschitz constant for inputs of this shape."""
        ...
