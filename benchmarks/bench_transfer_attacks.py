"""Each transfer attack's cost per point against the same algorithm written as a bare torch loop:
timm ``resnet18`` random-initialised (the cost of an attack does not depend on the weights) at
32 px (small-image stem, ``--points`` points) and at 224 px (``--big-points`` points), L-inf eps
16/255, 10 steps. The bare loops are the minimum each algorithm needs (input gradients only,
parameters frozen), with a transformation's copies taken one by one and, where there are several,
also all at once in one batch (TransferAttack's way); the faster of the two is the bare time.
Prints the gradients per point each attack counted, its seconds per point, and ours / bare (median
of ``--repeats``, the calls taking turns in every repeat).

    python benchmarks/bench_transfer_attacks.py [--points 16] [--big-points 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from transfer import freeze, load_registry
from transfer.plugins.attacks.backward_passes import linear_backward, skip_gradient
from transfer.plugins.attacks.features import capturing, layer
from transfer.plugins.attacks.input_transforms import diverse, translated

EPS, STEPS = 16 / 255, 10
Grad = Callable[[torch.Tensor], torch.Tensor]


def loss_grad(net: nn.Module, y: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor]
              = lambda v: v) -> Grad:
    def grad(x: torch.Tensor) -> torch.Tensor:
        x = x.detach().requires_grad_(True)
        return torch.autograd.grad(F.cross_entropy(net(transform(x)), y, reduction="sum"), x)[0]
    return grad


def averaged(grads: list[Grad]) -> Grad:
    return lambda x: sum(g(x) for g in grads) / len(grads)


def batched(net: nn.Module, y: torch.Tensor, copies: Callable[[torch.Tensor], torch.Tensor],
            k: int) -> Grad:
    """The mean gradient over k copies made in one batch (TransferAttack's way)."""
    def grad(x: torch.Tensor) -> torch.Tensor:
        x = x.detach().requires_grad_(True)
        loss = F.cross_entropy(net(copies(x)), y.repeat(k), reduction="sum")
        return torch.autograd.grad(loss, x)[0] / k
    return grad


def momentum_loop(x: torch.Tensor, grad: Grad, *, nesterov: bool = False, decay: float = 1.0,
                  variance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                  smooth: Callable[[torch.Tensor], torch.Tensor] = lambda g: g) -> torch.Tensor:
    alpha = EPS / STEPS
    g_sum, v, x_adv = torch.zeros_like(x), torch.zeros_like(x), x
    for _ in range(STEPS):
        g = smooth(grad(x_adv + alpha * decay * g_sum if nesterov else x_adv))
        if variance is not None:
            g, v = g + v, variance(x_adv, g)
        g_sum = decay * g_sum + g / g.abs().sum(dim=(1, 2, 3), keepdim=True)
        x_adv = (x + (x_adv + alpha * g_sum.sign() - x).clamp(-EPS, EPS)).clamp(0, 1).detach()
    return x_adv


def bare_attacks(net: nn.Module, x: torch.Tensor, y: torch.Tensor
                 ) -> dict[str, list[Callable[[], torch.Tensor]]]:
    plain = loss_grad(net, y)
    generator = torch.Generator().manual_seed(0)
    n = len(x)

    def vt(x_at: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        shifts = [(torch.rand(x.shape, generator=generator) * 2 - 1) * 1.5 * EPS
                  for _ in range(20)]
        return sum(plain(x_at + s) for s in shifts) / 20 - g

    scales = averaged([loss_grad(net, y, lambda v, i=i: v / 2**i) for i in range(5)])
    scales_b = batched(net, y, lambda v: torch.cat([v / 2**i for i in range(5)]), 5)
    orders = [torch.randperm(n, generator=generator) for _ in range(3)]
    admix = averaged([loss_grad(net, y, lambda v, o=o, i=i: (v + 0.2 * v[o].detach()) / 2**i)
                      for o in orders for i in range(5)])
    admix_b = batched(net, y, lambda v: torch.cat([(v + 0.2 * v[o].detach()) / 2**i
                                                   for o in orders for i in range(5)]), 15)
    di = loss_grad(net, y, lambda v: diverse(v, 1.1, 0.5, generator))

    def sgm() -> torch.Tensor:
        with skip_gradient(net, 0.2):
            return momentum_loop(x, plain)

    def linbp() -> torch.Tensor:
        with linear_backward(net, None):
            return momentum_loop(x, plain)

    def ila() -> torch.Tensor:
        guide = momentum_loop(x, plain, decay=0.0)
        middle = layer(net, None)
        with torch.no_grad(), capturing(middle) as seen:
            net(x)
            clean = seen.output.flatten(1)
            net(guide)
            change = seen.output.flatten(1) - clean
        direction = change / change.norm(dim=1, keepdim=True)

        def projection(v: torch.Tensor) -> torch.Tensor:
            v = v.detach().requires_grad_(True)
            with capturing(middle) as now:
                net(v)
            return torch.autograd.grad(((now.output.flatten(1) - clean) * direction).sum(), v)[0]
        return momentum_loop(x, projection, decay=0.0)

    def fia() -> torch.Tensor:
        middle = layer(net, None)
        total = 0.0
        for _ in range(30):
            keep = (torch.rand(x.shape, generator=generator) >= 0.3).float()
            point = (x * keep).requires_grad_(True)
            with capturing(middle) as seen:
                logits = net(point)
            total = total + torch.autograd.grad(logits.gather(1, y[:, None]).sum(),
                                                seen.output)[0]
        weights = (total / total.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).detach()

        def weighted(v: torch.Tensor) -> torch.Tensor:
            v = v.detach().requires_grad_(True)
            with capturing(middle) as now:
                net(v)
            return torch.autograd.grad(-(weights * now.output).sum(), v)[0]
        return momentum_loop(x, weighted)

    return {
        "mifgsm": [lambda: momentum_loop(x, plain)],
        "nifgsm": [lambda: momentum_loop(x, plain, nesterov=True)],
        "vmifgsm": [lambda: momentum_loop(x, plain, variance=vt)],
        "difgsm": [lambda: momentum_loop(x, di)],
        "tifgsm": [lambda: momentum_loop(x, plain, smooth=lambda g: translated(g, 15, 3.0))],
        "sinifgsm": [lambda: momentum_loop(x, scales, nesterov=True),
                     lambda: momentum_loop(x, scales_b, nesterov=True)],
        "admix": [lambda: momentum_loop(x, admix), lambda: momentum_loop(x, admix_b)],
        "sgm": [sgm], "linbp": [linbp], "ila": [ila], "fia": [fia],
    }


def measure(side: int, points: int, repeats: int) -> None:
    registry = load_registry()
    model = registry.create("model", "timm:resnet18")
    model.input_shape, model.n_classes = (3, side, side), 10
    torch.manual_seed(0)
    model.net = freeze(model.build((3, side, side), 10))
    x = torch.rand(points, 3, side, side, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 10, (points,), generator=torch.Generator().manual_seed(1))
    bare = bare_attacks(model.net, x, y)
    print(f"\ntimm resnet18 at {side} px, {points} points, eps 16/255, {STEPS} steps, median of "
          f"{repeats}, torch threads {torch.get_num_threads()}")
    print(f"{'attack':10}{'grads/pt':>10}{'ours s/pt':>11}{'bare s/pt':>11}{'ours/bare':>11}")
    for name, loops in bare.items():
        attack = registry.create("attack", name)
        calls: dict[str, Callable[[], object]] = {
            "ours": lambda a=attack: a(model, x, y, EPS, bounds=(0.0, 1.0), seed=0)}
        calls.update({f"bare{k}": loop for k, loop in enumerate(loops)})
        times: dict[str, list[float]] = {k: [] for k in calls}
        results = {k: call() for k, call in calls.items()}  # warm-up
        for _ in range(repeats):
            for key, call in calls.items():
                start = time.perf_counter()
                call()
                times[key].append(time.perf_counter() - start)
        ours = statistics.median(times["ours"])
        best = min(statistics.median(t) for k, t in times.items() if k != "ours")
        grads = results["ours"].measures.get("gradients_per_point", math.nan)  # type: ignore
        print(f"{name:10}{grads:>10.0f}{ours / points:>11.4f}{best / points:>11.4f}"
              f"{ours / best:>10.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=16)
    parser.add_argument("--big-points", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    measure(32, args.points, args.repeats)
    measure(224, args.big_points, args.repeats)


if __name__ == "__main__":
    main()
