"""Model-related transfer attacks change the backward pass of the source while crafting only; the
forward pass (and the model the cache shares) stays as it is. Both are context managers over a
torch module that undo every hook and setting on exit.

- ``skip_gradient`` (Wu et al. 2020, SGM): in every residual block z' = g(z) + f(z), the gradient
  through the residual branch f is multiplied by ``gamma`` (eq. 9: ∂z'/∂z = g' + γ·f'), so more
  of the gradient comes from the skip connections. A residual block is a module with a ``conv1``
  (the residual branch's first layer, whose input gradient is scaled) and a ``downsample``
  attribute (torchvision's and timm's ``BasicBlock`` and ``Bottleneck``), or a transformer
  block with ``norm1``/``attn`` and ``norm2``/``mlp`` (both residual branches scaled at their
  norms). A network without such blocks is left as it is (``blocks`` = 0).
- ``linear_backward`` (Guo et al. 2020, LinBP): from a given ReLU on, the backward pass treats
  every ReLU as the identity (the forward pass is unchanged), which makes the later part of the
  network linear for the gradient. Default: the later half of the network's ``nn.ReLU`` modules
  in definition order (for a ResNet, from ``layer3`` on, the paper's choice); ``linear_from``
  names the first module (and everything after it) instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from torch import nn

from .features import named as full_name


def residual_entries(module: nn.Module) -> list[nn.Module]:
    """The first layer of every residual branch ``skip_gradient`` scales."""
    entries: list[nn.Module] = []
    for block in module.modules():
        conv1 = getattr(block, "conv1", None)
        if isinstance(conv1, nn.Module) and hasattr(block, "downsample"):
            entries.append(conv1)
            continue
        norm1, attn, norm2, mlp = (getattr(block, name, None)
                                   for name in ("norm1", "attn", "norm2", "mlp"))
        if (isinstance(norm1, nn.Module) and isinstance(norm2, nn.Module)
                and isinstance(attn, nn.Module) and isinstance(mlp, nn.Module)):
            entries += [norm1, norm2]
    return entries


@contextlib.contextmanager
def skip_gradient(module: nn.Module, gamma: float) -> Iterator[int]:
    """SGM's backward pass inside the ``with``; yields the number of residual branches scaled."""
    def scale(_: nn.Module, grad_input: Any, __: Any) -> Any:
        return tuple(None if g is None else gamma * g for g in grad_input)

    entries = residual_entries(module)
    handles = [entry.register_full_backward_hook(scale) for entry in entries]
    try:
        yield len(entries)
    finally:
        for handle in handles:
            handle.remove()


def linearized(module: nn.Module, linear_from: str | None) -> list[nn.ReLU]:
    """The ReLU modules whose backward pass ``linear_backward`` makes the identity."""
    named = list(module.named_modules())
    relus = [(name, m) for name, m in named if isinstance(m, nn.ReLU)]
    if linear_from is None:
        return [m for _, m in relus[len(relus) // 2:]]
    names = [name for name, _ in named]
    start = names.index(full_name(module, linear_from, "module for linear_from"))
    later = {id(m) for _, m in named[start:]}
    return [m for _, m in relus if id(m) in later]


@contextlib.contextmanager
def linear_backward(module: nn.Module, linear_from: str | None) -> Iterator[int]:
    """LinBP's backward pass inside the ``with``; yields the number of ReLUs made linear."""
    def straight_through(_: nn.Module, inputs: Any, output: Any) -> Any:
        return inputs[0] + (output - inputs[0]).detach()  # value: ReLU; gradient: identity

    relus = linearized(module, linear_from)
    inplace = [relu.inplace for relu in relus]
    for relu in relus:
        relu.inplace = False  # an in-place ReLU would overwrite the input the hook reads
    handles = [relu.register_forward_hook(straight_through) for relu in relus]
    try:
        yield len(relus)
    finally:
        for handle in handles:
            handle.remove()
        for relu, flag in zip(relus, inplace, strict=True):
            relu.inplace = flag
