"""What every ``transfer`` command shares: the plugins-folder option, loading the registry, and
turning a user's mistake into a one-line error (with ``--debug``, the traceback too)."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

import click

PLUGINS_DIR = click.option(
    "--plugins-dir",
    type=click.Path(file_okay=False, exists=True),
    envvar="TRANSFER_PLUGINS_DIR",
    help="Folder of *.py plugin files to load (also TRANSFER_PLUGINS_DIR).",
)


def registry_of(plugins_dir: str | None) -> Any:
    from .plugin_manager import load_registry

    try:
        return load_registry(plugins_dir)
    except Exception as error:  # a broken plugin must say which one
        raise user_error(f"loading plugins failed: {error}", error) from None


def debug_mode() -> bool:
    return os.environ.get("TRANSFER_DEBUG", "") not in ("", "0")


def user_error(message: str, error: BaseException) -> click.ClickException:
    """A clean one-line error; with ``--debug`` (or ``TRANSFER_DEBUG=1``) the traceback too."""
    if debug_mode():
        import traceback

        traceback.print_exception(error)
    return click.ClickException(message)


def lookup(registry: Any, kind: str, name: str) -> Any:
    try:
        return registry.get(kind, name)
    except KeyError as error:
        raise click.ClickException(str(error)) from None


def fewer_collections() -> Callable[[], None]:
    """Tune the garbage collector for a long study in this process; returns the undo.

    The modules imported by now (torch, MLflow, scikit-learn) hold most of the process's objects
    for its whole life: frozen, full collections stop re-scanning them; and a collection starts
    every 50,000 allocations rather than 700. Together, seconds of a default study."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

    def undo() -> None:  # what the study left behind can be collected again (a caller's process)
        gc.set_threshold(*thresholds)
        gc.unfreeze()

    return undo
