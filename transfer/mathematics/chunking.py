"""How many points an attack processes at once, sized from the memory at hand: the activations of
one point (measured with forward hooks on one forward pass), about three times over for what an
attack step keeps for its backward pass, against half the free GPU memory or a quarter of the
available RAM; on a CPU also no more than keeps the activations near the caches (faster, as
measured below). ``TRANSFER_CHUNK`` sets the number directly. A small model on small inputs never
needs chunks; a ViT on ImageNet-size images gets a few dozen points at a time, so memory stays
flat however many points a study attacks."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from ..contracts.models import Model

_measured: dict[tuple[int, tuple[int, ...], str], int] = {}
KEPT_PER_ACTIVATION = 3  # forward activations, their gradients, and the optimiser's temporaries
# On a CPU, batches whose activations stay near the caches run fastest: measured on 2 cores at
# 32x32, PGD's best batch was 32 points for a small CNN (0.9 MB of activations per point) and
# 32-64 for a ResNet-18 (9 MB), while an MLP on 8x8 digits is fastest whole. So a CPU chunk
# holds about CPU_CHUNK_BYTES of kept activations, and never fewer than CPU_MIN_POINTS points.
CPU_CHUNK_BYTES = 32 * 2**20
CPU_MIN_POINTS = 32


def memory_budget(device: torch.device) -> int:
    """Bytes an attack may fill: half the free memory of a GPU, a quarter of the available RAM."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free // 2)
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 4
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4)


def forward_hooked(module: torch.nn.Module, sample: torch.Tensor,
                   hook: Callable[[torch.nn.Module, Any, Any], None],
                   leaves_only: bool = False) -> None:
    """One forward pass of ``sample`` without gradients, ``hook(layer, inputs, output)`` called
    after every sub-module (or every leaf), the hooks removed afterwards."""
    layers = [m for m in module.modules() if not (leaves_only and list(m.children()))]
    hooks = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.no_grad():
            module(sample)
    finally:
        for handle in hooks:
            handle.remove()


def activation_bytes(module: torch.nn.Module, point: torch.Tensor) -> int:
    """The bytes of every leaf module's output for one point (one forward pass, no gradient)."""
    total = point.numel() * point.element_size()

    def count(_: torch.nn.Module, __: Any, output: Any) -> None:
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    forward_hooked(module, point, count, leaves_only=True)
    return total


def points_per_chunk(model: Model, x: torch.Tensor, points: int | None = None) -> int:
    """The number of points of ``x`` to attack at once (all of them when they fit); ``points``:
    of that many points like ``x``'s (e.g. several transformed copies of ``x`` in one batch)."""
    configured = os.environ.get("TRANSFER_CHUNK")
    if configured:
        return max(1, int(configured))
    wanted = len(x) if points is None else points
    module = model.torch_module
    if module is None or wanted <= 1:
        return max(wanted, 1)
    device = x.device if x.device.type == "cuda" else model.device
    key = (id(module), tuple(x.shape[1:]), str(device))
    if key not in _measured:
        per_point = max(activation_bytes(module, x[:1].to(model.device)) * KEPT_PER_ACTIVATION, 1)
        fits = max(1, memory_budget(device) // per_point)
        if device.type == "cpu":
            fits = min(fits, max(CPU_MIN_POINTS, CPU_CHUNK_BYTES // per_point))
        _measured[key] = fits
    return int(min(_measured[key], wanted))
