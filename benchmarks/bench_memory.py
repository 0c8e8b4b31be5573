"""Peak memory of an attack on a large model as the number of points grows: PGD-2 on a
random-initialised timm ``resnet50`` at 224 px on the CPU, with 32 and 256 points, each in a
fresh process (its peak resident set size). Chunking (``transfer.mathematics.chunking``) should
keep the peak flat; ``--chunk 0`` disables it (everything at once) for comparison.

    python benchmarks/bench_memory.py [--points 32 256] [--architecture resnet50] [--chunk N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def child(architecture: str, points: int) -> None:
    import timm
    import torch

    from transfer import load_registry

    registry = load_registry()
    model = registry.create("model", f"timm:{architecture}", weights=None)
    model.input_shape, model.n_classes = (3, 224, 224), 1000
    torch.manual_seed(0)
    model.net = timm.create_model(architecture, pretrained=False).eval()
    for parameter in model.net.parameters():
        parameter.requires_grad_(False)
    x = torch.rand(points, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    y = torch.zeros(points, dtype=torch.int64)
    start = time.perf_counter()
    registry.create("attack", "pgd", steps=2)(model, x, y, 8 / 255, bounds=(0.0, 1.0))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
    print(json.dumps({"points": points, "seconds": seconds, "peak_mib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--architecture", default="resnet50")
    parser.add_argument("--chunk", type=int, default=None,
                        help="points per chunk (default: sized from memory; 0: no chunks)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.architecture, args.points[0])
        return
    env = dict(os.environ)
    if args.chunk is not None:
        env["TRANSFER_CHUNK"] = str(args.chunk or 10**9)
    print(f"PGD-2 on timm:{args.architecture} at 224 px, CPU, "
          f"chunk {'auto' if args.chunk is None else args.chunk or 'off'}")
    print(f"{'points':>8}{'seconds':>10}{'s/point':>10}{'peak MiB':>10}")
    for points in args.points:
        out = subprocess.run([sys.executable, __file__, "--child", "--points", str(points),
                              "--architecture", args.architecture], env=env,
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{row['points']:8d}{row['seconds']:10.1f}{row['seconds'] / points:10.3f}"
              f"{row['peak_mib']:10.0f}")


if __name__ == "__main__":
    main()
