"""Reading study configs: TOML or YAML files, plus ``--set key=value`` overrides."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    """A config file or override that cannot be read."""


def load_config(path: Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise ConfigFileError(f"{path}: config files end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise ConfigFileError(f"{path}: {error}") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: a config is a table of fields, not {type(data).__name__}")
    return apply_overrides(data, overrides)


def read_default_config(study_class: Any, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """A study's shipped default config (a TOML file beside its module), with overrides."""
    if study_class.default_config is None:
        data: dict[str, Any] = {}
    else:
        data = tomllib.loads(Path(study_class.default_config).read_text())
    return apply_overrides(data, overrides)


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], flag: str = "--set"
                    ) -> dict[str, Any]:
    """``a.b=VALUE`` sets ``data["a"]["b"]``; VALUE is parsed as YAML (numbers, lists, ...).
    A number indexes into a list: ``models.0.params.hidden=[64]``."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ConfigFileError(f"{flag} {override!r}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise ConfigFileError(f"{flag} {override!r}: {error}") from None
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigFileError(
                        f"{flag} {override!r}: {'.'.join(parts[:depth]) or 'config'} is a list of "
                        f"{len(node)}; use an index 0..{len(node) - 1}"
                    )
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if isinstance(node, str):
                    raise ConfigFileError(f"{flag} {override!r}: {part} is a plain value")
    return data
