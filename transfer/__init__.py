"""transfer: a plugin-based experiment suite for adversarial transferability and theory tests.

This module is the whole public API: what plugin authors import (``from transfer import ...``),
listed once in ``_EXPORTS`` by the module that implements it. Everything else is private.
Names are loaded on first use, so ``from transfer import hookimpl`` and ``transfer --help``
stay fast (no torch import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl

_EXPORTS = {
    # datasets
    "Dataset": "data",
    "DataFilesMissing": "data",
    "data_root": "data",
    "user_path": "data",
    "find_files": "data",
    "stratified_split": "data",
    "subsample": "data",
    "evaluation_points": "data",
    # models
    "Model": "models",
    "freeze": "models",
    "GRADIENTS": "models",
    "DECISION": "models",
    "TREE": "models",
    "FOREST": "models",
    "NEIGHBORS": "models",
    "TorchModel": "torch_model",
    "CheckpointError": "checkpoints",
    "is_torchscript": "checkpoints",
    "file_identity": "checkpoints",
    "forward_hooked": "chunking",
    "locate": "checkpoints",
    "load_skops": "sklearn_model",
    "SklearnModel": "sklearn_model",
    "LinearTwin": "sklearn_model",
    "LipschitzBounded": "lipschitz_bound",
    "ModelTraits": "traits",
    "model_traits": "traits",
    "require_gradients": "traits",
    # attacks and the mathematics they share
    "Attack": "attacks",
    "AttackResult": "attacks",
    "Norm": "attacks",
    "TargetRule": "attacks",
    "loss_gradient": "gradients",
    "class_gradients": "gradients",
    "deepfool": "deepfool",
    "rho_adv": "adversarial_training",
    "steepest_ascent": "geometry",
    "project": "geometry",
    "perturbation_norm": "geometry",
    "random_in_ball": "geometry",
    "random_signs": "geometry",
    "random_basis": "geometry",
    "flip_distance": "geometry",
    # studies
    "Study": "study",
    "Claim": "claims",
    "Finding": "claims",
    "every_above": "claims",
    "Headline": "headlines",
    "Measured": "headlines",
    "Context": "context",
    "Cell": "cell",
    "CellResult": "results",
    "NotApplicable": "results",
    "Rate": "results",
    "Mean": "results",
    "status_of": "results",
    "Summary": "summary",
    "Table": "summary",
    "StudyConfig": "specs",
    "ModelsConfig": "specs",
    "AttacksConfig": "specs",
    "DatasetSpec": "specs",
    "ModelSpec": "specs",
    "AttackSpec": "specs",
    "positive_budgets": "specs",
    "unique_labels": "specs",
    "wilson_interval": "metrics",
    # executors
    "Executor": "executors",
    "Outcome": "executors",
    "CellTask": "tasks",
    "ModelTask": "tasks",
    "failed_outcome": "executors",
    "now_ms": "executors",
    # running things from Python
    "run_study": "runner",
    "train_model": "context",
    "load_registry": "plugin_manager",
    "Registry": "registry",
    "ConfigError": "validation",
}

__all__ = ["hookimpl", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'transfer' has no attribute {name!r}")


if TYPE_CHECKING:
    from .adversarial_training import rho_adv
    from .attacks import Attack, AttackResult, Norm, TargetRule
    from .cell import Cell
    from .checkpoints import CheckpointError, file_identity, is_torchscript, locate
    from .chunking import forward_hooked
    from .claims import Claim, Finding, every_above
    from .context import Context, train_model
    from .data import (
        DataFilesMissing,
        Dataset,
        data_root,
        evaluation_points,
        find_files,
        stratified_split,
        subsample,
        user_path,
    )
    from .deepfool import deepfool
    from .executors import Executor, Outcome, failed_outcome, now_ms
    from .geometry import (
        flip_distance,
        perturbation_norm,
        project,
        random_basis,
        random_in_ball,
        random_signs,
        steepest_ascent,
    )
    from .gradients import class_gradients, loss_gradient
    from .headlines import Headline, Measured
    from .lipschitz_bound import LipschitzBounded
    from .metrics import wilson_interval
    from .models import DECISION, FOREST, GRADIENTS, NEIGHBORS, TREE, Model, freeze
    from .plugin_manager import load_registry
    from .registry import Registry
    from .results import CellResult, Mean, NotApplicable, Rate, status_of
    from .runner import run_study
    from .sklearn_model import LinearTwin, SklearnModel, load_skops
    from .specs import (
        AttacksConfig,
        AttackSpec,
        DatasetSpec,
        ModelsConfig,
        ModelSpec,
        StudyConfig,
        positive_budgets,
        unique_labels,
    )
    from .study import Study
    from .summary import Summary, Table
    from .tasks import CellTask, ModelTask
    from .torch_model import TorchModel
    from .traits import ModelTraits, model_traits, require_gradients
