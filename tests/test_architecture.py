"""The tree is the architecture, and these checks keep it so: the core's rooms import only the
rooms below them, a study package imports no other study's internals, its claims, report and
headlines read its ``result`` and ``config`` (never the study module), no circle of imports
exists anywhere (type-only imports aside), every folder says in its ``__init__.py`` what lives
there, and no module grows past 300 lines or repeats its folder's name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"transfer": ROOT / "transfer", "transfer.plugins": ROOT / "plugins",
            "transfer.studies": ROOT / "studies"}
# each core room and its rank: a room imports only rooms of a lower rank (and itself)
ROOMS = {"plugging": 0, "mathematics": 0, "contracts": 1, "training": 2, "tracking": 2,
         "running": 3, "presentation": 3, "cli": 4}
READ_BY_CLAIMS = ("claims", "report", "headlines")  # a study's readers of its results


def _module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of ``path`` as installed, and whether it is a package's ``__init__``."""
    for package, folder in sorted(PACKAGES.items(), key=lambda kv: -len(str(kv[1]))):
        if path.is_relative_to(folder):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                return ".".join([package, *parts[:-1]]), True
            return ".".join([package, *parts]), False
    raise ValueError(path)


FILES = sorted(p for folder in PACKAGES.values() for p in folder.rglob("*.py"))
MODULES = {_module_name(p)[0]: p for p in FILES}


def _runtime_imports(path: Path, type_only: bool = False) -> set[str]:
    """The modules of this repository that ``path`` imports when it runs, at any depth (module
    level or inside functions); imports under ``if TYPE_CHECKING:`` are left out unless
    ``type_only``."""
    name, is_package = _module_name(path)
    package = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
                    and not type_only):
                for item in child.orelse:
                    visit(item)
                continue
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package[: len(package) - child.level + 1] + [base]).strip(".")
                for alias in child.names:  # ``from x import submodule`` names a module too
                    target = f"{base}.{alias.name}"
                    found.add(target if target in MODULES else base)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _runtime_imports(path) for name, path in MODULES.items()}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                connect(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return circles


def test_the_checks_see_the_tree():
    assert len(MODULES) > 150 and sum(len(targets) for targets in GRAPH.values()) > 300
    assert {"transfer.contracts.study", "transfer.studies.transfer_matrix.claims"} <= MODULES.keys()


def test_the_circle_finder_finds_a_circle_and_only_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_circles(graph) == [["a", "b", "c"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_no_circle_of_imports_anywhere():
    circles = import_circles(GRAPH)
    assert not circles, f"{len(circles)} import circles: " + "; ".join(
        " <-> ".join(c) for c in circles)


def test_the_core_has_no_circle_even_through_type_only_imports():
    core = {name: {t for t in _runtime_imports(path, type_only=True)
                   if not t.startswith(("transfer.plugins", "transfer.studies"))}
            for name, path in MODULES.items()
            if not name.startswith(("transfer.plugins", "transfer.studies"))}
    assert len(core) > 50
    assert not import_circles(core), import_circles(core)


def test_every_core_module_lives_in_a_known_room():
    loose = [p.name for p in (ROOT / "transfer").glob("*.py")]
    assert sorted(loose) == ["__init__.py", "__main__.py"]
    rooms = {p.name for p in (ROOT / "transfer").iterdir() if (p / "__init__.py").exists()}
    assert rooms == set(ROOMS), "a new room needs its rank in ROOMS (what it may import)"


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_a_core_room_imports_only_the_rooms_below_it(room):
    for module, targets in GRAPH.items():
        if not module.startswith(f"transfer.{room}."):
            continue
        for target in targets:
            assert not target.startswith(("transfer.plugins", "transfer.studies")), (
                f"{module} imports {target}: the core names built-ins only as strings")
            other = target.split(".")[1] if target.count(".") >= 1 else ""
            if other in ROOMS and other != room:
                assert ROOMS[other] < ROOMS[room], (
                    f"{module} imports {target}: {room} may not import {other}, which is not "
                    "below it")


STUDIES = sorted(p.parent.name for p in (ROOT / "studies").glob("*/__init__.py")
                 if p.parent.name != "shared")


@pytest.mark.parametrize("study", STUDIES)
def test_a_study_package_imports_no_other_studys_internals(study):
    own = f"transfer.studies.{study}"
    for module, targets in GRAPH.items():
        if module != own and not module.startswith(own + "."):
            continue
        for target in targets:
            if target.startswith("transfer.studies"):
                assert target == own or target.startswith((own + ".", "transfer.studies.shared")), (
                    f"{module} imports {target}: share it through studies/shared instead")


@pytest.mark.parametrize("study", STUDIES)
def test_claims_report_and_headlines_read_the_result_not_the_study_module(study):
    package = ROOT / "studies" / study
    assert (package / "config.py").exists() and (package / "result.py").exists()
    assert (package / "config.toml").exists() and (package / "claims.py").exists()
    for reader in READ_BY_CLAIMS:
        path = package / f"{reader}.py"
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):  # TYPE_CHECKING imports included: they read the same way
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module is not None, f"{study}/{reader}.py imports the study module"
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert node.module != f"transfer.studies.{study}", path
    for module in ("config", "result"):  # below the readers and the study module
        targets = GRAPH[f"transfer.studies.{study}.{module}"]
        above = {f"transfer.studies.{study}", *(f"transfer.studies.{study}.{reader}"
                                                 for reader in READ_BY_CLAIMS)}
        assert not targets & above, f"{study}/{module}.py imports {sorted(targets & above)}"


FOLDERS = sorted({p.parent for p in FILES})


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_folder_says_what_lives_there(folder):
    init = folder / "__init__.py"
    assert init.exists(), f"{folder.relative_to(ROOT)} has no __init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text()))
    assert doc and len(doc) > 80, f"{init.relative_to(ROOT)}: say what lives here, who imports it"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small_and_do_not_repeat_their_folders_name(path):
    assert len(path.read_text().splitlines()) <= 300, f"{path.name}: split it by concept"
    folder = path.parent.name
    if path.name != "__init__.py":
        assert not path.stem.startswith(f"{folder}_") and path.stem != folder, (
            f"{path.relative_to(ROOT)} repeats its folder's name")
