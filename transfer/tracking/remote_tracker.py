"""The driver's tracker: every call of a study's ``Tracker`` made in the writer process, so that
the driver never imports MLflow (about 1.5 s) nor opens the store (about 1 s) itself; both happen
in the writer while the driver imports torch.

A call returns the value the writer's ``Tracker`` returned, or raises its error
(``TrackingUnavailable`` intact). The study's lock is taken in the writer too (it beats there;
its holder is the writer, which lives exactly as long as the driver), polled from here so that
the driver can say it waits and Ctrl-C can stop the waiting.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from .writer import Writer, _tracker, open_store, running_writer

POLL_SECONDS = 1.0


class RemoteTracker:
    """A ``Tracker`` of the store ``uri`` living in ``writer``: ``remote.open_study(...)`` is
    ``tracker.open_study(...)`` there."""

    def __init__(self, writer: Writer, uri: str) -> None:
        self.writer, self.uri = writer, uri
        writer.call(open_store, uri)  # the store's errors (a server down) are raised here

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return partial(self.writer.call, _method, self.uri, name)

    def lock(self, name: str, holds: str = "",
             on_wait: Callable[[str], None] = lambda message: None) -> RemoteLock:
        return RemoteLock(self, name, holds, on_wait)


class RemoteLock:
    """A ``StoreLock`` held by the writer; ``acquire`` waits (saying so once) until it has it."""

    def __init__(self, tracker: RemoteTracker, name: str, holds: str,
                 on_wait: Callable[[str], None]) -> None:
        self.tracker, self.name, self.holds, self.on_wait = tracker, name, holds, on_wait

    def acquire(self) -> None:
        told = False
        try:
            while (waiting := self.tracker.writer.call(_try_lock, self.tracker.uri, self.name,
                                                       self.holds)) is not None:
                if not told:
                    self.on_wait(waiting)
                    told = True
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:  # the writer may have taken it meanwhile: given back
            self.release()
            raise

    def release(self) -> None:
        self.tracker.writer.call(_release_lock, self.name)


# --- inside the writer process ------------------------------------------------------------------
_LOCKS: dict[str, Any] = {}  # the StoreLocks the writer holds for its driver, by name


def _method(uri: str, name: str, *args: Any) -> Any:
    return getattr(_tracker(uri), name)(*args)


def _try_lock(uri: str, name: str, holds: str) -> str | None:
    """Take the lock ``name`` if it is free: ``None``; else what the driver says while waiting."""
    lock = _tracker(uri).lock(name, holds=holds)
    if lock.try_acquire():
        lock.beat()
        _LOCKS[name] = lock
        return None
    return lock.waiting()


def _release_lock(name: str) -> None:
    lock = _LOCKS.pop(name, None)
    if lock is not None:
        lock.release()


def log_png(uri: str, run_id: str, png: bytes, path: str) -> None:
    """The PNG file ``png`` (a figure the driver drew) as the artifact ``path`` of ``run_id``."""
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / Path(path).name
        local.write_bytes(png)
        _tracker(uri).client.log_artifact(run_id, str(local), str(Path(path).parent))


def model_fetcher(uri: str) -> Callable[[str, Path], bool]:
    """``fetch(key, folder)`` for a ``ModelCache``: through this process's writer when it runs
    one (a driver), else with a client of its own (a Ray worker; connected on first use)."""
    direct: list[Callable[[str, Path], bool]] = []

    def fetch(key: str, folder: Path) -> bool:
        writer = running_writer()
        if writer is not None:
            return bool(writer.call(fetch_model, uri, key, folder))
        if not direct:
            from .model_runs import store_fetcher

            direct.append(store_fetcher(uri))
        return direct[0](key, folder)

    return fetch


def fetch_model(uri: str, key: str, folder: Path) -> bool:
    """The weights of model ``key`` from the store into ``folder`` (``model_runs.download``)."""
    from .model_runs import download

    return download(_tracker(uri).client, key, folder)
