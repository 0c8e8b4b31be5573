"""The default ``transfer study run transfer-matrix`` end to end, as a user runs it, and where its
time goes.

Three runs of the command, each a fresh process: cold (an empty model cache and a new store),
warm (every model cached, a new store) and warm again in that store (a new experiment, so a new
study run). For each: its wall time, the cells' own time, the driver's serial work (the rest) and
its share, the driver's MLflow writes (on a background thread, overlapped with the cells), and
the Amdahl bound on 4 and 16 cores from those parts (``driver_parts.py``). Then the floor that
MLflow and matplotlib set on this machine for what the default study writes, measured on their
own: a child run per cell that ran (create and end), its metrics, its result file, a tag per n/a
cell, and the figures rendered.

    python benchmarks/bench_default_matrix.py
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from driver_parts import HEADER, amdahl, line, measure
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from transfer.studies.shared.heatmap import heatmaps
from transfer.tracking.cell_runs import CELL_KEY, NOT_APPLICABLE_TAG, PARENT

COMMAND = ["study", "run", "transfer-matrix", "--no-progress"]


def written(uri: str) -> dict[str, Any]:
    """What the newest study run in ``uri`` wrote: its cells that ran and n/a cells, the metrics
    of a cell that ran, its figures, and the seconds spent inside its cells."""
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    parent = client.search_runs(experiments, "tags.`transfer.role` = 'study'",
                                order_by=["attributes.start_time DESC"], max_results=1)[0]
    children = client.search_runs(experiments, f"tags.`{PARENT}` = '{parent.info.run_id}'",
                                  max_results=5000)
    bare = [k for k in parent.data.tags if k.startswith(NOT_APPLICABLE_TAG)]
    return {"ran": len(children), "bare": len(bare),
            "metrics": max(len(c.data.metrics) for c in children),
            "figures": len(client.list_artifacts(parent.info.run_id, "figures"))}


def floor(uri: str, ran: int, bare: int, metrics: int, figures: int) -> dict[str, float]:
    """Seconds MLflow and matplotlib need, at the least, for what the default study writes."""
    client = MlflowClient(uri)
    folder = Path(uri.removeprefix("sqlite:///")).parent / "floor"  # not ./mlruns of the caller
    experiment = client.create_experiment(f"floor-{time.time_ns()}", folder.as_uri())
    run_ms, batch_ms, file_ms, tag_ms = [], [], [], []
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
        start = time.perf_counter()
        client.set_tag(run_id, f"{NOT_APPLICABLE_TAG}{time.time_ns()}", "FGSM needs gradients")
        tag_ms.append(time.perf_counter() - start)
    models = [f"model-{k}" for k in range(10)]
    matrix: dict[tuple[str, str], float | None] = {(s, t): 0.5 for s in models[:7] for t in models}
    missing = {m: "FGSM needs gradients, which this model does not have" for m in models[7:]}
    render = []
    for _ in range(5):
        start = time.perf_counter()
        panels = {f"eps = {eps}": (matrix, missing) for eps in (0.05, 0.1, 0.2)}
        heatmaps(panels, models, models, "fgsm").savefig(io.BytesIO(), format="png")
        render.append(time.perf_counter() - start)
    median = statistics.median
    return {f"child runs (create + end, {ran})": ran * median(run_ms),
            f"metrics ({metrics} per cell that ran)": ran * median(batch_ms),
            "result files": ran * median(file_ms),
            f"n/a cells (a tag each, {bare})": bare * median(tag_ms),
            f"figures ({figures}, 3 eps each)": figures * median(render)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache, cold_dir, warm_dir = root / "cache", root / "cold", root / "warm"
        cold_dir.mkdir()
        warm_dir.mkdir()
        runs = {"cold (empty model cache, new store)": measure(COMMAND, cold_dir, cache),
                "warm (models cached, new store)": measure(COMMAND, warm_dir, cache),
                "warm (the same store)": measure([*COMMAND, "--experiment", "again"],
                                                 warm_dir, cache)}
        uri = f"sqlite:///{warm_dir / 'mlflow.db'}"
        study = written(uri)
        print(f"default transfer-matrix: {study['ran'] + study['bare']} cells ({study['bare']} "
              f"n/a), {study['figures']} figures; seconds of the command, its parts and the "
              f"Amdahl bound:")
        print(HEADER.replace("study ", "run   "))
        for name, parts in runs.items():
            print(line(name[:22], parts))
        cold = next(iter(runs.values()))
        print(f"cold: serial share {100 * cold['serial'] / cold['wall']:.0f}% "
              f"-> at most {amdahl(cold, 4):.1f}x on 4 cores, {amdahl(cold, 16):.1f}x on 16")
        parts = floor(uri, study["ran"], study["bare"], study["metrics"], study["figures"])
        print("the least MLflow and matplotlib need for what it writes (measured alone):")
        for name, seconds in parts.items():
            print(f"  {name:<38} {seconds:6.1f} s")
        print(f"  {'total':<38} {sum(parts.values()):6.1f} s")


if __name__ == "__main__":
    main()
