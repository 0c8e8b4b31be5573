"""The plugin manager: built-ins, then installed entry points, then a plugins folder.

Environment switches (all comma-separated plugin names):

- ``TRANSFER_LOAD_PLUGINS``: load only these entry-point and folder plugins (empty: none of them);
- ``TRANSFER_DISABLE_PLUGINS``: skip these plugins, built-ins included (by module or file name);
- ``TRANSFER_PLUGINS_DIR``: a folder whose ``*.py`` files are loaded as plugins.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterable
from functools import partial
from pathlib import Path

import pluggy

from . import hookspecs
from .registry import Registry, RegistryError

# The core names its built-ins as strings only; it never imports a concrete plugin or study itself.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "transfer.contracts.executors",
    "transfer.plugins.executors.ray_executor",
    "transfer.plugins.datasets.digits",
    "transfer.plugins.datasets.mixtures",
    "transfer.plugins.datasets.spheres",
    "transfer.plugins.datasets.mnist",
    "transfer.plugins.datasets.cifar10",
    "transfer.plugins.datasets.npz",
    "transfer.plugins.datasets.image_folder",
    "transfer.plugins.models.mlp",
    "transfer.plugins.models.cnn",
    "transfer.plugins.models.maxout",
    "transfer.plugins.models.timm_models",
    "transfer.plugins.models.rbf_net",
    "transfer.plugins.models.softmax",
    "transfer.plugins.models.logreg",
    "transfer.plugins.models.linear_svm",
    "transfer.plugins.models.rbf_svm",
    "transfer.plugins.models.decision_tree",
    "transfer.plugins.models.random_forest",
    "transfer.plugins.models.knn",
    "transfer.plugins.models.substitute",
    "transfer.plugins.models.checkpoint",
    "transfer.plugins.models.skops_model",
    "transfer.plugins.attacks.fgsm",
    "transfer.plugins.attacks.mifgsm",
    "transfer.plugins.attacks.deepfool",
    "transfer.plugins.attacks.tree",
    "transfer.plugins.attacks.forest",
    "transfer.plugins.attacks.neighbors",
    "transfer.plugins.attacks.universal",
    "transfer.plugins.attacks.hopskipjump",
    "transfer.plugins.attacks.pgd",
    "transfer.plugins.attacks.noise",
    "transfer.plugins.attacks.nifgsm",
    "transfer.plugins.attacks.vmifgsm",
    "transfer.plugins.attacks.difgsm",
    "transfer.plugins.attacks.tifgsm",
    "transfer.plugins.attacks.sinifgsm",
    "transfer.plugins.attacks.admix",
    "transfer.plugins.attacks.sgm",
    "transfer.plugins.attacks.linbp",
    "transfer.plugins.attacks.ila",
    "transfer.plugins.attacks.fia",
    "transfer.plugins.attacks.svre",
    "transfer.studies.transfer_matrix",
    "transfer.studies.transfer_attacks",
    "transfer.studies.ensemble_source",
    "transfer.studies.subspace_dimension",
    "transfer.studies.noise_vs_adversarial",
    "transfer.studies.lipschitz",
    "transfer.studies.robustness",
    "transfer.studies.non_robust_features",
    "transfer.studies.concentration",
    "transfer.studies.oscillation",
    "transfer.studies.spectral_alignment",
    "transfer.studies.manifold",
    "transfer.studies.boundary_tilting",
    "transfer.studies.noise_error",
)

ENTRY_POINT_GROUP = "transfer"
_HOOK_KIND = {
    "register_datasets": "dataset",
    "register_models": "model",
    "register_attacks": "attack",
    "register_studies": "study",
    "register_executors": "executor",
}


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _transfer_version() -> str:
    try:
        return importlib.metadata.version("transfer")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def create_plugin_manager(
    plugins_dir: str | os.PathLike[str] | None = None,
    extra: Iterable[object] = (),
    builtins: bool = True,
) -> pluggy.PluginManager:
    """Build a plugin manager with every plugin loaded, in the documented order.

    ``builtins=False`` skips the built-in plugins (they add no commands), which keeps
    ``transfer --help`` free of torch imports."""
    pm = pluggy.PluginManager("transfer")
    pm.add_hookspecs(hookspecs)
    load = _names("TRANSFER_LOAD_PLUGINS")
    disabled = _names("TRANSFER_DISABLE_PLUGINS") or set()
    versions: dict[str, str] = {}

    for module_name in BUILTIN_PLUGINS if builtins else ():
        if module_name in disabled:
            continue
        pm.register(importlib.import_module(module_name), name=module_name)
        versions[module_name] = _transfer_version()

    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in disabled or (load is not None and entry_point.name not in load):
            continue
        if pm.get_plugin(entry_point.name) is not None:
            continue
        pm.register(entry_point.load(), name=entry_point.name)
        dist = entry_point.dist
        versions[entry_point.name] = dist.version if dist is not None else ""

    folder = plugins_dir if plugins_dir is not None else os.environ.get("TRANSFER_PLUGINS_DIR")
    if folder:
        for path in sorted(Path(folder).glob("*.py")):
            if path.stem in disabled or (load is not None and path.stem not in load):
                continue
            module = _load_file(path)
            pm.register(module, name=f"file:{path}")
            versions[f"file:{path}"] = "file"

    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    pm.transfer_versions = versions  # type: ignore[attr-defined]
    return pm


def _load_file(path: Path) -> object:
    module_name = f"transfer_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise PluginError(f"plugin file {path} failed to load: {_where(error)}") from error
    return module


class PluginError(RuntimeError):
    """A plugin that fails to load or to register; the message names the plugin."""


def _where(error: BaseException) -> str:
    """``Type: message (at file:line)`` of the innermost frame of ``error``."""
    frames = traceback.extract_tb(error.__traceback__)
    at = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{at}"


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Call every ``register_*`` hook implementation, remembering which plugin gave which name."""
    registry = Registry()
    versions: dict[str, str] = getattr(pm, "transfer_versions", {})
    for hook_name, kind in _HOOK_KIND.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            register = partial(
                registry.add,
                kind,
                plugin=impl.plugin_name,
                version=versions.get(impl.plugin_name, ""),
            )
            try:
                impl.function(register=register)
            except RegistryError:  # names both plugins already
                raise
            except Exception as error:
                raise PluginError(
                    f"plugin {impl.plugin_name} failed in {hook_name}: {_where(error)}"
                ) from error
    return registry


def load_registry(
    plugins_dir: str | os.PathLike[str] | None = None, extra: Iterable[object] = ()
) -> Registry:
    """The registry of everything the plugins provide."""
    return build_registry(create_plugin_manager(plugins_dir, extra))
