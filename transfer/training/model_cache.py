"""Trained models, kept on disk and in memory: a model with the same family, parameters, dataset
and seed is trained once, ever.

Weights live under ``TRANSFER_CACHE_DIR`` (default ``~/.cache/transfer``): torch state dicts
loaded with ``weights_only=True`` and scikit-learn estimators through skops, never pickle. The
cache hands out read-only models, shared by every cell of a process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from ..contracts.cache_folder import default_cache_dir
from ..contracts.cell import stable_hash
from ..contracts.data import Dataset
from ..contracts.models import Model
from ..contracts.specs import ModelSpec
from .progress import training

CACHE_FORMAT = 1
RECORD = "record.json"
logger = logging.getLogger("transfer")


@dataclass
class ModelRecord:
    """One trained model: where its weights are and how well it does on clean test data."""

    key: str
    family: str
    params: dict[str, Any]
    dataset: dict[str, Any]
    seed: int
    clean_accuracy: float
    path: str
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256, checked on load
    measures: dict[str, float] = field(default_factory=dict)  # what training spent (``measures``)
    curves: dict[str, list[float]] = field(default_factory=dict)  # per epoch (``curves``)


class CorruptEntry(Exception):
    """A cache entry that cannot be trusted; the message says why."""


def checksums(folder: Path) -> dict[str, str]:
    """The sha256 of every file of a cache entry (but its record)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.is_file() and path.name != RECORD}


class ModelCache:
    """Trained models on disk (and in memory for this process), keyed by what determines them."""

    def __init__(self, root: Path | str | None = None,
                 fetch: Callable[[str, Path], bool] | None = None) -> None:
        """``fetch(key, folder)``, when given, fills ``folder`` with a model this cache lacks
        from elsewhere (the MLflow store: ``model_runs.download``) and says whether it could."""
        self.root = Path(root) if root is not None else default_cache_dir()
        self.fetch = fetch
        self.trained: set[str] = set()  # the keys this process trained
        self._memory: dict[str, tuple[Model, ModelRecord]] = {}

    @staticmethod
    def key(family: str, params: dict[str, Any], dataset: Dataset, seed: int) -> str:
        return stable_hash([CACHE_FORMAT, family, params, dataset.spec, seed], length=20)

    def get(
        self, spec: ModelSpec, model: Model, dataset: Dataset, seed: int, device: torch.device
    ) -> tuple[Model, ModelRecord]:
        """The trained, read-only model for ``spec`` (``model`` is its untrained instance)."""
        key = self.key(spec.name, model.params, dataset, seed)
        if key in self._memory:
            return self._memory[key]
        folder = self.root / "models" / key
        model.to(device)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{folder}.lock"):  # studies running at once train a model once
            record = self._load(folder, key, model) if folder.exists() else None
            if record is None and self.fetch is not None and self._fetched(key, folder):
                record = self._load(folder, key, model)
            if record is None:
                self.trained.add(key)
                with training(spec.name):
                    model.fit(dataset, seed)
                with torch.no_grad():
                    correct = model.predict(dataset.x_test) == dataset.y_test.to(device)
                record = ModelRecord(key, spec.name, model.params, dataset.spec, seed,
                                     correct.float().mean().item(), str(folder),
                                     measures=model.measures(), curves=model.curves())
                self._write(folder, model, record)
        model.read_only = True
        self._memory[key] = (model, record)
        return model, record

    def has(self, key: str) -> bool:
        """Whether this cache holds the model ``key`` on disk (not checked until loaded)."""
        return (self.root / "models" / key / RECORD).exists()

    def adopt(self, record: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        """A model trained elsewhere (its record and files, as a worker on another machine sends
        them) written into this cache unless it holds it; the record with its path here."""
        folder = self.root / "models" / record["key"]
        if not (folder / RECORD).exists():

            def fill(staging: Path) -> None:
                for name, blob in files.items():
                    (staging / name).write_bytes(blob)

            _publish(folder, fill)
        return {**record, "path": str(folder)}

    def _fetched(self, key: str, folder: Path) -> bool:
        """Whether ``fetch`` brought the model; a store that fails is reported, not fatal."""
        assert self.fetch is not None
        try:
            return self.fetch(key, folder)
        except Exception as error:
            logger.warning("could not fetch model %s from the store (%s: %s); training it",
                           key, type(error).__name__, str(error)[:200])
            return False

    def _load(self, folder: Path, key: str, model: Model) -> ModelRecord | None:
        """The entry's record with its weights loaded into ``model``; ``None`` (after moving the
        entry aside) when the entry is incomplete, corrupt, or another model's."""
        try:
            try:
                record = ModelRecord(**json.loads((folder / RECORD).read_text()))
            except (OSError, ValueError, TypeError) as error:
                raise CorruptEntry(f"its {RECORD} cannot be read ({error})") from None
            if record.key != key:
                raise CorruptEntry(f"it holds model {record.key}, not {key}")
            if record.files:
                found = checksums(folder)
                for name, digest in record.files.items():
                    if found.get(name) != digest:
                        raise CorruptEntry(f"{name} does not match the checksum in its {RECORD}")
            try:
                model.load(folder)
            except Exception as error:
                raise CorruptEntry(f"its weights do not load ({type(error).__name__}: "
                                   f"{str(error)[:200]})") from None
        except CorruptEntry as why:
            aside = self.root / "corrupt" / f"{key}-{time.strftime('%Y%m%dT%H%M%S')}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), aside)
            logger.warning("model cache entry %s is unusable: %s; moved it to %s and training "
                           "the model again", folder, why, aside)
            return None
        record.path = str(folder)
        return record

    def _write(self, folder: Path, model: Model, record: ModelRecord) -> None:
        def fill(staging: Path) -> None:
            model.save(staging)
            record.files = checksums(staging)
            (staging / RECORD).write_text(json.dumps(asdict(record), default=str))

        _publish(folder, fill)


def _publish(folder: Path, fill: Callable[[Path], None]) -> None:
    """A cache entry written whole or not at all: ``fill`` a staging folder beside ``folder``,
    then rename it into place (when another process got there first, its entry stays)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    try:
        fill(staging)
        os.replace(staging, folder)
    except OSError:
        if not (folder / RECORD).exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
