"""The cost of adversarial training: seconds per epoch of PGD training (``steps`` steps) against
clean training of the same model, next to the bound of (steps + 1) forward–backward passes per
batch, and against a bare torch loop doing the same work (no attack plugin, no checks).

Ours is timed twice: the whole epoch, and the epoch without the held-out PGD check that selects
the epoch (it attacks the validation split every epoch, which clean training does not do).

    python benchmarks/bench_adversarial_training.py [--model mlp] [--epochs 5] [--steps 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from torch import nn

from transfer import load_registry, stratified_split
from transfer.training.adversarial import AdversarialExamples


def bare_epoch(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, steps: int,
               eps: float, generator: torch.Generator, optimizer: torch.optim.Optimizer) -> None:
    """One epoch of the best plain loop: PGD from a random start inlined (steps = 0: clean)."""
    net.train()
    order = torch.randperm(len(x), generator=generator)
    alpha = 2.5 * eps / max(steps, 1)
    for start in range(0, len(order), batch):
        xb, yb = x[order[start : start + batch]], y[order[start : start + batch]]
        if steps:
            net.eval()
            delta = (torch.rand(xb.shape, generator=generator) * 2 - 1) * eps
            x_adv = (xb + delta).clamp(0, 1)
            for _ in range(steps):
                x_adv.requires_grad_(True)
                loss = nn.functional.cross_entropy(net(x_adv), yb, reduction="sum")
                (grad,) = torch.autograd.grad(loss, x_adv)
                x_adv = torch.minimum(torch.maximum(x_adv.detach() + alpha * grad.sign(),
                                                    xb - eps), xb + eps).clamp(0, 1)
            net.train()
            xb = x_adv.detach()
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(xb), yb).backward()
        optimizer.step()


def time_ours(registry: Any, data: Any, name: str, epochs: int, adversarial: dict | None
              ) -> tuple[float, float]:
    """(seconds per epoch, of which the held-out check) of ``Model.fit``."""
    params: dict[str, Any] = {"epochs": epochs, "patience": epochs}
    if adversarial:
        params["adversarial"] = adversarial
    model = registry.create("model", name, **params)
    held_out = AdversarialExamples.held_out
    spent = [0.0]

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return held_out(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    AdversarialExamples.held_out = timed  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        model.fit(data, 0)
        total = time.perf_counter() - start
    finally:
        AdversarialExamples.held_out = held_out  # type: ignore[method-assign]
    run = len(model.curves()["valid_loss"])
    return total / run, spent[0] / run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    registry = load_registry()
    data = registry.create("dataset", "digits")
    adversarial = {"method": "pgd", "eps": args.eps, "steps": args.steps}
    rows: dict[str, list[float]] = {k: [] for k in ("clean", "pgd", "pgd_check", "bare_clean",
                                                    "bare_pgd")}
    train, _ = stratified_split(data.y_train.numpy(), 0.1, 0)
    x, y = data.x_train[train], data.y_train[train]
    time_ours(registry, data, args.model, 1, adversarial)  # warm-up: kernels, thread pools
    for _ in range(args.repeats):
        rows["clean"].append(time_ours(registry, data, args.model, args.epochs, None)[0])
        total, check = time_ours(registry, data, args.model, args.epochs, adversarial)
        rows["pgd"].append(total)
        rows["pgd_check"].append(check)
        for key, steps in (("bare_clean", 0), ("bare_pgd", args.steps)):
            torch.manual_seed(0)
            net = registry.create("model", args.model).build(data.input_shape, data.n_classes)
            optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
            generator = torch.Generator().manual_seed(0)
            start = time.perf_counter()
            for _ in range(args.epochs):
                bare_epoch(net, x, y, 64, steps, args.eps, generator, optimizer)
            rows[key].append((time.perf_counter() - start) / args.epochs)
    m = {k: statistics.median(v) for k, v in rows.items()}
    bound = args.steps + 1
    print(f"{args.model} on digits ({len(x)} training points, batch 64), {args.epochs} epochs, "
          f"median of {args.repeats}; PGD-{args.steps} at eps {args.eps}, torch threads "
          f"{torch.get_num_threads()}")
    print(f"{'':28}{'s/epoch':>10}{'x clean':>10}{'/ bound':>10}")
    print(f"{'ours, clean':28}{m['clean']:10.3f}")
    for label, value in (("ours, pgd (whole epoch)", m["pgd"]),
                         ("ours, pgd (without check)", m["pgd"] - m["pgd_check"])):
        ratio = value / m["clean"]
        print(f"{label:28}{value:10.3f}{ratio:10.2f}{ratio / bound:10.2f}")
    print(f"{'bare torch, clean':28}{m['bare_clean']:10.3f}")
    bare = m["bare_pgd"] / m["bare_clean"]
    print(f"{'bare torch, pgd':28}{m['bare_pgd']:10.3f}{bare:10.2f}{bare / bound:10.2f}")
    print(f"ours / bare torch, pgd epoch without the check: "
          f"{(m['pgd'] - m['pgd_check']) / m['bare_pgd']:.2f}; bound = steps + 1 = {bound} passes")


if __name__ == "__main__":
    main()
