"""What every ``transfer`` command shares: the plugins-folder option, loading the registry, and
turning a user's mistake into a one-line error (with ``--debug``, the traceback too)."""

from __future__ import annotations

import os
from typing import Any

import click

PLUGINS_DIR = click.option(
    "--plugins-dir",
    type=click.Path(file_okay=False, exists=True),
    envvar="TRANSFER_PLUGINS_DIR",
    help="Folder of *.py plugin files to load (also TRANSFER_PLUGINS_DIR).",
)


def registry_of(plugins_dir: str | None) -> Any:
    from ..plugging.plugin_manager import load_registry

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
