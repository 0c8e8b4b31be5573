"""A lock held in the MLflow store itself, so that it works across processes and machines alike.

Registered-model names are unique in every MLflow store (SQLite, PostgreSQL, an ``mlflow server``),
so creating one is an atomic "acquire". The holder's host and process id and a heartbeat go in the
description; a lock whose holder died (its process is gone on this host, or its heartbeat is older
than ``stale_after`` seconds) is broken. The lock is deleted again on release, so the store's
model registry only shows it while the work runs.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

HEARTBEAT_SECONDS = 20.0
STALE_AFTER_SECONDS = 120.0


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StoreLock:
    """``with StoreLock(client, name): ...`` runs the block while holding the lock ``name``."""

    def __init__(
        self,
        client: MlflowClient,
        name: str,
        *,
        on_wait: Callable[[str], None] = lambda message: None,
        holds: str = "",
        poll_seconds: float = 1.0,
        stale_after: float = STALE_AFTER_SECONDS,
    ) -> None:
        self.client = client
        self.name = name
        self.on_wait = on_wait
        self.holds = holds or f"the lock {name}"
        self.poll_seconds = poll_seconds
        self.stale_after = stale_after
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _holder(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat": time.time()}

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or its holder died); never waits."""
        try:
            self.client.create_registered_model(
                self.name, description=json.dumps(self._holder()),
                tags={"transfer.role": "lock"},
            )
            return True
        except MlflowException as error:
            # RESOURCE_DOES_NOT_EXIST: a server creates the model, then writes its tags; a lock
            # deleted in between (released, or broken) is simply not ours: try again later
            if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"):
                raise
        holder = self._read()
        if holder is not None and self._is_stale(holder):
            self._break(holder)
        return False

    def acquire(self) -> None:
        told = False
        while not self.try_acquire():
            if not told:
                self.on_wait(self.waiting())
                told = True
            time.sleep(self.poll_seconds)
        self.beat()

    def waiting(self) -> str:
        """What a process waiting for this lock says."""
        holder = self._read() or {}
        return (f"waiting: {self.holds} is held by process {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}; this run goes on when it ends (Ctrl-C stops "
                f"waiting)")

    def beat(self) -> None:
        """Start the heartbeat of a lock just acquired (``try_acquire``)."""
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        self._delete()

    def _delete(self) -> None:
        try:
            self.client.delete_registered_model(self.name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _read(self) -> dict[str, Any] | None:
        """The holder, ``None`` when the lock is free. A lock still being created (no holder
        written yet) counts from its creation time, so it is not taken for a stale one."""
        try:
            model = self.client.get_registered_model(self.name)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        try:
            holder: dict[str, Any] = json.loads(model.description or "{}")
        except json.JSONDecodeError:
            holder = {}
        if "heartbeat" not in holder:
            holder["heartbeat"] = (model.creation_timestamp or 0) / 1000
        return holder

    def _is_stale(self, holder: dict[str, Any]) -> bool:
        if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
            if not _process_alive(holder["pid"]):
                return True
        return time.time() - float(holder.get("heartbeat", 0)) > self.stale_after

    def _break(self, seen: dict[str, Any]) -> None:
        if self._read() == seen:  # not broken by someone else (nor beaten by its holder) meanwhile
            self._delete()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.client.update_registered_model(
                    self.name, description=json.dumps(self._holder())
                )
            except Exception:  # a missed beat only risks the lock looking stale later
                continue
