"""The cells' MLflow writes on a background thread (which hands each to the writer process): in
order, each reported once it is written, a failed write raised on the caller's thread; and kill -9
while writes are queued loses no cell that was reported finished, records none twice, and the
next run completes the study."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from mlflow import MlflowClient

from transfer import run_study
from transfer.cli.config_files import load_config
from transfer.tracking.cell_runs import CELL_KEY, NOT_APPLICABLE_TAG, PARENT
from transfer.tracking.write_queue import WriteQueue


def test_writes_run_in_order_on_another_thread_and_are_reported_once_written():
    queue: WriteQueue[int] = WriteQueue()
    gate, order, threads = threading.Event(), [], set()

    def write(item: int) -> None:
        gate.wait(10)
        order.append(item)
        threads.add(threading.get_ident())

    for item in range(5):
        queue.put(lambda item=item: write(item), item)
    assert list(queue.written()) == [], "nothing is reported before it is written"
    gate.set()
    assert list(queue.written(wait=True)) == [0, 1, 2, 3, 4] == order
    assert threads and threading.get_ident() not in threads
    assert list(queue.written(wait=True)) == [], "each item is reported once"
    queue.close()


def test_a_failed_write_raises_on_the_callers_thread_and_close_drops_the_rest():
    queue: WriteQueue[str] = WriteQueue()
    gate, done = threading.Event(), []

    def fail() -> None:
        raise OSError("the disk is full")

    queue.put(lambda: done.append("first"), "first")
    queue.put(fail, "broken")
    queue.put(lambda: gate.wait(10), "slow")
    queue.put(lambda: done.append("dropped"), "dropped")
    with pytest.raises(OSError, match="the disk is full"):
        list(queue.written(wait=True))
    queue.close(finish=False)  # waits for the running write, never starts the ones after it
    gate.set()
    assert done == ["first"]


def test_close_finishes_the_queued_writes():
    queue: WriteQueue[int] = WriteQueue()
    done: list[int] = []
    for item in range(20):
        queue.put(lambda item=item: (time.sleep(0.01), done.append(item)), item)
    queue.close()
    assert done == list(range(20))


REPORTING = '''
import sys
import time
from pathlib import Path

from transfer import run_study
from transfer.cli.config_files import load_config
from transfer.running.tasks import CellTask
from transfer.tracking.writer import Writer

compute, call = CellTask.__call__, Writer.call


def computing(self, cell):  # each cell computed, as soon as it is
    outcome = compute(self, cell)
    print("computed", cell.key, file=sys.stderr, flush=True)
    return outcome


def slowly(writer, *args):  # a slow store (a busy team server, say): the writes fall behind
    time.sleep(0.2)
    return call(writer, *args)


CellTask.__call__, Writer.call = computing, slowly


class Reporting:
    """Prints each cell's key as the runner reports it finished."""

    def start(self, total, resumed):
        return None

    def advance(self, outcome):
        print(outcome.cell.key, flush=True)

    def stop(self):
        return None


run_study(load_config(Path(sys.argv[1])), tracking_uri=sys.argv[2], progress=Reporting())
'''

CONFIG = '''
study = "transfer-matrix"
models = ["logreg", "softmax", "decision-tree"]
attacks = ["noise", "fgsm"]
eps = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12]
n_points = 30
'''


def _stored(client: MlflowClient) -> tuple[list[str], list[str], str]:
    """The cell keys FINISHED in the store (child runs, and n/a tags of the study's run), the
    keys of child runs left RUNNING, and the study's run ID."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, max_results=5000)
    (parent,) = [r for r in runs if r.data.tags.get("transfer.role") == "study"]
    children = [r for r in runs if r.data.tags.get(PARENT) == parent.info.run_id]
    finished = [r.data.tags[CELL_KEY] for r in children if r.info.status == "FINISHED"]
    finished += [k.removeprefix(NOT_APPLICABLE_TAG) for k in parent.data.tags
                 if k.startswith(NOT_APPLICABLE_TAG)]
    running = [r.data.tags[CELL_KEY] for r in children if r.info.status == "RUNNING"]
    return finished, running, parent.info.run_id


def test_kill_9_while_writes_are_queued_keeps_every_reported_cell_once(tmp_path):
    script, config = tmp_path / "reporting.py", tmp_path / "study.toml"
    script.write_text(REPORTING)
    config.write_text(CONFIG)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_study(load_config(config), tracking_uri=f"sqlite:///{tmp_path / 'warm.db'}")  # models
    process = subprocess.Popen([sys.executable, str(script), str(config), uri],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    reported = [process.stdout.readline().strip() for _ in range(4)]
    process.kill()
    rest, errors = process.communicate(timeout=60)
    reported += rest.split()
    assert all(reported), "the study ended before 4 cells were reported"
    computed = errors.count("computed ")

    client = MlflowClient(uri)
    finished, running, parent = _stored(client)
    assert len(finished) == len(set(finished)), "no cell is recorded twice"
    assert set(reported) <= set(finished), "every cell reported finished is in the store"
    assert len(finished) < computed, "the kill came while computed cells waited to be written"

    again = run_study(load_config(config), tracking_uri=uri)
    assert again.run_id == parent and not again.failed
    assert again.resumed == len(finished), "nothing stored is computed again"
    after, left_running, _ = _stored(client)
    assert sorted(after) == sorted({c.key for c in again.results}), "every cell once"
    assert not left_running and client.get_run(parent).info.status == "FINISHED"
    clean = run_study(load_config(config), tracking_uri=f"sqlite:///{tmp_path / 'clean.db'}")

    def as_json(run):  # NaN (an undefined rate) equals NaN in JSON text
        return json.dumps({c.key: r.model_dump(mode="json") for c, r in run.results.items()},
                          sort_keys=True)
    assert as_json(again) == as_json(clean)
