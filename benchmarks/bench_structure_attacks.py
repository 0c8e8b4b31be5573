"""The attacks that make decision-only models transfer sources (tree, forest, neighbors) against
HopSkipJump, the decision-based attack that works on any model: seconds per point and the share
of the model's correct points fooled at the same L-inf budget, on the same digits points.

HopSkipJump is an L2 attack; it runs here with the L2 budget of the L-inf ball's corner
(eps·√d), and a point counts as fooled only when its perturbation also stays within the L-inf
budget (the same budget as the others); its success within the L2 ball alone is shown too.

    python benchmarks/bench_structure_attacks.py [--points 100] [--eps 0.2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time

from transfer import ModelSpec, evaluation_points, load_registry, train_model

PAIRS = [("decision-tree", "tree", {"norm": "linf"}), ("random-forest", "forest", {}),
         ("knn", "neighbors", {})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--eps", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    registry = load_registry()
    digits = registry.create("dataset", "digits")
    index = evaluation_points(len(digits.y_test), args.points, 0)
    x, y = digits.x_test[index], digits.y_test[index]
    dim = x[0].numel()
    print(f"digits, {args.points} points, L-inf eps {args.eps} (HopSkipJump: L2 "
          f"{args.eps * math.sqrt(dim):.2f}), median of {args.repeats} runs")
    print(f"{'model':15}{'attack':12}{'s/point':>10}{'fooled':>9}   {'hopskipjump':>12}"
          f"{'fooled':>9}{'(L2)':>9}{'time ratio':>12}")
    with tempfile.TemporaryDirectory() as cache:
        for family, name, params in PAIRS:
            model = train_model(ModelSpec(name=family), digits.half("a", 0), registry=registry,
                                cache_dir=cache, device="cpu")
            right = model.predict(x) == y
            rows = []
            for attack, eps in ((registry.create("attack", name, **params), args.eps),
                                (registry.create("attack", "hopskipjump"),
                                 args.eps * math.sqrt(dim))):
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    crafted = attack(model, x, y, eps, bounds=digits.bounds, seed=0)
                    times.append((time.perf_counter() - start) / len(x))
                wrong = (model.predict(crafted.x_adv) != y) & right
                inside = (crafted.x_adv - x).flatten(1).abs().amax(dim=1) <= args.eps + 1e-6
                rows.append((statistics.median(times), (wrong & inside).sum() / right.sum(),
                             wrong.sum() / right.sum()))
            (ours, ours_fooled, _), (hsj, hsj_fooled, hsj_l2) = rows
            print(f"{family:15}{name:12}{ours:10.4f}{ours_fooled:9.1%}   {hsj:12.4f}"
                  f"{hsj_fooled:9.1%}{hsj_l2:9.1%}{ours / hsj:12.3f}")


if __name__ == "__main__":
    main()
