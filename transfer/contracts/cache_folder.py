"""Where ``transfer`` keeps what it computed once: a module of its own, without torch, since the
MLflow writer process reads it too (``tracking.empty_store``)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """Where ``transfer`` keeps what it computed once (trained models, an empty MLflow store):
    ``TRANSFER_CACHE_DIR``, else ``$XDG_CACHE_HOME/transfer``, else ``~/.cache/transfer``."""
    configured = os.environ.get("TRANSFER_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "transfer"
