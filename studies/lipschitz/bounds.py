"""Per-layer L2 Lipschitz upper bounds of a network (Szegedy et al. 2013, §4.3 and Table 5;
Virmaux & Scaman 2018; Sedghi et al. 2019).

- linear layers: the exact largest singular value of the weight;
- convolutions (any stride, padding, groups) and average pooling: power iteration on the operator
  itself, its transpose from autograd, at the layer's real input shape;
- batch-norm in eval mode: the largest |γ/√(σ² + ε)|;
- ReLU, max-pool with non-overlapping windows, flatten, dropout (eval): 1;
- residual blocks (timm ResNet BasicBlock / Bottleneck): bound(shortcut) + bound(branch);
- any module defining ``lipschitz_bound(input_shape) -> float`` (maxout layers, binary RBF-SVM
  twins): what it says.

Any other layer is reported by name as unsupported, never silently taken as 1; the network's
bound is then infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from transfer import LipschitzBounded, forward_hooked

ONE = (nn.ReLU, nn.Flatten, nn.Identity, nn.Dropout)
LINEAR_OPERATORS = (nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Conv2d)
RESIDUAL_BLOCKS = ("BasicBlock", "Bottleneck")


@dataclass
class LayerBound:
    name: str
    kind: str
    input_shape: tuple[int, ...]
    detail: str
    bound: float


def power_iteration(operator: Any, input_shape: tuple[int, ...], iterations: int = 2000,
                    generator: torch.Generator | None = None) -> float:
    """Largest singular value of a linear map given as a function, by power iteration on AᵀA
    (Aᵀ from autograd: Aᵀy = ∇ₓ⟨A x, y⟩). It approaches σ_max from below, so it runs until the
    estimate changes by less than 1e-13 relatively or ``iterations`` are spent."""
    generator = generator or torch.Generator().manual_seed(0)
    v = torch.randn((1, *input_shape), generator=generator, dtype=torch.float64)
    v /= v.norm()
    sigma = 0.0
    for _ in range(iterations):
        x = v.clone().requires_grad_(True)
        out = operator(x)
        (back,) = torch.autograd.grad(out, x, grad_outputs=out.detach())
        norm = back.norm().item()
        if norm == 0:
            return 0.0
        sigma_new = math.sqrt(norm)
        v = (back / back.norm()).detach()
        if abs(sigma_new - sigma) < 1e-13 * max(sigma_new, 1e-30):
            return sigma_new
        sigma = sigma_new
    return sigma


def linear_operator(layer: nn.Module) -> Any:
    """The linear part of a conv or pooling layer as a float64 function (bias dropped)."""
    if isinstance(layer, nn.Conv2d):
        weight = layer.weight.detach().double()

        def conv(x: torch.Tensor) -> torch.Tensor:
            if layer.padding_mode != "zeros":
                pad = layer._reversed_padding_repeated_twice
                x = nn.functional.pad(x, pad, mode=layer.padding_mode)
                return nn.functional.conv2d(x, weight, None, layer.stride, 0, layer.dilation,
                                            layer.groups)
            return nn.functional.conv2d(x, weight, None, layer.stride, layer.padding,
                                        layer.dilation, layer.groups)

        return conv
    return lambda x: layer(x)


def _pool_overlap(layer: nn.MaxPool2d) -> float:
    kernel = layer.kernel_size if isinstance(layer.kernel_size, tuple) else (layer.kernel_size,) * 2
    stride = layer.stride if isinstance(layer.stride, tuple) else (layer.stride,) * 2
    windows = math.prod(math.ceil(k / s) for k, s in zip(kernel, stride, strict=True))
    return math.sqrt(windows)  # each input appears in at most this many windows


def input_shapes(module: nn.Module, sample: torch.Tensor) -> dict[nn.Module, tuple[int, ...]]:
    """The input shape (without batch) every sub-module sees on ``sample``."""
    shapes: dict[nn.Module, tuple[int, ...]] = {}

    def record(layer: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        shapes.setdefault(layer, tuple(args[0].shape[1:]))

    forward_hooked(module, sample, record)
    return shapes


def layer_bounds(
    module: nn.Module, sample: torch.Tensor, iterations: int = 2000
) -> list[LayerBound]:
    """The factors whose product bounds the network's L2 Lipschitz constant, in forward order."""
    shapes = input_shapes(module, sample)
    rows: list[LayerBound] = []
    _walk(module, "", shapes, rows, iterations)
    return rows


def _walk(module: nn.Module, name: str, shapes: dict, rows: list[LayerBound], iterations: int
          ) -> None:
    kind = type(module).__name__
    if isinstance(module, nn.Sequential) or kind in ("ResNet", "LinearTwin"):
        for child_name, child in module.named_children():
            _walk(child, f"{name}.{child_name}".strip("."), shapes, rows, iterations)
        return
    if module not in shapes and not isinstance(module, ONE):
        return  # not used in the forward pass (e.g. a disabled head)
    shape = shapes.get(module, ())
    rows.append(LayerBound(name or kind, kind, shape, *bound_of(module, shape, shapes,
                                                                iterations)))


def bound_of(module: nn.Module, shape: tuple[int, ...], shapes: dict, iterations: int
             ) -> tuple[str, float]:
    """(description, bound) of one factor."""
    kind = type(module).__name__
    if isinstance(module, LipschitzBounded):
        bound = float(module.lipschitz_bound(shape))
        doc = (module.lipschitz_bound.__doc__ or "the module's own bound").strip()
        return " ".join(doc.split()), bound
    if isinstance(module, ONE) or (isinstance(module, nn.Dropout) and not module.training):
        return "1-Lipschitz", 1.0
    if isinstance(module, nn.Linear):
        sigma = torch.linalg.matrix_norm(module.weight.detach().double(), ord=2).item()
        return f"exact σ_max of {tuple(module.weight.shape)}", sigma
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        assert module.running_var is not None, "batch-norm without running statistics"
        scale = module.weight.detach().double() / torch.sqrt(
            module.running_var.double() + module.eps)
        return "max |γ/√(σ²+ε)|", scale.abs().max().item()
    if isinstance(module, nn.MaxPool2d):
        return "max-pool window overlap", _pool_overlap(module)
    if isinstance(module, LINEAR_OPERATORS) or (
            kind == "SelectAdaptivePool2d" and getattr(module, "pool_type", "") == "avg"):
        stride = getattr(module, "stride", "")
        sigma = power_iteration(linear_operator(module), shape, iterations)
        return f"power iteration (stride {stride})", sigma
    if kind in RESIDUAL_BLOCKS:
        branch = 1.0
        for child_name in ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3"):
            child = getattr(module, child_name, None)
            if child is not None:
                branch *= bound_of(child, shapes[child], shapes, iterations)[1]
        shortcut = 1.0
        if isinstance(module.downsample, nn.Sequential):
            for child in module.downsample:
                if child in shapes:
                    shortcut *= bound_of(child, shapes[child], shapes, iterations)[1]
        return f"shortcut {shortcut:.3g} + branch {branch:.3g}", shortcut + branch
    return f"unsupported layer type {kind}", math.inf
