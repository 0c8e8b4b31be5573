"""The input transformations of the transfer attacks, composable (``transforms = [...]`` of
``mifgsm`` and the attacks built on it). Each input transformation turns one batch into the copies
whose loss gradients are averaged at every step; the gradient flows back through the
transformation to the input. ``translation`` smooths the averaged gradient instead.

- ``diversity`` (Xie et al. 2019, DI): with probability ``diversity_prob`` [0.5], resize to a
  random side in [s, ⌈s·``resize_rate``⌉] (``resize_rate`` [1.1]: 299 → 330 px in the paper),
  pad at random to ⌈s·resize_rate⌉ and resize back to s; one copy.
- ``scale`` (Lin et al. 2020, SI): the copies x / 2^i, i < ``scale_copies`` [5].
- ``admix`` (Wang et al. 2021): ``admix_copies`` [3] copies x + ``admix_portion`` [0.2]·x',
  x' another point of the batch (a seeded permutation), each then scaled as ``scale`` does.
- ``translation`` (Dong et al. 2019, TI): the gradient convolved per channel with a Gaussian
  kernel of side ``kernel_size`` [15] and ``kernel_sigma`` [3] radii (the paper's 15 × 15 at 299
  px), which averages the gradient over small translations of the input.

No hooks here: ``mifgsm`` composes these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

TRANSFORMS = ("diversity", "scale", "admix", "translation")
Copy = Callable[[torch.Tensor], torch.Tensor]  # x (requiring grad) -> a transformed batch


@dataclass(frozen=True)
class TransformSettings:
    """The transformations' hyper-parameters (each paper's default)."""

    diversity_prob: float = 0.5
    resize_rate: float = 1.1
    scale_copies: int = 5
    admix_copies: int = 3
    admix_portion: float = 0.2
    kernel_size: int = 15
    kernel_sigma: float = 3.0

    def check(self, transforms: Sequence[str]) -> None:
        unknown = [t for t in transforms if t not in TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown transforms {unknown}; choose from {', '.join(TRANSFORMS)}")
        if not 0 <= self.diversity_prob <= 1 or self.resize_rate < 1:
            raise ValueError("diversity_prob must lie in [0, 1] and resize_rate be at least 1")
        if self.scale_copies < 1 or self.admix_copies < 1 or self.kernel_size < 1:
            raise ValueError("scale_copies, admix_copies and kernel_size must be at least 1")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, not {self.kernel_size}")


def diverse(x: torch.Tensor, rate: float, prob: float, generator: torch.Generator) -> torch.Tensor:
    """Xie et al.'s random resize and pad of an image batch (one draw for the whole batch, as the
    paper's implementation), back at the input's side so that any model accepts it."""
    if x.dim() != 4 or torch.rand(1, generator=generator).item() >= prob:
        return x
    side = x.shape[-1]
    outer = math.ceil(side * rate)
    inner = int(torch.randint(side, outer + 1, (1,), generator=generator))
    resized = F.interpolate(x, size=(inner, inner), mode="bilinear", align_corners=False)
    room = outer - inner
    top = int(torch.randint(0, room + 1, (1,), generator=generator))
    left = int(torch.randint(0, room + 1, (1,), generator=generator))
    padded = F.pad(resized, (left, room - left, top, room - top), value=0.0)
    return F.interpolate(padded, size=x.shape[-2:], mode="bilinear", align_corners=False)


def copies(x: torch.Tensor, transforms: Sequence[str], settings: TransformSettings,
           generator: torch.Generator) -> list[Copy]:
    """The copies whose gradients one step averages: the identity composed with each input
    transformation in ``transforms``' order (``translation`` acts on the gradient instead)."""
    made: list[Copy] = [lambda v: v]
    for name in transforms:
        if name == "diversity":
            made = [_then(c, _diversity(settings, generator)) for c in made]
        elif name == "scale":
            made = [_then(c, _scaled(i)) for c in made for i in range(settings.scale_copies)]
        elif name == "admix":
            mixes = [torch.randperm(len(x), generator=generator).to(x.device)
                     for _ in range(settings.admix_copies)]
            made = [_then(c, _mixed(order, settings.admix_portion, _scaled(i)))
                    for c in made for order in mixes for i in range(settings.scale_copies)]
    return made


def _then(first: Copy, second: Copy) -> Copy:
    return lambda v: second(first(v))


def _diversity(settings: TransformSettings, generator: torch.Generator) -> Copy:
    return lambda v: diverse(v, settings.resize_rate, settings.diversity_prob, generator)


def _scaled(i: int) -> Copy:
    return lambda v: v / 2**i


def _mixed(order: torch.Tensor, portion: float, then: Copy) -> Copy:
    return lambda v: then(v + portion * v[order].detach())


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """Dong et al.'s kernel: the standard normal density on ``size`` points evenly spread over
    [−``sigma``, ``sigma``], outer product, normalised to sum 1 (shape ``(size, size)``)."""
    from scipy.stats import norm

    points = torch.linspace(-sigma, sigma, size, dtype=torch.float64)
    density = torch.as_tensor(norm.pdf(points.numpy()), dtype=torch.float64)
    kernel = torch.outer(density, density)
    return (kernel / kernel.sum()).float()


def translated(grad: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """The gradient convolved with ``gaussian_kernel`` per channel (zero padding, same size)."""
    if grad.dim() != 4 or size == 1:
        return grad
    channels = grad.shape[1]
    kernel = gaussian_kernel(size, sigma).to(grad)[None, None].repeat(channels, 1, 1, 1)
    return F.conv2d(grad, kernel, padding=size // 2, groups=channels)
