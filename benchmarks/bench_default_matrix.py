"""The default ``transfer study run transfer-matrix`` end to end, as a user runs it, and where its
warm time goes.

Three runs of the command, each a fresh process: cold (an empty model cache and a new store),
warm (every model cached, a new store) and warm again in that store (a new experiment, so a new
study run). Then the floor that MLflow and matplotlib set on this machine for what the default
study writes, measured on their own: one child run per cell (create and end), the metrics of a
cell that ran, its result file, and one heatmap rendered.

    python benchmarks/bench_default_matrix.py
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from transfer.studies.transfer_matrix.report import heatmap
from transfer.tracking.cell_runs import CELL_KEY, PARENT


def command(folder: Path, cache: Path, *extra: str) -> float:
    """Seconds of one ``transfer study run transfer-matrix`` in ``folder``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "transfer", "study", "run", "transfer-matrix",
                    "--no-progress", *extra], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "TRANSFER_CACHE_DIR": str(cache)})
    return time.perf_counter() - start


def written(uri: str) -> dict[str, Any]:
    """What the newest study run in ``uri`` wrote: its cells that ran and n/a cells, the metrics
    of a cell that ran, its figures, and the seconds spent inside its cells."""
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    parent = client.search_runs(experiments, "tags.`transfer.role` = 'study'",
                                order_by=["attributes.start_time DESC"], max_results=1)[0]
    children = client.search_runs(experiments, f"tags.`{PARENT}` = '{parent.info.run_id}'",
                                  max_results=5000)
    ran = [c for c in children if c.data.tags.get("transfer.status") != "n/a"]
    return {"ran": len(ran), "bare": len(children) - len(ran),
            "metrics": max(len(c.data.metrics) for c in ran),
            "figures": len(client.list_artifacts(parent.info.run_id, "figures")),
            "inside": sum((c.info.end_time - c.info.start_time) / 1000 for c in children)}


def floor(uri: str, ran: int, bare: int, metrics: int, figures: int) -> dict[str, float]:
    """Seconds MLflow and matplotlib need, at the least, for what the default study writes."""
    client = MlflowClient(uri)
    experiment = client.create_experiment(f"floor-{time.time_ns()}")
    run_ms, batch_ms, file_ms = [], [], []
    batch = [Metric(f"transfer_rate_ci_low.target-{k}", 0.5, 0, 0) for k in range(metrics)]
    for _ in range(20):
        start = time.perf_counter()
        run_id = client.create_run(experiment, tags={CELL_KEY: "x", "source": "mlp"}).info.run_id
        client.set_terminated(run_id, "FINISHED")
        run_ms.append(time.perf_counter() - start)
        start = time.perf_counter()
        client.log_batch(run_id, metrics=batch, params=[Param("source", "mlp")])
        batch_ms.append(time.perf_counter() - start)
        start = time.perf_counter()
        client.log_dict(run_id, {"result": list(range(200))}, "cell_result.json")
        file_ms.append(time.perf_counter() - start)
    models = [f"model-{k}" for k in range(10)]
    matrix: dict[tuple[str, str], float | None] = {(s, t): 0.5 for s in models[:7] for t in models}
    missing = {m: "FGSM needs gradients, which this model does not have" for m in models[7:]}
    render = []
    for _ in range(5):
        start = time.perf_counter()
        heatmap(matrix, models, models, "fgsm, eps = 0.1", missing).savefig(io.BytesIO(),
                                                                             format="png")
        render.append(time.perf_counter() - start)
    median = statistics.median
    return {"child runs (create + end)": (ran + bare) * median(run_ms),
            f"metrics ({metrics} per cell that ran)": ran * median(batch_ms),
            "result files": ran * median(file_ms),
            f"heatmaps ({figures})": figures * median(render)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache, cold_dir, warm_dir = root / "cache", root / "cold", root / "warm"
        cold_dir.mkdir()
        warm_dir.mkdir()
        cold = command(cold_dir, cache)
        warm = command(warm_dir, cache)
        again = command(warm_dir, cache, "--experiment", "again")
        uri = f"sqlite:///{warm_dir / 'mlflow.db'}"
        study = written(uri)
        print(f"default transfer-matrix, {study['ran'] + study['bare']} cells ({study['bare']} "
              f"n/a), wall time of the command:")
        print(f"  cold (empty model cache, new store)    {cold:6.1f} s")
        print(f"  warm (models cached, new store)        {warm:6.1f} s")
        print(f"  warm (models cached, the same store)   {again:6.1f} s")
        print(f"  of which inside the cells (warm)       {study['inside']:6.1f} s")
        parts = floor(uri, study["ran"], study["bare"], study["metrics"], study["figures"])
        print("the least MLflow and matplotlib need for what it writes (measured alone):")
        for name, seconds in parts.items():
            print(f"  {name:<38} {seconds:6.1f} s")
        print(f"  {'total':<38} {sum(parts.values()):6.1f} s")


if __name__ == "__main__":
    main()
