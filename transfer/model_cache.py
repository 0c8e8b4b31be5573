"""Trained models, kept on disk and in memory: a model with the same family, parameters, dataset
and seed is trained once, ever.

Weights live under ``TRANSFER_CACHE_DIR`` (default ``~/.cache/transfer``): torch state dicts
loaded with ``weights_only=True`` and scikit-learn estimators through skops, never pickle. The
cache hands out read-only models, shared by every cell of a process.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from .cell import stable_hash
from .data import Dataset
from .models import Model
from .specs import ModelSpec

CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    """``TRANSFER_CACHE_DIR``, else ``$XDG_CACHE_HOME/transfer``, else ``~/.cache/transfer``."""
    configured = os.environ.get("TRANSFER_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "transfer"


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


class ModelCache:
    """Trained models on disk (and in memory for this process), keyed by what determines them."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
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
        meta_file = folder / "record.json"
        model.to(device)
        if meta_file.exists():
            record = ModelRecord(**json.loads(meta_file.read_text()))
            model.load(folder)
        else:
            model.fit(dataset, seed)
            with torch.no_grad():
                accuracy = (model.predict(dataset.x_test) == dataset.y_test.to(device)).float()
            record = ModelRecord(
                key, spec.name, model.params, dataset.spec, seed, accuracy.mean().item(),
                str(folder),
            )
            self._write(folder, model, record)
        model.read_only = True
        self._memory[key] = (model, record)
        return model, record

    def _write(self, folder: Path, model: Model, record: ModelRecord) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
        try:
            model.save(staging)
            (staging / "record.json").write_text(json.dumps(asdict(record), default=str))
            os.replace(staging, folder)
        except OSError:
            if not (folder / "record.json").exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
