"""The ``ray`` executor against ``local`` on this machine: wall time of whole studies, cold (no
trained model anywhere) and warm (every model in the cache; the cells computed again in a new
store), Ray's fixed start-up cost, what a task costs beyond its own work (a study of empty
cells, each still written to MLflow), and what more cores would give, from the measured task
times.

Each run uses a fresh MLflow store; cold runs a fresh model cache. The Ray runs start their own
local Ray (``num_cpus`` = the machine's cores), as ``transfer study run NAME --executor ray`` does,
so its start-up is inside their time.

    python benchmarks/bench_ray.py [--studies transfer-matrix robustness]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from transfer import run_study
from transfer.cli.config_files import read_default_config
from transfer.plugging.plugin_manager import load_registry
from transfer.tracking.cell_runs import PARENT


def timed_run(study: str, folder: Path, cache: Path, executor: str) -> tuple[float, Any]:
    config = read_default_config(load_registry().get("study", study), ())
    uri = f"sqlite:///{folder / f'{study}-{executor}-{time.monotonic_ns()}.db'}"
    start = time.perf_counter()
    run = run_study(config, tracking_uri=uri, cache_dir=str(cache), device="cpu",
                    executor=executor)
    assert not run.failed, run.failed
    return time.perf_counter() - start, run


def task_seconds(run: Any) -> list[float]:
    """The wall time of every cell of a run, from its child run's start and end."""
    client = MlflowClient(run.tracking_uri)
    children = client.search_runs([run.experiment_id],
                                  filter_string=f"tags.`{PARENT}` = '{run.run_id}'")
    return [(c.info.end_time - c.info.start_time) / 1000 for c in children if c.info.end_time]


def ray_startup() -> float:
    """Seconds from ``ray.init`` to the first finished task (workers importing torch included)."""
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)

    @ray.remote
    def ready() -> int:
        import torch

        return torch.get_num_threads()

    ray.get(ready.remote())
    seconds = time.perf_counter() - start
    ray.shutdown()
    return seconds


EMPTY_STUDY = '''
from typing import Literal

from transfer import Cell, CellResult, Study, StudyConfig, Summary, hookimpl


class EmptyConfig(StudyConfig):
    study: Literal["empty-cells"] = "empty-cells"
    cells: int = 200


class EmptyResult(CellResult):
    index: int

    def metrics(self):
        return {"index": float(self.index)}


class EmptyCells(Study[EmptyConfig, EmptyResult]):
    """Cells that do nothing: what running and recording a cell costs beyond its own work."""

    Config = EmptyConfig
    Result = EmptyResult

    def plan(self, config):
        return [Cell.make("empty-cells", index=i) for i in range(config.cells)]

    def run(self, cell, ctx):
        return EmptyResult(index=cell["index"])

    def summarize(self, config, results):
        return Summary()


@hookimpl
def register_studies(register):
    register("empty-cells", EmptyCells)
'''


def per_task(folder: Path, executor: str, cells: int) -> float:
    """Seconds per cell of a study of ``cells`` empty cells (each recorded as a child run),
    start-up left out: its wall time minus that of the same study with one cell."""
    plugins = folder / "empty-plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "empty_cells.py").write_text(EMPTY_STUDY)
    seconds = []
    for count in (1, 1, cells):  # the first starts the writer process (and Ray): left out
        uri = f"sqlite:///{folder / f'empty-{executor}-{count}-{len(seconds)}.db'}"
        start = time.perf_counter()
        run_study({"study": "empty-cells", "cells": count}, tracking_uri=uri,
                  plugins_dir=str(plugins), executor=executor, device="cpu")
        seconds.append(time.perf_counter() - start)
    return (seconds[2] - seconds[1]) / (cells - 1)


def projected(cells: list[float], training: float, serial: float, startup: float, cores: int
              ) -> float:
    """A lower estimate of a Ray run on ``cores`` cores: Ray's start-up and the driver's own work
    (``serial``: planning, logging every cell, the summary; it does not shrink with cores), the
    training spread over the cores, then the cells spread over them (never shorter than the
    longest cell). Each task uses one torch thread where ``local`` uses every core, so work that
    torch already spreads over the cores gains less than this."""
    return (startup + serial + training / cores
            + max(sum(cells) / cores, max(cells, default=0.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", nargs="+", default=["transfer-matrix", "robustness"])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    startup = ray_startup()
    print(f"{cores} cores; Ray start-up to the first finished task: {startup:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        local, ray = (per_task(Path(tmp), executor, 200) for executor in ("local", "ray"))
    print(f"an empty cell, recorded: {1000 * local:.0f} ms with local, {1000 * ray:.0f} ms with "
          f"ray (Ray's own cost per task: {1000 * (ray - local):.0f} ms)")
    print(f"{'study':<16} {'run':<5} {'local s':>8} {'ray s':>8} {'speedup':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for study in args.studies:
            timings: dict[str, dict[str, float]] = {}
            warm_cells: list[float] = []
            for executor in ("local", "ray"):
                cache = folder / f"{study}-{executor}-cache"
                cold, _ = timed_run(study, folder, cache, executor)
                warm, run = timed_run(study, folder, cache, executor)
                timings[executor] = {"cold": cold, "warm": warm}
                if executor == "local":
                    warm_cells = task_seconds(run)
            for kind in ("cold", "warm"):
                local, ray = timings["local"][kind], timings["ray"][kind]
                print(f"{study:<16} {kind:<5} {local:>8.1f} {ray:>8.1f} {local / ray:>7.2f}x")
            training = max(0.0, timings["local"]["cold"] - timings["local"]["warm"])
            serial = max(0.0, timings["local"]["warm"] - sum(warm_cells))
            estimates = ", ".join(
                f"{n} cores ~{projected(warm_cells, training, serial, startup, n):.0f} s cold"
                for n in (4, 16))
            print(f"{'':<16} {len(warm_cells)} cells ({sum(warm_cells):.1f} s), "
                  f"{training:.1f} s of training, {serial:.1f} s of driver work: {estimates}")


if __name__ == "__main__":
    main()
