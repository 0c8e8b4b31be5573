"""A named layer of a source network and its output, for the feature-level attacks (``ila``,
``fia``). No hooks here.

The default layer is the middle one: below any wrapper (a module of fewer than three children,
such as an input normalization in front of the network, is entered through its largest child),
the child at the middle of the network's top-level children, e.g. ``layer2`` of a timm or
torchvision ResNet-18 (the depth ILA and FIA attack), ``blocks.6`` of a ViT (the middle block of a
stack of four or more) or the second hidden layer of an MLP.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator

import torch
from torch import nn

from transfer import Model


def middle_layer(module: nn.Module) -> str:
    """The dotted name of the default layer (see the module docstring)."""
    prefix, current = "", module
    while True:
        children = list(current.named_children())
        if not children:
            raise ValueError("the source network has no layers to attack")
        if len(children) >= 3:
            name, child = children[len(children) // 2]
            stack = list(child.children()) if isinstance(child, nn.Sequential | nn.ModuleList) \
                else []
            if len(stack) >= 4:  # a stack of blocks (a ViT's ``blocks``): its middle block
                return f"{prefix}{name}.{len(stack) // 2}"
            return f"{prefix}{name}"
        name, current = max(children, key=lambda c: sum(p.numel() for p in c[1].parameters()))
        prefix = f"{prefix}{name}."


def named(module: nn.Module, name: str, what: str) -> str:
    """The full dotted name of the sub-module called ``name``, or whose name ends with
    ``.name`` when one alone does (``layer2`` finds ``1.layer2`` behind an input
    normalization); an unknown name lists close ones."""
    names = [n for n, _ in module.named_modules() if n]
    if name in names:
        return name
    ending = [n for n in names if n.endswith(f".{name}")]
    if len(ending) == 1:
        return ending[0]
    close = ending or difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"the source network has no {what} {name!r}{hint}")


def layer(module: nn.Module, name: str | None) -> nn.Module:
    """The layer called ``name`` (see ``named``; default: ``middle_layer``)."""
    found = middle_layer(module) if name is None else named(module, name, "layer")
    return dict(module.named_modules())[found]


class Captured:
    """The last output of a layer while ``capturing`` is active."""

    output: torch.Tensor | None = None


@contextlib.contextmanager
def capturing(target: nn.Module) -> Iterator[Captured]:
    """Keep ``target``'s output of every forward pass inside the ``with`` (graph included)."""
    captured = Captured()

    def keep(_: nn.Module, __: object, output: torch.Tensor) -> None:
        captured.output = output

    handle = target.register_forward_hook(keep)
    try:
        yield captured
    finally:
        handle.remove()


def source_layer(model: Model, name: str | None, attack: str) -> nn.Module:
    """The layer ``name`` of the source's torch network (see ``layer``)."""
    module = model.torch_module
    if module is None:
        raise ValueError(f"{attack} needs a torch network; {type(model).__name__} has none")
    return layer(module, name)


def output_of(model: Model, target: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``target``'s output when the model classifies ``x`` (graph kept, for gradients)."""
    with capturing(target) as captured:
        model.logits(x)
    assert captured.output is not None
    return captured.output
