"""Our FGSM and PGD-10 against a bare torch autograd loop on the same model and batch.

The bare loop is the minimum any attack must do: k forward + backward passes with gradients w.r.t.
the input only (model in eval mode, parameters frozen). Prints the median of 5 runs (each the mean
of 20 calls, ours and bare alternating), the median ratio ours / bare (target: at most 1.10), and
whether both give the same adversarial batch.

    python benchmarks/bench_attacks.py [--points 360] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from torch.nn import functional as F

from transfer import ModelSpec, load_registry
from transfer.context import ModelCache


def bare_loop(net, x, y, eps, alpha, steps):
    x_adv = x
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        loss = F.cross_entropy(net(x_adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x_adv)
        x_adv = (x + (x_adv + alpha * grad.sign() - x).clamp(-eps, eps)).clamp(0, 1)
    return x_adv.detach()


def paired_timings(ours, bare, repeats, calls=20):
    """Median seconds per call of each, and the median of the per-repeat ratios; the two are
    timed alternately within every repeat, so machine noise hits both alike."""
    ours(), bare()  # warm-up
    times = {"ours": [], "bare": []}
    for _ in range(repeats):
        for name, function in (("ours", ours), ("bare", bare)):
            start = time.perf_counter()
            for _ in range(calls):
                function()
            times[name].append((time.perf_counter() - start) / calls)
    ratios = [o / b for o, b in zip(times["ours"], times["bare"], strict=True)]
    median = statistics.median
    return median(times["ours"]), median(times["bare"]), median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=360)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    registry = load_registry()
    data = registry.create("dataset", "digits")
    spec = ModelSpec(name="mlp", params={"hidden": [256, 256], "epochs": 20})
    with tempfile.TemporaryDirectory() as cache:
        model, _ = ModelCache(cache).get(
            spec, registry.create("model", "mlp", **spec.params), data, 0, torch.device("cpu")
        )
    x, y = data.x_test[: args.points], data.y_test[: args.points]
    eps = 0.1
    cases = {
        "FGSM": (registry.create("attack", "fgsm"), 1, eps),
        "PGD-10": (registry.create("attack", "bim", steps=10, alpha=eps / 4), 10, eps / 4),
    }
    print(f"MLP 64-256-256-10 on digits, {len(x)} points, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'attack':8} {'ours (ms)':>10} {'bare (ms)':>10} {'ratio':>7}  identical")
    for name, (attack, steps, alpha) in cases.items():
        ours, bare, ratio = paired_timings(
            lambda a=attack: a(model, x, y, eps, bounds=(0.0, 1.0)),
            lambda s=steps, al=alpha: bare_loop(model.net, x, y, eps, al, s),
            args.repeats,
        )
        same = torch.equal(attack(model, x, y, eps, bounds=(0.0, 1.0)),
                           bare_loop(model.net, x, y, eps, alpha, steps))
        print(f"{name:8} {ours * 1e3:10.2f} {bare * 1e3:10.2f} {ratio:7.3f}  {same}")
    grads = [p.grad for p in model.net.parameters()]
    print("parameter gradients after the attacks:", "none" if all(g is None for g in grads)
          else "ACCUMULATED (bug)")


if __name__ == "__main__":
    main()
