"""transfer: a plugin-based experiment suite for adversarial transferability and theory tests.

This module is the public API that plugins import. Names are loaded on first use, so that
``from transfer import hookimpl`` and ``transfer --help`` stay fast (no torch import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl

_EXPORTS = {
    "Dataset": "data",
    "stratified_split": "data",
    "data_root": "data",
    "find_files": "data",
    "subsample": "data",
    "DataFilesMissing": "data",
    "Model": "models",
    "TorchModel": "models",
    "SklearnModel": "models",
    "LinearTwin": "models",
    "freeze": "models",
    "GRADIENTS": "models",
    "DECISION": "models",
    "TREE": "models",
    "Attack": "attacks",
    "loss_gradient": "attacks",
    "steepest_ascent": "attacks",
    "project": "attacks",
    "perturbation_norm": "attacks",
    "random_in_ball": "attacks",
    "Study": "study",
    "StudyConfig": "study",
    "Cell": "study",
    "CellResult": "study",
    "Summary": "study",
    "Table": "study",
    "DatasetSpec": "study",
    "ModelSpec": "study",
    "AttackSpec": "study",
    "unique_labels": "study",
    "positive_budgets": "study",
    "ModelsConfig": "study",
    "Context": "context",
    "Executor": "executors",
    "Outcome": "executors",
    "failed_outcome": "executors",
    "now_ms": "executors",
    "CellTask": "runner",
    "run_study": "runner",
    "wilson_interval": "metrics",
    "rate": "metrics",
    "evaluation_points": "data",
    "Registry": "registry",
    "RegistryError": "registry",
    "load_registry": "plugin_manager",
}

__all__ = ["hookimpl", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'transfer' has no attribute {name!r}")


if TYPE_CHECKING:
    from .attacks import (
        Attack,
        loss_gradient,
        perturbation_norm,
        project,
        random_in_ball,
        steepest_ascent,
    )
    from .context import Context
    from .data import (
        DataFilesMissing,
        Dataset,
        data_root,
        evaluation_points,
        find_files,
        stratified_split,
        subsample,
    )
    from .executors import Executor, Outcome, failed_outcome, now_ms
    from .metrics import rate, wilson_interval
    from .models import (
        DECISION,
        GRADIENTS,
        TREE,
        LinearTwin,
        Model,
        SklearnModel,
        TorchModel,
        freeze,
    )
    from .plugin_manager import load_registry
    from .registry import Registry, RegistryError
    from .runner import CellTask, run_study
    from .study import (
        AttackSpec,
        Cell,
        CellResult,
        DatasetSpec,
        ModelsConfig,
        ModelSpec,
        Study,
        StudyConfig,
        Summary,
        Table,
        positive_budgets,
        unique_labels,
    )
