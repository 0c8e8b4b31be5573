"""Tests about the project itself: every hook is tested and documented with its real signature,
every built-in module is loaded, and the architecture rule (the core imports no built-in plugin;
built-ins use only the public API) cannot rot; the rooms and import circles: test_architecture."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from transfer.plugging import hookspecs
from transfer.plugging.plugin_manager import BUILTIN_PLUGINS

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
def test_every_hook_is_documented_with_its_signature(hook):
    guide = (ROOT / "docs" / "plugins.md").read_text()
    documented = re.findall(rf"^#### `{hook}\((.*)\)`$", guide, re.M)
    real = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert documented == [real], f"docs/plugins.md documents {hook}({documented}), not ({real})"


CORE = sorted((ROOT / "transfer").rglob("*.py"))
BUILTINS = sorted((ROOT / "plugins").rglob("*.py")) + sorted((ROOT / "studies").rglob("*.py"))


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
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


def test_every_builtin_module_is_loaded_and_every_loaded_one_exists():
    with_hooks = {
        f"transfer.{p.relative_to(ROOT).with_suffix('').as_posix().replace('/', '.')}"
        .removesuffix(".__init__") for p in BUILTINS if "@hookimpl" in p.read_text()
    }
    listed = {name for name in BUILTIN_PLUGINS if name != "transfer.contracts.executors"}
    assert with_hooks == listed, (
        f"missing from BUILTIN_PLUGINS: {sorted(with_hooks - listed)}; "
        f"listed but without hooks: {sorted(listed - with_hooks)}"
    )


@pytest.mark.parametrize("checker", [["ruff", "check", "."], ["mypy"]], ids=["ruff", "mypy"])
def test_lint_and_type_check_are_clean(checker):
    """ruff over the repository, mypy over transfer/, plugins/ and studies/ (pyproject.toml)."""
    out = subprocess.run([sys.executable, "-m", *checker], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
