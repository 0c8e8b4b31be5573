"""Config validation, in one pass that builds nothing.

A config is checked once per ``study run``, before any work: its fields (pydantic), every plugin
name it holds (unknown names list the close matches), every plugin parameter against its
factory's signature (names and types; no dataset is loaded and no model is built), and the
study's own checks (``Study.validate``, e.g. model capabilities read from their classes).
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, PydanticUserError, ValidationError, create_model

from ..plugging.registry import Registry, RegistryError
from .attacks import Attack
from .models import Model
from .specs import ComponentSpec, StudyConfig

if TYPE_CHECKING:
    from .study import Study


class ConfigError(ValueError):
    """A config that does not validate; the message names the field and the allowed values."""


def format_validation_error(error: ValidationError, where: str = "") -> str:
    lines = []
    for problem in error.errors():
        path = ".".join(str(part) for part in problem["loc"]) or "(config)"
        lines.append(f"{where}{path}: {problem['msg']} (got {problem.get('input')!r})")
    return "invalid config:\n  " + "\n  ".join(lines)


def accepted_parameters(factory: Any) -> dict[str, Any] | None:
    """``{name: annotation}`` of the keyword parameters a factory accepts, following
    ``**params`` up to the contract base; ``None`` when it accepts anything."""
    bound: set[str] = set()
    positional = 0
    if isinstance(factory, functools.partial):
        bound, positional, factory = set(factory.keywords), len(factory.args), factory.func
    functions = (
        [(c, vars(c)["__init__"]) for c in factory.__mro__ if "__init__" in vars(c)]
        if isinstance(factory, type)
        else [(None, factory)]
    )
    found: dict[str, Any] = {}
    for owner, function in functions:
        if owner in (Model, Attack):
            break
        try:
            hints = typing.get_type_hints(function)
        except Exception:  # an annotation that cannot be resolved is not checked
            hints = {}
        parameters = [p for p in inspect.signature(function).parameters.values()
                      if p.name != "self"]
        if owner is factory or owner is None:  # arguments a partial fills are not parameters
            parameters = parameters[positional:]
        for p in parameters:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                found.setdefault(p.name, hints.get(p.name, Any))
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    else:
        return None
    return {name: value for name, value in found.items() if name not in bound}


def check_parameters(registry: Registry, spec: ComponentSpec, where: str = "") -> None:
    """The spec names a registered plugin and gives it only parameters it has, of the right
    types; else a ``ConfigError`` naming the field and the allowed parameters."""
    try:
        factory = registry.get(spec.kind, spec.name)
    except RegistryError as error:
        raise ConfigError(f"{where}name: {error}") from None
    allowed = accepted_parameters(factory)
    if allowed is None:
        return
    unknown = sorted(set(spec.params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}params: {spec.kind} {spec.name!r} has no parameter "
            f"{', '.join(map(repr, unknown))}; its parameters are: "
            f"{', '.join(sorted(allowed)) or 'none'}"
        )
    fields: dict[str, Any] = {name: (allowed[name], ...) for name in spec.params}
    try:
        checker = create_model(  # type: ignore[call-overload]
            "Parameters", __config__=ConfigDict(arbitrary_types_allowed=True), **fields
        )
        checked = checker.model_validate(spec.params)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, f"{where}params.")) from None
    except (TypeError, PydanticUserError):  # an annotation pydantic cannot check
        return
    for inner_where, inner in component_specs(checked, f"{where}params."):  # e.g. an attack
        check_parameters(registry, inner, inner_where)  # a model trains against


def component_specs(config: Any, where: str = "") -> list[tuple[str, ComponentSpec]]:
    """Every dataset/model/attack spec inside a config, however deeply nested, with its path."""
    if isinstance(config, ComponentSpec):
        return [(where, config)]
    if hasattr(type(config), "model_fields"):
        return [s for name in type(config).model_fields
                for s in component_specs(getattr(config, name), f"{where}{name}.")]
    if isinstance(config, list | tuple):
        return [s for i, item in enumerate(config) for s in component_specs(item, f"{where}{i}.")]
    if isinstance(config, dict):
        return [s for key, item in config.items() for s in component_specs(item, f"{where}{key}.")]
    return []


def validate_config(
    registry: Registry, data: dict[str, Any]
) -> tuple[Study[Any, Any], StudyConfig]:
    """The study and its validated config: fields, plugin names and parameters, the study's own
    checks. Nothing is loaded or built."""
    if "study" not in data:
        raise ConfigError("the config has no 'study' field naming the study to run")
    try:
        study: Study[Any, Any] = registry.create("study", data["study"])
    except RegistryError as error:
        raise ConfigError(f"study: {error}") from None
    try:
        config = study.Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error)) from None
    for where, spec in component_specs(config):
        check_parameters(registry, spec, where)
    try:
        study.validate(config, registry)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return study, config
