"""Where the wall time of ``transfer study run NAME`` goes, and the serial share that caps how far
more workers can speed it up (Amdahl).

The command runs in a fresh process, exactly as a user types it, with timers around two places:
each cell's own time (its outcome's start and end, wherever it ran) and each MLflow write of a
cell and its models (the driver's background thread waiting for the writer process; models that
the driver logs itself, trained by parallel workers, included). The parts of one run:

- ``cells``: the sum of the cells' own times: the work that more workers share;
- ``serial``: wall time minus ``cells``: start-up, opening the store, whatever the writes and the
  summary add after the last cell; more workers do not shrink it;
- ``writes``: the MLflow writes of the cells (in the writer process, overlapped with the cells;
  with many workers they are a floor too, since one writer writes them all).

The Amdahl bound on N cores is ``wall / (serial + cells / N)``.

    python benchmarks/driver_parts.py [STUDY ...]   # default: every built-in study, cold and warm
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _inside(report: str, args: list[str]) -> None:
    """Run the ``transfer`` command ``args`` in this process with timers, then write the parts
    to ``report``."""
    from transfer.cli.main import main
    from transfer.running import runner
    from transfer.tracking.writer import Writer, open_store

    parts: dict[str, Any] = {"cells": [], "writes": 0.0}

    def timed(write: Any) -> Any:
        def wrapper(*call: Any) -> Any:
            if open_store in call:  # the writer starting up, not a write
                return write(*call)
            start = time.perf_counter()
            try:
                return write(*call)
            finally:
                parts["writes"] += time.perf_counter() - start
        return wrapper

    def record(outcome: Any, *rest: Any) -> Any:
        parts["cells"].append((outcome.started_ms, outcome.finished_ms))
        return cell_record(outcome, *rest)

    cell_record = runner.cell_record
    runner.cell_record = record  # type: ignore[assignment]
    Writer.call = timed(Writer.call)  # type: ignore[method-assign]
    sys.argv = ["transfer", *args]
    try:
        main()
    except SystemExit as stop:
        parts["exit"] = stop.code or 0
    finally:
        Path(report).write_text(json.dumps(parts))


def measure(args: list[str], folder: Path, cache: Path) -> dict[str, float]:
    """Run ``transfer ARGS`` in a new process in ``folder`` with model cache ``cache``; its wall
    time and parts (seconds)."""
    report = folder / f"parts-{time.monotonic_ns()}.json"
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--inside", str(report), *args], cwd=folder,
                   check=True, capture_output=True,
                   env={**os.environ, "TRANSFER_CACHE_DIR": str(cache)})
    wall = time.perf_counter() - start
    parts = json.loads(report.read_text())
    if parts.get("exit"):
        raise RuntimeError(f"transfer {' '.join(args)} exited with {parts['exit']}")
    cells = sum(end - begin for begin, end in parts["cells"]) / 1000
    return {"wall": wall, "cells": cells, "serial": wall - cells, "writes": parts["writes"]}


def amdahl(parts: dict[str, float], cores: int) -> float:
    """The speed-up bound on ``cores`` cores from the measured parts."""
    return parts["wall"] / (parts["serial"] + parts["cells"] / cores)


def line(name: str, parts: dict[str, float]) -> str:
    return (f"{name:<22} {parts['wall']:6.1f} {parts['cells']:6.1f} {parts['serial']:6.1f} "
            f"{100 * parts['serial'] / parts['wall']:5.0f}% {parts['writes']:6.1f} "
            f"{amdahl(parts, 4):5.1f}x {amdahl(parts, 16):5.1f}x")


HEADER = (f"{'study':<22} {'wall s':>6} {'cells':>6} {'serial':>6} {'share':>6} {'writes':>6} "
          f"{'4 cores':>6} {'16 cores':>6}")


def main() -> None:
    from transfer.plugging.plugin_manager import load_registry

    studies = sys.argv[1:] or load_registry().names("study")
    print("each default study cold (an empty model cache; training is inside the cells) and warm "
          "(its models cached), a new store each time")
    print(HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for study in studies:
            cache = folder / f"cache-{study}"  # cold: no model another study trained either
            args = ["study", "run", study, "--no-progress", "--experiment", study]
            for run in ("cold", "warm"):
                print(line(f"{study} {run}"[:22], measure(args, folder, cache)), flush=True)
                (folder / "mlflow.db").unlink()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inside"]:
        _inside(sys.argv[2], sys.argv[3:])
    else:
        main()
