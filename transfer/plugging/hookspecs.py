"""The whole plugin contract of ``transfer`` on one page.

Every hook is a ``register_*`` callback: a plugin receives a ``register`` function and calls it once
per thing it provides, ``register(name, factory, description=...)``. See README.md, "Plugin hooks".
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("transfer")
hookimpl = pluggy.HookimplMarker("transfer")


@hookspec
def register_datasets(register: Any) -> None:
    """Register datasets: ``register("digits", factory)``; ``factory(**params) -> Dataset``."""


@hookspec
def register_models(register: Any) -> None:
    """Register model families: ``register("mlp", ModelClass)``; ``ModelClass(**params)``."""


@hookspec
def register_attacks(register: Any) -> None:
    """Register attacks: ``register("fgsm", AttackClass)``; ``AttackClass(**params) -> Attack``."""


@hookspec
def register_studies(register: Any) -> None:
    """Register studies: ``register("transfer-matrix", StudyClass)``."""


@hookspec
def register_executors(register: Any) -> None:
    """Register cell executors: ``register("local", ExecutorClass)``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``transfer`` command: ``cli.add_command(command)``."""
