"""A cell: one independent unit of a study, as plain hashable data with a stable key.

A cell can be resumed, shipped to another process or machine, and found again in MLflow by its key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


def stable_hash(value: Any, length: int = 16) -> str:
    """A short sha256 of a JSON-able value; equal values give equal hashes across machines."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Cell:
    """One independent unit of a study: its name and plain parameters (names, numbers, seeds)."""

    study: str
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def make(cls, study: str, **params: Any) -> Cell:
        return cls(study, tuple(sorted((k, _freeze(v)) for k, v in params.items())))

    def __getitem__(self, name: str) -> Any:
        return dict(self.params)[name]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def key(self) -> str:
        return stable_hash([self.study, self.params])

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params)
