"""Attacks on conv nets at CIFAR size: our FGSM and PGD-10 against the best bare autograd loop over
batch sizes (the whole batch, 128, 64, 32) and against torchattacks, on the same network and
points: timm ``resnet18`` at 32x32 and our small ``cnn``, random-initialised (the cost of an
attack does not depend on the weights). PGD runs without a random start, so all three produce the
same batch up to float rounding (the largest difference is printed).

torchattacks is the peer library: ``pip install --no-deps "torchattacks>=3.5"`` (not needed
otherwise; README says why --no-deps).

    python benchmarks/bench_conv_attacks.py [--points 256] [--repeats 5] [--steps 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from transfer import freeze, load_registry

EPS = 8 / 255


def bare(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, alpha: float,
         batch: int) -> torch.Tensor:
    """The minimum an attack must do, in chunks of ``batch`` points."""
    out = []
    for xs, ys in zip(x.split(batch), y.split(batch), strict=True):
        x_adv = xs
        for _ in range(steps):
            x_adv = x_adv.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(F.cross_entropy(net(x_adv), ys, reduction="sum"), x_adv)
            x_adv = (xs + (x_adv + alpha * grad.sign() - xs).clamp(-EPS, EPS)).clamp(0, 1)
        out.append(x_adv.detach())
    return torch.cat(out)


def interleaved(calls: dict[str, Callable[[], torch.Tensor]], repeats: int
                ) -> dict[str, tuple[float, torch.Tensor]]:
    """The median time and the result of each call, the calls taking turns in every repeat (so
    that a machine that speeds up or slows down over the run favours none of them)."""
    for call in calls.values():
        call()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in calls}
    results: dict[str, torch.Tensor] = {}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            results[name] = call()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), results[name]) for name in calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    try:
        import torchattacks
    except ImportError:
        torchattacks = None
        print("torchattacks is not installed (pip install --no-deps \"torchattacks>=3.5\"): "
              "its column is empty")
    registry = load_registry()
    x = torch.rand(args.points, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 10, (args.points,), generator=torch.Generator().manual_seed(1))
    print(f"{args.points} points, 3x32x32, eps 8/255, PGD-{args.steps} without random start, "
          f"median of {args.repeats}, torch threads {torch.get_num_threads()}")
    print(f"{'model':10}{'attack':8}{'ours s':>9}{'bare s':>9}{'(batch)':>9}{'t.a. s':>9}"
          f"{'ours/bare':>11}{'ours/t.a.':>11}{'max diff':>10}")
    for family in ("timm:resnet18", "cnn"):
        model = registry.create("model", family)
        model.input_shape, model.n_classes = (3, 32, 32), 10
        torch.manual_seed(0)
        model.net = freeze(model.build((3, 32, 32), 10))
        net = model.net
        for name, steps in (("fgsm", 1), ("pgd", args.steps)):
            alpha = EPS if steps == 1 else 2.5 * EPS / steps
            attack = (registry.create("attack", "fgsm") if steps == 1 else
                      registry.create("attack", "pgd", steps=steps, random_start=False))
            calls: dict[str, Callable[[], torch.Tensor]] = {
                "ours": lambda a=attack, m=model: a(m, x, y, EPS, bounds=(0.0, 1.0)).x_adv,
                **{str(b): (lambda b=b, s=steps, al=alpha, n=net: bare(n, x, y, s, al, b))
                   for b in (args.points, 128, 64, 32)}}
            if torchattacks is not None:
                other = (torchattacks.FGSM(net, eps=EPS) if steps == 1 else
                         torchattacks.PGD(net, eps=EPS, alpha=alpha, steps=steps,
                                          random_start=False))
                calls["peer"] = lambda o=other: o(x, y)
            timings = interleaved(calls, args.repeats)
            ours, ours_x = timings["ours"]
            best = min((timings[str(b)][0], b) for b in (args.points, 128, 64, 32))
            peer, diff = float("nan"), float("nan")
            if "peer" in timings:
                peer = timings["peer"][0]
                diff = (ours_x - timings["peer"][1]).abs().max().item()
            batch = "all" if best[1] == args.points else str(best[1])
            print(f"{family.removeprefix('timm:'):10}{name:8}{ours:9.3f}{best[0]:9.3f}"
                  f"{batch:>9}{peer:9.3f}{ours / best[0]:11.2f}{ours / peer:11.2f}{diff:10.2e}")


if __name__ == "__main__":
    main()
