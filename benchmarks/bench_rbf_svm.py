"""The RBF-SVM twin's input gradient (one vectorized autograd pass) against a per-support-vector
Python loop of the closed form ∇ₓ Σ_s a_s·exp(−γ‖x − s‖²) = Σ_s a_s·K(x, s)·(−2γ)(x − s).

Prints both times (median of 5) and the largest difference between the two gradients, which
also cross-checks the twin against an independent computation.

    python benchmarks/bench_rbf_svm.py [--points 360]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from transfer import load_registry, train_model


def twin_gradient(twin, x):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(twin.pairwise(x).sum(), x)
    return grad


def loop_gradient(twin, x):
    flat = x.flatten(1).double()
    weight = twin.coef.double().sum(dim=1)  # Σ over pairs of each support vector's coefficient
    grad = torch.zeros_like(flat)
    for s, a in zip(twin.support.double(), weight, strict=True):
        kernel = torch.exp(-twin.gamma * ((flat - s) ** 2).sum(dim=1, keepdim=True))
        grad += a * kernel * (-2 * twin.gamma) * (flat - s)
    return grad.view_as(x)


def median_seconds(function, repeats=5):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=360)
    args = parser.parse_args()
    registry = load_registry()
    data = registry.create("dataset", "digits")
    with tempfile.TemporaryDirectory() as cache:
        model = train_model("rbf-svm", data, registry=registry, cache_dir=cache, device="cpu")
    twin, x = model.twin, data.x_test[: args.points]
    ours = median_seconds(lambda: twin_gradient(twin, x))
    loop = median_seconds(lambda: loop_gradient(twin, x))
    error = (twin_gradient(twin, x).double() - loop_gradient(twin, x)).abs().max().item()
    print(f"RBF-SVM on digits: {len(twin.support)} support vectors, {len(x)} points")
    print(f"twin (vectorized autograd) {ours * 1e3:8.2f} ms")
    print(f"per-support-vector loop    {loop * 1e3:8.2f} ms   ({loop / ours:.1f}x slower)")
    print(f"largest gradient difference {error:.2e}")


if __name__ == "__main__":
    main()
