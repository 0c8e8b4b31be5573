"""The writer process that records the cells' runs: a process of its own, writing a cell exactly
as the driver would, its errors raised in the driver, deaf to Ctrl-C (the driver decides when
writing stops), gone when the driver is killed, and replaced when it dies."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from transfer.contracts.cell import Cell
from transfer.contracts.executors import Outcome
from transfer.contracts.results import NotApplicable
from transfer.tracking.cell_record import CellRecord, cell_record
from transfer.tracking.cell_runs import CELL_KEY, NOT_APPLICABLE_TAG, RESULT_FILE
from transfer.tracking.store import TrackingUnavailable
from transfer.tracking.tracker import Tracker
from transfer.tracking.writer import (
    Writer,
    WriterGone,
    _portable,
    open_store,
    record_cell,
    shared_writer,
)


class _Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a} and {b}")


class _Missing:
    """A request the writer cannot read: its function lives in a module it does not have."""

    def __reduce__(self):
        return (importlib.import_module, ("transfer_plugin_the_writer_lacks",))


@pytest.fixture
def writer():
    started = Writer()
    yield started
    started.close()


def test_a_cell_written_by_the_writer_process_is_the_one_the_driver_would_write(tmp_path,
                                                                                 writer):
    assert writer.call(os.getpid) == writer.pid != os.getpid()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri)
    experiment = tracker.experiment("writes")
    parent = tracker.client.create_run(experiment).info.run_id
    fgsm, tree = (Cell.make("matrix", attack=name, eps=0.1) for name in ("fgsm", "tree"))
    failed = Outcome(fgsm, None, "Traceback: boom", [], 5, 9)
    na = Outcome(tree, NotApplicable(reason="needs a tree"), None, [], 1, 2)
    done = CellRecord("k1", "pgd eps=0.2", [("attack", "pgd"), ("eps", "0.2")], 3, 4, None,
                      [("rate", 0.25, 0), ("curve", 0.5, 7)], {"format": 1, "rate": 0.25}, "")
    ids = [writer.call(record_cell, uri, experiment, parent, record, [])
           for record in (cell_record(failed, 1), cell_record(na, 1), done)]
    assert ids[1] is None, "an n/a cell is a tag of the study's run"
    run = tracker.client.get_run(ids[0])
    assert run.info.status == "FAILED" and run.data.tags[CELL_KEY] == failed.cell.key
    assert (run.info.start_time, run.info.end_time) == (5, 9)
    assert dict(run.data.params) == {"attack": "fgsm", "eps": "0.1"}
    assert tracker.client.get_run(parent).data.tags[NOT_APPLICABLE_TAG + na.cell.key] == \
        "needs a tree"
    run = tracker.client.get_run(ids[2])
    assert run.info.status == "FINISHED" and run.data.metrics == {"rate": 0.25, "curve": 0.5}
    assert [m.step for m in tracker.client.get_metric_history(ids[2], "curve")] == [7]
    folder = tracker.client.download_artifacts(ids[2], RESULT_FILE, str(tmp_path))
    assert json.loads(Path(folder).read_text()) == done.result
    assert RESULT_FILE not in [a.path for a in tracker.client.list_artifacts(ids[0])]


def test_its_errors_are_raised_in_the_driver(writer):
    uri = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(TrackingUnavailable, match="cannot reach the MLflow tracking server") as \
            raised:
        writer.call(open_store, uri)
    assert raised.value.uri == uri, "the error crosses the pipe intact"
    with pytest.raises(ValueError, match="invalid literal"):
        writer.call(int, "x")
    with pytest.raises(ModuleNotFoundError, match="transfer_plugin_the_writer_lacks"):
        writer.call(_Missing())
    with pytest.raises(TypeError, match="pickle"):  # a value that cannot come back
        writer.call(threading.Lock)
    assert writer.call(abs, -3) == 3, "an error leaves the writer working"
    error = _portable(_Unpicklable(1, 2))  # an error that cannot cross says what it was
    assert isinstance(error, RuntimeError) and str(error) == "_Unpicklable: 1 and 2"


def test_ctrl_c_does_not_stop_it_and_a_dead_writer_is_reported_and_replaced(writer):
    assert os.getpgid(writer.pid) != os.getpgid(0), "a terminal's Ctrl-C never reaches it"
    writer.call(abs, 0)  # started: it ignores the signals sent to it directly too
    os.kill(writer.pid, signal.SIGINT)
    os.kill(writer.pid, signal.SIGTERM)
    time.sleep(0.5)
    assert writer.call(abs, -1) == 1 and writer.alive
    os.kill(writer.pid, signal.SIGKILL)
    with pytest.raises(WriterGone, match="running the same command again resumes"):
        writer.call(abs, -1)
    assert not writer.alive
    shared = shared_writer()
    assert shared.alive and shared.call(os.getpid) == shared.pid


DRIVER = '''
import sys, time
from transfer.tracking.writer import Writer
writer = Writer()
print(writer.call(__import__("os").getpid), flush=True)
time.sleep(60)
'''


def test_it_exits_when_the_driver_is_killed():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True)
    assert driver.stdout is not None
    pid = int(driver.stdout.readline())
    driver.kill()
    driver.wait()
    status = Path(f"/proc/{pid}/stat")
    for _ in range(100):
        try:
            if status.read_text().split(") ")[1][0] in "ZX":  # exited, not yet reaped
                return
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the writer outlived its driver by 10 s")


def test_a_summary_s_figures_are_all_logged_those_that_do_not_pickle_by_the_driver(tmp_path):
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    from transfer.contracts.summary import Summary
    from transfer.running.figures import log_summary
    from transfer.tracking.remote_tracker import RemoteTracker

    def figure(label: str, formatter: bool) -> Figure:
        drawn = Figure()
        axes = drawn.subplots()
        axes.plot([0, 1], [0, 1], label=label)
        if formatter:  # a lambda: this figure cannot be pickled for the writer
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0%}"))
        return drawn

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri)
    parent = tracker.client.create_run(tracker.experiment("figures")).info.run_id
    names = ["lambda-first", "plain", "lambda-late", "last"]
    summary = Summary(figures={name: figure(name, "lambda" in name) for name in names})
    log_summary(RemoteTracker(shared_writer(), uri), parent, summary)
    logged = {a.path for a in tracker.client.list_artifacts(parent, "figures")}
    assert logged == {f"figures/{name}.png" for name in names}


def test_a_figure_drawn_by_the_driver_is_the_file_mlflow_would_log(tmp_path):
    from matplotlib.figure import Figure

    from transfer.contracts.summary import Summary
    from transfer.running.figures import log_summary
    from transfer.tracking.remote_tracker import RemoteTracker

    drawn = Figure()
    drawn.subplots().plot([0, 1, 2], [2, 0, 1], label="drawn")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri)
    ours, theirs = (tracker.client.create_run(tracker.experiment("png")).info.run_id
                    for _ in range(2))
    log_summary(RemoteTracker(shared_writer(), uri), ours, Summary(figures={"one": drawn}))
    tracker.client.log_figure(theirs, drawn, "figures/one.png")  # MLflow's own
    files = [Path(tracker.client.download_artifacts(run, "figures/one.png", str(tmp_path / run)))
             for run in (ours, theirs)]
    assert files[0].read_bytes() == files[1].read_bytes()


DRIVER_IMPORTS = '''
import sys
from transfer import run_study
done = run_study({"study": "transfer-matrix", "n_points": 20, "eps": [0.1], "attacks": ["fgsm"],
                  "models": ["logreg", {"name": "softmax", "params": {"epochs": 2}}]},
                 tracking_uri=sys.argv[1], cache_dir=sys.argv[2])
print(len(done.results))
print(sorted(m for m in ("mlflow", "sqlalchemy") if m in sys.modules))
'''


def test_the_driver_of_a_study_never_imports_mlflow(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ran = subprocess.run([sys.executable, "-c", DRIVER_IMPORTS, uri, str(tmp_path / "cache")],
                         capture_output=True, text=True, check=True)
    cells, imported = ran.stdout.strip().splitlines()[-2:]
    assert imported == "[]", "the writer process alone imports it"
    runs = Tracker(uri).client.search_runs(["1"], "tags.`transfer.role` = 'cell'")
    assert len(runs) == int(cells) > 0 and all(run.info.status == "FINISHED" for run in runs)
