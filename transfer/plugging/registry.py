"""Name -> factory tables for every kind of plugin, with who registered each name."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

KINDS = ("dataset", "model", "attack", "study", "executor")


class RegistryError(Exception):
    """A name that is unknown or registered twice."""


class UnknownNameError(RegistryError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    version: str
    description: str


class Registry:
    """Holds every registered dataset, model, attack, study and executor."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        plugin: str,
        version: str = "",
        description: str | None = None,
    ) -> None:
        if kind not in self._entries:
            raise RegistryError(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
        if not isinstance(name, str) or not name:
            raise RegistryError(f"plugin {plugin!r} registered a {kind} with an empty name")
        existing = self._entries[kind].get(name)
        if existing is not None:
            raise RegistryError(
                f"{kind} {name!r} is registered twice: by plugin {existing.plugin!r} "
                f"and by plugin {plugin!r}"
            )
        doc = description if description is not None else (factory.__doc__ or "")
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        self._entries[kind][name] = Entry(kind, name, factory, plugin, version, summary)

    def entry(self, kind: str, name: str) -> Entry:
        """The entry for ``name``. A name registered as ``"family:*"`` answers every
        ``"family:<variant>"``; its factory receives the variant as its first argument."""
        table = self._entries[kind]
        if name in table:
            return table[name]
        prefix, sep, variant = name.partition(":")
        family = table.get(f"{prefix}:*") if sep and variant else None
        if family is not None:
            return Entry(kind, name, partial(family.factory, variant), family.plugin,
                         family.version, family.description)
        close = difflib.get_close_matches(name, list(table), n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        known = ", ".join(sorted(table)) or "none"
        kinds = f"{kind[:-1]}ies" if kind.endswith("y") else f"{kind}s"  # studies, attacks
        raise UnknownNameError(f"unknown {kind} {name!r}.{hint} Known {kinds}: {known}.")

    def has(self, kind: str, name: str) -> bool:
        """Whether ``name`` resolves (itself, or through a ``"family:*"`` entry)."""
        try:
            self.entry(kind, name)
        except UnknownNameError:
            return False
        return True

    def get(self, kind: str, name: str) -> Callable[..., Any]:
        return self.entry(kind, name).factory

    def create(self, kind: str, name: str, **params: Any) -> Any:
        return self.get(kind, name)(**params)

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def __iter__(self) -> Iterator[Entry]:
        for kind in KINDS:
            yield from (self._entries[kind][n] for n in sorted(self._entries[kind]))
