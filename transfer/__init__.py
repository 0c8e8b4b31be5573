"""transfer: a plugin-based experiment suite for adversarial transferability and theory tests.

This module is the whole public API: what plugin authors import (``from transfer import ...``),
listed once in ``_EXPORTS`` by the module that implements it. Everything else is private.
Names are loaded on first use, so ``from transfer import hookimpl`` and ``transfer --help``
stay fast (no torch import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .plugging.hookspecs import hookimpl

_EXPORTS = {
    # datasets
    "Dataset": "contracts.data",
    "DataFilesMissing": "contracts.data",
    "data_root": "contracts.data",
    "user_path": "contracts.data",
    "find_files": "contracts.data",
    "stratified_split": "contracts.data",
    "subsample": "contracts.data",
    "evaluation_points": "contracts.data",
    # models
    "Model": "contracts.models",
    "freeze": "contracts.models",
    "GRADIENTS": "contracts.models",
    "DECISION": "contracts.models",
    "TREE": "contracts.models",
    "FOREST": "contracts.models",
    "NEIGHBORS": "contracts.models",
    "TorchModel": "training.torch_model",
    "CheckpointError": "training.checkpoints",
    "is_torchscript": "training.checkpoints",
    "file_identity": "training.checkpoints",
    "forward_hooked": "mathematics.chunking",
    "points_per_chunk": "mathematics.chunking",
    "locate": "training.checkpoints",
    "load_skops": "training.sklearn_model",
    "SklearnModel": "training.sklearn_model",
    "LinearTwin": "training.sklearn_model",
    "LipschitzBounded": "contracts.lipschitz_bound",
    "ModelTraits": "contracts.traits",
    "model_traits": "contracts.traits",
    "require_gradients": "contracts.traits",
    # attacks and the mathematics they share
    "Attack": "contracts.attacks",
    "AttackResult": "contracts.attacks",
    "Norm": "contracts.attacks",
    "TargetRule": "contracts.attacks",
    "loss_gradient": "mathematics.gradients",
    "class_gradients": "mathematics.gradients",
    "deepfool": "mathematics.deepfool",
    "rho_adv": "training.adversarial",
    "steepest_ascent": "mathematics.geometry",
    "project": "mathematics.geometry",
    "perturbation_norm": "mathematics.geometry",
    "random_in_ball": "mathematics.geometry",
    "random_signs": "mathematics.geometry",
    "same_size_noise": "mathematics.geometry",
    "random_basis": "mathematics.geometry",
    "flip_distance": "mathematics.geometry",
    # studies
    "Study": "contracts.study",
    "Claim": "contracts.claims",
    "Finding": "contracts.claims",
    "every_above": "contracts.claims",
    "one_sided": "contracts.claims",
    "all_of": "contracts.claims",
    "deciding": "contracts.claims",
    "Verdict": "contracts.claims",
    "Headline": "contracts.headlines",
    "Measured": "contracts.headlines",
    "Context": "contracts.context",
    "Cell": "contracts.cell",
    "CellResult": "contracts.results",
    "NotApplicable": "contracts.results",
    "Rate": "contracts.results",
    "Mean": "contracts.results",
    "status_of": "contracts.results",
    "point_outcomes": "contracts.results",
    "pooled_by_point": "contracts.results",
    "Summary": "contracts.summary",
    "Table": "contracts.summary",
    "StudyConfig": "contracts.specs",
    "ModelsConfig": "contracts.specs",
    "AttacksConfig": "contracts.specs",
    "DatasetSpec": "contracts.specs",
    "ModelSpec": "contracts.specs",
    "AttackSpec": "contracts.specs",
    "positive_budgets": "contracts.specs",
    "unique_labels": "contracts.specs",
    "wilson_interval": "mathematics.intervals",
    "simultaneous_z": "mathematics.intervals",
    "t_interval": "mathematics.intervals",
    "quotient_range": "mathematics.intervals",
    "slope_interval": "mathematics.intervals",
    "spearman_interval": "mathematics.correlation",
    "bootstrap_interval": "mathematics.bootstrap",
    "paired_difference": "mathematics.paired",
    "PairedDifference": "mathematics.paired",
    "paired_rates": "mathematics.paired",
    "PairedRates": "mathematics.paired",
    "clustered_rate": "mathematics.cluster_bootstrap",
    "clustered_difference": "mathematics.cluster_bootstrap",
    "ClusteredRate": "mathematics.cluster_bootstrap",
    "ClusteredDifference": "mathematics.cluster_bootstrap",
    # executors
    "Executor": "contracts.executors",
    "Outcome": "contracts.executors",
    "CellTask": "running.tasks",
    "ModelTask": "running.tasks",
    "failed_outcome": "contracts.executors",
    "now_ms": "contracts.executors",
    # running things from Python
    "run_study": "running.runner",
    "train_model": "training.train_model",
    "load_registry": "plugging.plugin_manager",
    "Registry": "plugging.registry",
    "ConfigError": "contracts.validation",
}

__all__ = ["hookimpl", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'transfer' has no attribute {name!r}")


if TYPE_CHECKING:
    from .contracts.attacks import Attack, AttackResult, Norm, TargetRule
    from .contracts.cell import Cell
    from .contracts.claims import (
        Claim,
        Finding,
        Verdict,
        all_of,
        deciding,
        every_above,
        one_sided,
    )
    from .contracts.context import Context
    from .contracts.data import (
        DataFilesMissing,
        Dataset,
        data_root,
        evaluation_points,
        find_files,
        stratified_split,
        subsample,
        user_path,
    )
    from .contracts.executors import Executor, Outcome, failed_outcome, now_ms
    from .contracts.headlines import Headline, Measured
    from .contracts.lipschitz_bound import LipschitzBounded
    from .contracts.models import DECISION, FOREST, GRADIENTS, NEIGHBORS, TREE, Model, freeze
    from .contracts.results import (
        CellResult,
        Mean,
        NotApplicable,
        Rate,
        point_outcomes,
        pooled_by_point,
        status_of,
    )
    from .contracts.specs import (
        AttacksConfig,
        AttackSpec,
        DatasetSpec,
        ModelsConfig,
        ModelSpec,
        StudyConfig,
        positive_budgets,
        unique_labels,
    )
    from .contracts.study import Study
    from .contracts.summary import Summary, Table
    from .contracts.traits import ModelTraits, model_traits, require_gradients
    from .mathematics.bootstrap import bootstrap_interval
    from .mathematics.chunking import forward_hooked, points_per_chunk
    from .mathematics.cluster_bootstrap import (
        ClusteredDifference,
        ClusteredRate,
        clustered_difference,
        clustered_rate,
    )
    from .mathematics.correlation import spearman_interval
    from .mathematics.deepfool import deepfool
    from .mathematics.geometry import (
        flip_distance,
        perturbation_norm,
        project,
        random_basis,
        random_in_ball,
        random_signs,
        same_size_noise,
        steepest_ascent,
    )
    from .mathematics.gradients import class_gradients, loss_gradient
    from .mathematics.intervals import (
        quotient_range,
        simultaneous_z,
        slope_interval,
        t_interval,
        wilson_interval,
    )
    from .mathematics.paired import PairedDifference, PairedRates, paired_difference, paired_rates
    from .plugging.plugin_manager import load_registry
    from .plugging.registry import Registry
    from .running.runner import run_study
    from .running.tasks import CellTask, ModelTask
    from .training.adversarial import rho_adv
    from .training.checkpoints import CheckpointError, file_identity, is_torchscript, locate
    from .training.sklearn_model import LinearTwin, SklearnModel, load_skops
    from .training.torch_model import TorchModel
    from .training.train_model import train_model
