"""Checks that run before any work: what passed config validation but would still fail (or
quietly mean something else) later, reported as a clear error that names the field, file or path.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..contracts.context import Context
from ..contracts.data import Dataset
from ..contracts.specs import AttackSpec, DatasetSpec, ModelSpec
from ..contracts.validation import ConfigError, component_specs
from ..tracking.store import sqlite_path
from ..training.checkpoints import CheckpointError, locate

MAX_EXPERIMENT_NAME = 500  # MLflow's limit


def dataset_specs(config: Any) -> Iterator[tuple[str, DatasetSpec]]:
    """Every dataset a config names, with its field."""
    for name in type(config).model_fields:
        value = getattr(config, name)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, DatasetSpec):
                yield (name if items is not value else f"{name}.{index}"), item


def writable(folder: Path, what: str) -> None:
    """``folder`` exists (created if needed) and accepts a file; else a ``ConfigError``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as error:
        raise ConfigError(
            f"{what} {folder} is not writable ({error.strerror or error}); free space or fix its "
            f"permissions, or choose another folder"
        ) from None


def preflight(
    context: Context[Any], experiment: str, log: Callable[[str], None]
) -> dict[str, str]:
    """Check the experiment name, load every dataset (missing files fail here, not in a cell),
    check ``n_points`` against the test set and that the model cache is writable. Returns tags
    to record on the study's run (the number of points actually used)."""
    if len(experiment) > MAX_EXPERIMENT_NAME:
        raise ConfigError(f"--experiment: a name of at most {MAX_EXPERIMENT_NAME} characters "
                          f"(got {len(experiment)})")
    tags: dict[str, str] = {}
    for field, spec in dataset_specs(context.config):
        try:
            data: Dataset = context.dataset(spec)
        except (OSError, ValueError) as error:
            raise ConfigError(f"{field} ({spec.name}): {error}") from None
        wanted = getattr(context.config, "n_points", None)
        available = len(data.y_test)
        if isinstance(wanted, int) and wanted > available:
            log(f"n_points = {wanted} is more than the {available} test points of {spec.name}; "
                f"using all {available}")
            tags["transfer.n_points_used"] = str(available)
        wants_targets = [where for where, attack in attack_specs(context.config)
                         if attack.params.get("target") == "dataset"]
        if wants_targets and data.targets_test is None:
            raise ConfigError(f"{', '.join(wants_targets)}params.target = \"dataset\": {field} "
                              f"({spec.name}) names no target class per test point (image-folder: "
                              "a labels.csv with a targeted_label column)")
        if len(data.y_train) == 0:
            untrained = [f"{where}{m.name}" for where, m in model_specs(context.config)
                         if context.traits(m).trains(m)]
            if untrained:
                raise ConfigError(f"{field} ({spec.name}) has test points only, so every model "
                                  f"must load the user's file (params.weights = <file>, or a "
                                  f"skops file); these would train: {', '.join(untrained)}")
    for where, model in model_specs(context.config):
        if "weights" in model.params:
            try:
                locate(model.params["weights"])
            except CheckpointError as error:
                raise ConfigError(f"{where}params.{error}") from None
    writable(context.cache.root / "models", "the model cache (TRANSFER_CACHE_DIR)")
    return tags


def model_specs(config: Any) -> list[tuple[str, ModelSpec]]:
    """Every model spec of a config with its path (``models.0.``)."""
    return [(where, spec) for where, spec in component_specs(config)
            if isinstance(spec, ModelSpec)]


def attack_specs(config: Any) -> list[tuple[str, AttackSpec]]:
    """Every attack spec of a config with its path (``attacks.0.``)."""
    return [(where, spec) for where, spec in component_specs(config)
            if isinstance(spec, AttackSpec)]


def artifacts_writable(tracking_uri: str) -> None:
    """A local SQLite store's folder and its artifact folder accept files (checked before any
    training, so a read-only or full disk is found before the work is done)."""
    database = sqlite_path(tracking_uri)
    if database is not None:
        writable(database.parent, "the folder of the MLflow store")
        writable(database.parent / "mlartifacts", "the MLflow artifact folder")
