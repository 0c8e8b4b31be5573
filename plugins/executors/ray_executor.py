"""The ``ray`` executor: a study's cells as Ray tasks, on a local Ray started for the run or on an
existing cluster (``pip install -e ".[ray]"``).

Options (``--executor-option KEY=VALUE``, or ``executor_options`` of ``run_study``):

- ``address``: an existing cluster (``auto``, ``ray://host:10001``, ``host:6379``); default: a
  local Ray started for the run and stopped after it;
- ``num_cpus``: the CPUs of that local Ray (default: the machine's);
- ``cpus_per_task`` (default 1): CPUs Ray reserves per task, and the torch threads a task uses,
  so that the tasks running at once do not oversubscribe the cores;
- ``gpus_per_task``: default 1 when the device is CUDA (``--device cuda``, or ``auto`` on a
  machine with a GPU), else 0;
- ``max_retries`` (default 3): Ray's retries of a task whose worker process died.

Ray starts (and a worker per task slot imports the plugins) while the driver opens the store.
Workers rebuild the registry and the study from the task (plain data) and keep them from one cell
to the next; the driver alone writes to MLflow. A model a worker lacks is fetched from the MLflow
store, else trained. Ctrl-C cancels the tasks still running.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

from transfer import Cell, Executor, Outcome, hookimpl, now_ms

FORWARDED = ("TRANSFER_DATA_ROOT", "TRANSFER_CHUNK", "HF_HUB_OFFLINE", "TRANSFER_PLUGINS_DIR")


def _run(task: Callable[[Cell], Outcome], cell: Cell, env: dict[str, str], threads: int
         ) -> Outcome:
    """One task in a Ray worker, with the driver's settings and a bounded thread count."""
    import torch

    os.environ.update(env)
    torch.set_num_threads(threads)
    return task(cell)


def _unreachable(address: str, timeout: float = 5) -> str | None:
    """Why a ``host:port`` (or ``ray://host:port``) address does not answer within ``timeout``
    seconds, else ``None``; other forms (``auto``) are left to Ray, which would otherwise wait
    minutes for a cluster that is not there."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not (host and colon and port.isdigit()):
        return None
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return None
    except OSError as error:
        return str(error) or type(error).__name__


def _warm() -> None:
    """What every task needs first, imported while the driver opens the store."""
    from transfer import load_registry

    load_registry()


class _Signals:
    """SIGINT and SIGTERM recorded instead of raised while Ray calls run (an exception raised
    inside one can abort Ray's driver); ``check`` raises ``KeyboardInterrupt`` between them."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.previous: dict[int, Any] = {}
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[number] = signal.signal(number, self._record)
            except ValueError:  # not the main thread: signals stay as they are
                break

    def _record(self, number: int, frame: Any) -> None:
        self.received.append(number)

    def check(self) -> None:
        if self.received:
            raise KeyboardInterrupt

    def restore(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous = {}


class RayExecutor(Executor):
    """Runs each cell as a Ray task; outcomes arrive as the tasks finish."""

    parallel = True

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 cpus_per_task: float = 1, gpus_per_task: float | None = None,
                 max_retries: int = 3) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError('the ray executor needs Ray: pip install -e ".[ray]" (or pip '
                             'install "ray>=2.9")') from None
        if cpus_per_task <= 0 or (num_cpus is not None and num_cpus < 1):
            raise ValueError("cpus_per_task must be positive and num_cpus at least 1")
        self.address = address
        self.num_cpus = num_cpus
        self.cpus_per_task = cpus_per_task
        self.gpus_per_task = gpus_per_task
        self.max_retries = max_retries
        self._started = False
        self._warming: list[Any] = []

    def _connect(self) -> Any:
        import ray

        if ray.is_initialized():  # the caller connected already (a notebook, a test)
            return ray
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "configure_logging": False}
        why = _unreachable(self.address) if self.address else None
        if why is not None:
            raise ValueError(f"cannot reach the Ray cluster at {self.address!r} ({why}); start "
                             "it with `ray start --head` or fix --executor-option address=...")
        try:
            if self.address:
                ray.init(address=self.address, **options)
            else:
                ray.init(num_cpus=self.num_cpus or os.cpu_count() or 1, **options)
        except ConnectionError as error:
            raise ValueError(f"cannot reach the Ray cluster at {self.address!r} ({error}); "
                             "start it with `ray start --head` or fix --executor-option "
                             "address=...") from None
        self._started = True
        return ray

    def start(self) -> None:
        """Connect (a local Ray starts here) and have a worker per task slot import what the
        tasks need, without waiting for it."""
        ray = self._connect()
        if not self._warming:
            slots = max(1, int(ray.cluster_resources().get("CPU", 1) // self.cpus_per_task))
            warm = ray.remote(_warm).options(num_cpus=self.cpus_per_task)
            self._warming = [warm.remote() for _ in range(slots)]

    def _settle(self) -> None:
        """Wait for the warm-up tasks (Ray must not shut down with replies in flight)."""
        if self._warming:
            import ray

            try:
                ray.wait(self._warming, num_returns=len(self._warming), timeout=60)
            except Exception:  # Ray is shutting down
                pass
            self._warming = []

    def _gpus(self, device: str) -> float:
        if self.gpus_per_task is not None:
            return self.gpus_per_task
        if device.startswith("cuda"):
            return 1
        if device == "auto":
            import torch

            return 1 if torch.cuda.is_available() else 0
        return 0

    def run(self, task: Callable[[Cell], Outcome], cells: list[Cell]) -> Iterator[Outcome]:
        if not cells:
            return
        ray = self._connect()
        remote = ray.remote(_run).options(
            num_cpus=self.cpus_per_task, num_gpus=self._gpus(getattr(task, "device", "cpu")),
            max_retries=self.max_retries)
        env = {name: os.environ[name] for name in FORWARDED if name in os.environ}
        threads = max(1, int(self.cpus_per_task))
        shared = ray.put(task)
        pending = {remote.remote(shared, cell, env, threads): (cell, now_ms()) for cell in cells}
        stop = _Signals()  # Ctrl-C never lands inside a Ray call: the loop checks between waits
        try:
            while pending:
                stop.check()
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in done:
                    cell, started = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as error:  # the worker died, beyond Ray's retries
                        outcome = Outcome(cell, None, f"{type(error).__name__}: {error}", [],
                                          started, now_ms())
                    yield outcome
        finally:
            stop.restore()
            # Ctrl-C, or the runner stopped early: cancel the rest, then let the cancellations
            # (and replies already on their way) arrive before Ray is shut down. Not ``force``,
            # and no shutdown with replies in flight: either races in Ray 2.60's driver and can
            # abort it ("Tried to complete task that was not pending").
            for ref in pending:
                try:
                    ray.cancel(ref)
                except Exception:  # already finished, or Ray is shutting down
                    pass
            if pending:
                try:
                    ray.wait(list(pending), num_returns=len(pending), timeout=30)
                except Exception:
                    pass

    def close(self) -> None:
        self._settle()
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


@hookimpl
def register_executors(register: Any) -> None:
    register("ray", RayExecutor)
