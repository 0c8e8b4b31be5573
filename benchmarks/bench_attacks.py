"""Our FGSM, PGD-10 and MI-FGSM-10 against a bare torch autograd loop on the same model and batch.

The bare loop is the minimum any attack must do: k forward + backward passes with gradients w.r.t.
the input only (model in eval mode, parameters frozen). Prints the median of 5 runs (each the mean
of 20 calls, ours and bare alternating), the median ratio ours / bare (target: at most 1.10), and
the largest difference between the two adversarial batches; then batched DeepFool against the
same attack run one point at a time.

    python benchmarks/bench_attacks.py [--points 360] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from torch.nn import functional as F

from transfer import ModelSpec, load_registry, train_model


def bare_loop(net, x, y, eps, alpha, steps):
    x_adv = x
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        loss = F.cross_entropy(net(x_adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x_adv)
        x_adv = (x + (x_adv + alpha * grad.sign() - x).clamp(-eps, eps)).clamp(0, 1)
    return x_adv.detach()


def bare_momentum_loop(net, x, y, eps, steps, decay=1.0):
    alpha, momentum, x_adv = eps / steps, torch.zeros_like(x), x
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        loss = F.cross_entropy(net(x_adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x_adv)
        momentum = decay * momentum + grad / grad.abs().flatten(1).sum(1).view(-1, 1, 1, 1)
        x_adv = (x + (x_adv + alpha * momentum.sign() - x).clamp(-eps, eps)).clamp(0, 1)
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
        model = train_model(spec, data, registry=registry, cache_dir=cache, device="cpu")
    x, y = data.x_test[: args.points], data.y_test[: args.points]
    eps = 0.1
    cases = {
        "FGSM": (registry.create("attack", "fgsm"),
                 lambda: bare_loop(model.net, x, y, eps, eps, 1)),
        "PGD-10": (registry.create("attack", "bim", steps=10, alpha=eps / 4),
                   lambda: bare_loop(model.net, x, y, eps, eps / 4, 10)),
        "MI-FGSM-10": (registry.create("attack", "mifgsm", steps=10),
                       lambda: bare_momentum_loop(model.net, x, y, eps, 10)),
    }
    print(f"MLP 64-256-256-10 on digits, {len(x)} points, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'attack':10} {'ours (ms)':>10} {'bare (ms)':>10} {'ratio':>7}  max |diff|")
    for name, (attack, bare_attack) in cases.items():
        ours, bare, ratio = paired_timings(
            lambda a=attack: a(model, x, y, eps, bounds=(0.0, 1.0)), bare_attack, args.repeats
        )
        diff = (attack(model, x, y, eps, bounds=(0.0, 1.0)).x_adv - bare_attack()).abs().max()
        print(f"{name:10} {ours * 1e3:10.2f} {bare * 1e3:10.2f} {ratio:7.3f}  {diff.item():.1e}")
    deepfool = registry.create("attack", "deepfool")
    batch = x[:100]
    inf = float("inf")
    batched, per_point, ratio = paired_timings(
        lambda: deepfool(model, batch, y[:100], inf, bounds=(0.0, 1.0)),
        lambda: [deepfool(model, batch[i : i + 1], y[i : i + 1], inf, bounds=(0.0, 1.0))
                 for i in range(len(batch))],
        args.repeats, calls=2,
    )
    print(f"DeepFool, 100 points: batched {batched * 1e3:.1f} ms, one point at a time "
          f"{per_point * 1e3:.1f} ms ({1 / ratio:.0f}x)")
    grads = [p.grad for p in model.net.parameters()]
    print("parameter gradients after the attacks:", "none" if all(g is None for g in grads)
          else "ACCUMULATED (bug)")


if __name__ == "__main__":
    main()
