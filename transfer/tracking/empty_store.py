"""A new SQLite store without MLflow's migrations: MLflow builds a store by running every schema
migration since its first version (0.7 to 1.4 s here, before a study can record anything), so the
first new store of an MLflow version is kept, still empty, in the cache folder, and every later
new store is a copy of it. A copy differs from what MLflow would build only in its default
experiment (its artifact folder and times), which is set as MLflow sets it. A copy that MLflow
does not accept is thrown away with the kept store, and MLflow builds the store."""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
from mlflow.utils.uri import append_to_uri_path, resolve_uri_if_local
from mlflow.version import VERSION

from ..contracts.cache_folder import default_cache_dir

logger = logging.getLogger("transfer")
Opened = TypeVar("Opened")  # what ``opens`` gives: the client of the new store


def empty_store() -> Path:
    """Where this MLflow version's empty store is kept."""
    return default_cache_dir() / "stores" / f"empty-mlflow-{VERSION}.db"


def keep_empty_store(database: Path) -> None:
    """Keep a copy of the store ``database`` that MLflow has just built (still empty); best
    effort: a store that cannot be kept is built by MLflow next time."""
    kept = empty_store()
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkstemp(dir=kept.parent, suffix=".db")[1])
        with sqlite3.connect(database) as source, sqlite3.connect(staging) as target:
            source.backup(target)
        os.replace(staging, kept)  # atomic: another process reads a whole file or none
    except OSError as error:
        logger.debug("the empty store was not kept: %s", error)


def copy_empty_store(database: Path, opens: Callable[[], Opened]) -> Opened | None:
    """Create the new store ``database`` as a copy of the kept empty store, its default
    experiment's artifact folder and times as MLflow would set them here and now, opened by
    ``opens`` (which raises when MLflow does not accept it) and returned; None (and nothing
    created) when there is no kept store or MLflow does not accept the copy."""
    kept = empty_store()
    if not kept.is_file():
        return None
    try:
        with sqlite3.connect(kept) as source, sqlite3.connect(database) as target:
            source.backup(target)
            now = int(time.time() * 1000)
            location = append_to_uri_path(
                resolve_uri_if_local(DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH), "0")
            target.execute("UPDATE experiments SET artifact_location = ?, creation_time = ?, "
                           "last_update_time = ? WHERE experiment_id = 0",
                           (location, now, now))
        return opens()  # MLflow checks the schema's version
    except Exception as error:  # a damaged or foreign file: MLflow builds the store instead
        logger.debug("the kept empty store %s was not usable: %s", kept, error)
        database.unlink(missing_ok=True)
        kept.unlink(missing_ok=True)
        return None
