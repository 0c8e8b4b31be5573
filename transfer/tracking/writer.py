"""The MLflow writer: a process of its own that writes the cells' runs, so that MLflow's and
SQLAlchemy's Python work runs on another core instead of taking turns with the cells for this
interpreter's lock.

One writer per driver process, started on first use and kept for the next study (tests run many);
it takes one call at a time over a private pipe (``Writer.call`` returns when the call has
finished in the store, or raises its error), so a cell counts as written only once it is. It
ignores Ctrl-C and SIGTERM, which the driver turns into "finish the queued writes, then stop",
and exits when the driver closes the pipe or dies (kill -9): a call it had not started is
dropped, as a cell not yet reported finished is, and the next run computes it again.

    python -m transfer.tracking.writer REQUESTS_FD REPLIES_FD LOG_LEVEL  # by ``shared_writer``
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the driver starts its writer before it imports MLflow (or torch)
    from .cell_record import CellRecord

FAILED_WRITES = "mlflow.store.db.utils"  # MLflow logs its own traceback of a failed write here


class WriterGone(RuntimeError):
    """The writer process exited before it finished a call."""


class Writer:
    """The driver's end of a writer process."""

    def __init__(self) -> None:
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        quiet = logging.getLogger(FAILED_WRITES).getEffectiveLevel()  # as quiet as the driver
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(requests_read), str(replies_write), str(quiet)],
            pass_fds=(requests_read, replies_write), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # its warnings go to stderr, as the driver's do
            start_new_session=True)  # a Ctrl-C in the terminal reaches the driver alone
        os.close(requests_read)
        os.close(replies_write)
        self._requests = Connection(requests_write, readable=False)
        self._replies = Connection(replies_read, writable=False)
        self._lock = threading.Lock()
        self._owner = os.getpid()  # a forked child of the driver must not close it
        self._helper = ThreadPoolExecutor(1, thread_name_prefix="transfer-writer-call")

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None and not self._requests.closed

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in the writer process (a module-level function, picklable args);
        its return value, or its exception raised here. From the main thread the call is made
        by a helper thread: a Ctrl-C then interrupts the waiting, never a message half read
        from the pipe (the call still completes, and the next one waits for it)."""
        if threading.current_thread() is not threading.main_thread():
            return self._call(function, *args)
        return self._helper.submit(self._call, function, *args).result()

    def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            try:
                # plain pickle: multiprocessing's own would share a tensor's memory through a
                # file-descriptor server that only its own child processes may call
                self._requests.send_bytes(pickle.dumps((function, args)))
                ok, value = pickle.loads(self._replies.recv_bytes())
            except (EOFError, OSError):
                code = self._process.wait()
                raise WriterGone(f"the MLflow writer process exited (code {code}) before it "
                                 f"finished writing; the cells written so far are kept, and "
                                 f"running the same command again resumes") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Let the writer finish its call, then exit."""
        if os.getpid() != self._owner:
            return
        with self._lock:
            self._requests.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._replies.close()
        self._helper.shutdown(wait=False)


_WRITER: list[Writer] = []


def shared_writer() -> Writer:
    """This process's writer, started if it has none (or if its writer died)."""
    if not _WRITER or not _WRITER[0].alive:
        _WRITER[:] = [Writer()]
    return _WRITER[0]


def running_writer() -> Writer | None:
    """This process's writer if it has started one and it still runs (a driver), else None."""
    return _WRITER[0] if _WRITER and _WRITER[0].alive else None


@atexit.register
def _close_shared() -> None:
    for writer in _WRITER:
        writer.close()
    _WRITER.clear()


# --- inside the writer process ------------------------------------------------------------------
_TRACKERS: dict[str, Any] = {}  # the store it writes to now (one: a new URI replaces it)


def _tracker(uri: str) -> Any:
    from .tracker import Tracker

    if uri not in _TRACKERS:
        _TRACKERS.clear()
        _TRACKERS[uri] = Tracker(uri)
    return _TRACKERS[uri]


def open_store(uri: str) -> None:
    _tracker(uri)


def record_cell(uri: str, experiment_id: str, parent: str, record: CellRecord,
                models: list[dict[str, Any]]) -> str | None:
    """The cell's trained models (each once) and the cell itself, in the store ``uri`` (with the
    dataset inputs its study's ``introduce`` gave this process's tracker)."""
    tracker = _tracker(uri)
    model_runs = tracker.record_models(models)
    return tracker.cells.write(experiment_id, parent, record, model_runs)


def log_figure(uri: str, run_id: str, figure: bytes, path: str) -> None:
    """Draw the pickled matplotlib ``figure`` and log it as the artifact ``path`` of ``run_id``."""
    _tracker(uri).client.log_figure(run_id, pickle.loads(figure), path)


def _portable(error: BaseException) -> BaseException:
    """``error`` if it crosses the pipe intact, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any error that does not pickle
        return RuntimeError(f"{type(error).__name__}: {error}")


def main(requests_fd: int, replies_fd: int, quiet: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when writing stops
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.getLogger(FAILED_WRITES).setLevel(quiet)
    # MLflow and its SQL stores imported now, while the driver imports torch; a collection every
    # 50,000 allocations, not 700, and none of what the imports built (as the driver does)
    gc.set_threshold(50_000, 20, 100)
    import mlflow.store.model_registry.sqlalchemy_store  # noqa: F401
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401

    from . import tracker  # noqa: F401
    gc.freeze()
    requests = Connection(requests_fd, writable=False)
    replies = Connection(replies_fd, readable=False)
    driver = os.getppid()
    while True:
        try:
            request = requests.recv_bytes()
        except EOFError:  # the driver closed the pipe or died
            return
        if os.getppid() != driver:  # the driver died (kill -9): nobody waits for this call
            return
        try:
            function, args = pickle.loads(request)  # from the driver, over a private pipe
            reply: tuple[bool, Any] = (True, function(*args))
        except BaseException as error:  # noqa: BLE001 - every error goes back to the driver
            reply = (False, _portable(error))
        try:
            replies.send_bytes(pickle.dumps(reply))
        except Exception as error:  # noqa: BLE001 - a value that does not pickle
            replies.send_bytes(pickle.dumps((False, _portable(error))))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
    # every call was committed before its reply; the driver waits for this exit, which the
    # interpreter's teardown (MLflow and SQLAlchemy loaded) would delay by about 0.3 s
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
