"""Real processes for fault tests: an `mlflow server` on 127.0.0.1 that a test can kill and start
again, and the `transfer` command run as a subprocess (signals, kill -9, runs at the same time)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mlflow import MlflowClient

from transfer.tracking.cell_runs import CELL_KEY
from transfer.tracking.store import connect, sqlite_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MlflowServer:
    """``mlflow server`` with a SQLite backend and a local artifact folder under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> str:
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{self.folder / 'server.db'}",
             "--artifacts-destination", str(self.folder / "server-artifacts")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,  # its own group
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},  # no job workers
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self.url
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("mlflow server did not start:\n"
                                   + (self.folder / "server.log").read_text())
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL to the server and its workers, as a crashed server or a lost machine."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def transfer_command(*args: str, env: dict[str, str] | None = None,
                     cwd: Path | None = None) -> subprocess.Popen[str]:
    """``python -m transfer ARGS`` started in the background, output captured, Ctrl-C (SIGINT)
    handled as from a terminal even when the tests run in a background job, whose children
    inherit SIGINT ignored."""
    return subprocess.Popen(
        [sys.executable, "-m", "transfer", *args], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
        preexec_fn=_interrupts_as_from_a_terminal,
    )


def _interrupts_as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_finished_cells(uri: str, count: int, process: subprocess.Popen[str],
                            timeout: float = 180) -> None:
    """Until ``count`` cell runs are FINISHED in the store (the study is mid-way). A SQLite store
    is read only once the study has created it, and opened under the store's file lock as the
    study opens it: a client opening a new file itself would run MLflow's migrations on it while
    the study runs them too (seen in CI as "table _alembic_tmp_experiments already exists")."""
    database = sqlite_path(uri)
    client: MlflowClient | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the study ended before it could be interrupted:\n"
                                 + process.stderr.read() if process.stderr else "")
        if client is None and (database is None or database.exists()):
            client = connect(uri)
        if client is None:
            time.sleep(0.3)
            continue
        try:
            experiments = [e.experiment_id for e in client.search_experiments()]
            runs = list(client.search_runs(experiments, "attributes.status = 'FINISHED'"))
        except Exception:  # a busy store: read it again
            runs = []
        if sum(1 for r in runs if CELL_KEY in r.data.tags) >= count:
            return
        time.sleep(0.3)
    raise AssertionError(f"no {count} finished cells within {timeout} s")
