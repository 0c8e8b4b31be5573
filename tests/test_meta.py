"""Tests about the project itself: every hook is tested and documented, and the architecture rule
(the core imports no built-in plugin; built-ins use only the public API) cannot rot."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from transfer import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("register_"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(relative level, module) of every import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def test_there_are_hooks():
    assert len(HOOKS) == 6


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    tests = [p for p in (ROOT / "tests").glob("test_*.py") if p.name != "test_meta.py"]
    assert any(f"def {hook}(" in p.read_text() for p in tests), f"no test implements {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^#### `{hook}\((register|cli)\)`$", readme, re.M), f"{hook} undocumented"


CORE = sorted((ROOT / "transfer").glob("*.py"))
BUILTINS = sorted((ROOT / "plugins").rglob("*.py")) + sorted((ROOT / "studies").rglob("*.py"))


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_imports_no_builtin_plugin_or_study(path):
    for level, module in _imports(path):
        absolute = module if level == 0 else f"transfer.{module}"
        assert not absolute.startswith(("transfer.plugins", "transfer.studies")), (
            f"{path.name} imports {absolute}: the core only names built-ins as strings"
        )
        assert not absolute.startswith(("plugins", "studies"))


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: str(p.relative_to(ROOT)))
def test_builtins_use_only_the_public_api(path):
    for level, module in _imports(path):
        if level == 0:
            assert module == "transfer" or not module.startswith("transfer"), (
                f"{path.relative_to(ROOT)} imports {module}: use `from transfer import ...`"
            )


def test_the_checks_see_files():
    assert len(CORE) >= 10 and len(BUILTINS) >= 10
