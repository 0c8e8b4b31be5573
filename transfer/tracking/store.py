"""Connecting to the MLflow store: where it is, failing fast when it is not there, and creating a
new SQLite store once even when several studies start together. MLflow is imported only to
connect: a study's driver reads the store's address here and leaves the store to its writer
process."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

# MLflow retries an unreachable server 7 times with exponential backoff (minutes of silence) and
# shows a progress bar per downloaded artifact; a study wants a prompt, clear failure instead.
# Users can still set these variables themselves.
for _variable, _value in (("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
                          ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
                          ("MLFLOW_HTTP_REQUEST_TIMEOUT", "20"),
                          ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")):
    os.environ.setdefault(_variable, _value)

from filelock import FileLock  # noqa: E402

if TYPE_CHECKING:
    from mlflow import MlflowClient

HEALTH_TIMEOUT_SECONDS = 5.0
BUILD_WAIT_SECONDS = 60.0  # another program building the same new store


class TrackingUnavailable(RuntimeError):
    """The MLflow store cannot be reached or written (a server that is down, a full disk)."""

    def __init__(self, uri: str, detail: str) -> None:
        if uri.startswith(("http://", "https://")):
            fix = (f"cannot reach the MLflow tracking server at {uri} ({detail}). Start it (for "
                   f"example `mlflow server --host 127.0.0.1 --port 5000`) or point --tracking-uri "
                   f"/ MLFLOW_TRACKING_URI at one that runs")
        else:
            fix = (f"cannot write to the MLflow store {uri} ({detail}). Free disk space or fix the "
                   f"folder's permissions")
        super().__init__(f"{fix}; finished cells are kept, and running the same command again "
                         f"resumes")
        self.uri, self.detail = uri, detail

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from the writer process intact
        return (TrackingUnavailable, (self.uri, self.detail))


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI``, else ``./mlflow.db`` in the working directory, made absolute."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"sqlite:///{Path('mlflow.db').resolve()}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else ``None``."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def missing_store(uri: str) -> str | None:
    """What to say when ``uri`` is a SQLite store that does not exist (a command that only reads
    a store must not create an empty one), else ``None``."""
    database = sqlite_path(uri)
    if database is None or database.exists():
        return None
    return (f"no MLflow store at {database}: run a study in this folder first (transfer study run "
            f"NAME), or point --tracking-uri / MLFLOW_TRACKING_URI at the store of your runs")


def ui_command(uri: str) -> str:
    """The command that opens the dashboards on this store."""
    database = sqlite_path(uri)
    if database is not None:
        return (f"mlflow ui --backend-store-uri {uri} "
                f"--artifacts-destination {database.parent / 'mlartifacts'}")
    return f"open {uri}"


STORE_WRITE_ERRORS = ("database or disk is full", "disk I/O error", "readonly database",
                      "unable to open database file", "No space left on device")


def run_url(uri: str, experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI (``transfer ui``'s default address for a local store),
    opened in the model-training view."""
    base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else UI_ADDRESS
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"


UI_ADDRESS = "http://127.0.0.1:5000"


def _unreachable(error: BaseException) -> str | None:
    """Why ``error`` means the store did not answer or cannot be written, else ``None``."""
    from mlflow.exceptions import MlflowException

    text = str(error)
    written = next((reason for reason in STORE_WRITE_ERRORS if reason in text), None)
    if written is not None:
        return written
    if isinstance(error, MlflowException) and (
        "Max retries exceeded" in text or "failed with exception" in text
        or error.error_code in ("TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED")
    ):
        reason = text.split("Caused by", 1)[-1] if "Caused by" in text else text
        return reason.strip(" ()")[:300]
    module = type(error).__module__
    if module.startswith(("requests", "urllib3")) or isinstance(error, ConnectionError):
        return f"{type(error).__name__}: {text[:300]}"
    return None


class _Guarded:
    """An ``MlflowClient`` whose calls raise :class:`TrackingUnavailable` when the store is gone."""

    def __init__(self, client: MlflowClient, uri: str) -> None:
        self._client = client
        self._uri = uri

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except Exception as error:
                detail = _unreachable(error)
                if detail is None:
                    raise
                raise TrackingUnavailable(self._uri, detail) from None

        return call


def _check_server(uri: str) -> None:
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=HEALTH_TIMEOUT_SECONDS):
            return
    except urllib.error.HTTPError:
        return  # it answers; MLflow reports its own errors from here on
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise TrackingUnavailable(uri, f"{type(error).__name__}: {reason}") from None


def connect(uri: str) -> MlflowClient:
    """A client for the store at ``uri`` that has checked the store answers: a server's
    ``/health`` within seconds; a SQLite file created (and migrated) under a file lock, so that
    studies started together on a new store do not race on MLflow's migrations. A new SQLite
    store is a copy of the empty store this MLflow version made first (``empty_store``)."""
    from mlflow import MlflowClient

    from .empty_store import copy_empty_store, keep_empty_store

    database = sqlite_path(uri)
    if database is None:
        if uri.startswith(("http://", "https://")):
            _check_server(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    else:
        database.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{database}.lock"):  # creating the stores runs MLflow's migrations
            new = not database.exists()
            copied = copy_empty_store(database, lambda: _opened(uri)) if new else None
            client = copied or _opened_once_built(uri, database)
            if new and copied is None:
                keep_empty_store(database)
    return cast(MlflowClient, _Guarded(client, uri))


def _opened(uri: str) -> MlflowClient:
    """A client of the SQLite store ``uri``, both its stores (runs, models) created or checked."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)
    return client


def _opened_once_built(uri: str, database: Path) -> MlflowClient:
    """``_opened(uri)``, waited for while another program (an ``mlflow ui`` started at the same
    time, a script with its own client) is building the same new store: its migrations and ours
    collide, and whichever loses sees a half-built schema. Opening is tried again for as long as
    the file keeps changing (at most ``BUILD_WAIT_SECONDS``); a file that stays as it is when
    opening fails is not being built, and its error is raised at once."""
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    while True:
        try:
            return _opened(uri)
        except Exception:
            if time.monotonic() > deadline or not _changing(database):
                raise


def _changing(database: Path, seconds: float = 1.0) -> bool:
    """Whether ``database`` (or its rollback journal) changes within ``seconds``."""
    def state() -> list[tuple[int, int] | None]:
        return [(stat.st_size, stat.st_mtime_ns) if (stat := _stat(f)) else None
                for f in (database, database.with_name(f"{database.name}-journal"))]
    before = state()
    time.sleep(seconds)
    return state() != before


def _stat(file: Path) -> os.stat_result | None:
    try:
        return file.stat()
    except FileNotFoundError:
        return None


def best_effort(call: Callable[[], Any]) -> Any:
    """``call()``; an unreachable-store error becomes ``None`` (for best-effort cleanup)."""
    try:
        return call()
    except TrackingUnavailable:
        return None
