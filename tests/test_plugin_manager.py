"""The plugin machinery: built-ins, inline plugins, --plugins-dir files, entry points, switches."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pluggy
import pytest
from click.testing import CliRunner

from transfer import Attack, NotApplicable, hookimpl, load_registry, run_study
from transfer.cli.main import cli
from transfer.plugging.plugin_manager import BUILTIN_PLUGINS, create_plugin_manager
from transfer.plugging.registry import Registry, RegistryError, UnknownNameError

from .conftest import tiny_config

PLUGIN_FILE = '''
import torch
from transfer import Attack, hookimpl
from transfer.plugins.models.softmax import Softmax


class Shift(Attack):
    """Adds eps to every input (a deterministic, model-free perturbation)."""
    requires = frozenset()

    def __call__(self, model, x, y, eps, *, bounds, seed=0):
        return self.finish(x, x + eps, eps, bounds)


@hookimpl
def register_attacks(register):
    register("{attack}", Shift)


@hookimpl
def register_models(register):
    register("{model}", Softmax)
'''


def _small_run(tracking_uri, models, attacks):
    return run_study(
        tiny_config(models=models, attacks=attacks, eps=[0.2], n_points=30),
        tracking_uri=tracking_uri,
        registry=None,
    )


def test_builtins_register_every_kind(registry):
    for kind in ("dataset", "model", "attack", "study", "executor"):
        assert registry.names(kind), kind
    assert {"digits", "gaussian"} <= set(registry.names("dataset"))
    assert registry.entry("model", "mlp").plugin == "transfer.plugins.models.mlp"


def test_inline_plugin_is_usable_in_a_study(tracking_uri):
    class InlineAttack(Attack):
        """Shift every pixel down by eps."""

        requires = frozenset()

        def __call__(self, model, x, y, eps, *, bounds, seed=0):
            return self.finish(x, x - eps, eps, bounds)

    class Plugin:
        @hookimpl
        def register_attacks(self, register):
            register("shift-down", InlineAttack)

    registry = load_registry(extra=[Plugin()])
    result = run_study(
        tiny_config(models=["logreg"], attacks=["shift-down"], eps=[0.2], n_points=30),
        tracking_uri=tracking_uri, registry=registry,
    )
    (cell_result,) = result.results.values()
    assert cell_result.perturbation_linf <= 0.2 + 1e-6


def test_plugins_dir_file_from_the_cli(tmp_path, tracking_uri):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "shift.py").write_text(PLUGIN_FILE.format(attack="shift", model="linear2"))
    runner = CliRunner()
    listed = runner.invoke(cli, ["plugins", "list", "--plugins-dir", str(folder)])
    assert listed.exit_code == 0, listed.output
    assert "shift" in listed.output and "linear2" in listed.output
    result = runner.invoke(cli, [
        "study", "run", "transfer-matrix", "--plugins-dir", str(folder),
        "--tracking-uri", tracking_uri, "--no-progress",
        "--set", 'models=["linear2", "logreg"]', "--set", 'attacks=["shift"]',
        "--set", "eps=[0.1]", "--set", "n_points=30",
    ])
    assert result.exit_code == 0, result.output
    assert "2 cells done" in result.output and "0 failed" in result.output


def test_entry_point_plugin(tmp_path, monkeypatch, tracking_uri):
    site = tmp_path / "site"
    site.mkdir()
    (site / "fake_transfer_plugin.py").write_text(PLUGIN_FILE.format(attack="ep-shift",
                                                                      model="ep-linear"))
    info = site / "fake_transfer_plugin-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-transfer-plugin\nVersion: 1.2.3\n"
    )
    (info / "entry_points.txt").write_text("[transfer]\nfake = fake_transfer_plugin\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()

    registry = load_registry()
    entry = registry.entry("attack", "ep-shift")
    assert (entry.plugin, entry.version) == ("fake", "1.2.3")
    result = run_study(
        tiny_config(models=["ep-linear"], attacks=["ep-shift"], eps=[0.1], n_points=30),
        tracking_uri=tracking_uri, registry=registry,
    )
    assert all(not isinstance(r, NotApplicable) for r in result.results.values())

    monkeypatch.setenv("TRANSFER_DISABLE_PLUGINS", "fake")
    assert "ep-shift" not in load_registry().names("attack")
    monkeypatch.setenv("TRANSFER_DISABLE_PLUGINS", "")
    monkeypatch.setenv("TRANSFER_LOAD_PLUGINS", "")
    assert "ep-shift" not in load_registry().names("attack")
    monkeypatch.setenv("TRANSFER_LOAD_PLUGINS", "fake")
    assert "ep-shift" in load_registry().names("attack")
    sys.modules.pop("fake_transfer_plugin", None)


def test_disable_a_builtin(monkeypatch):
    monkeypatch.setenv("TRANSFER_DISABLE_PLUGINS", "transfer.plugins.models.knn")
    assert "knn" not in load_registry().names("model")
    assert "transfer.plugins.models.knn" in BUILTIN_PLUGINS


def test_duplicate_name_names_both_plugins():
    class First:
        @hookimpl
        def register_models(self, register):
            register("mlp", object)

    with pytest.raises(RegistryError) as error:
        load_registry(extra=[First()])
    message = str(error.value)
    assert "'mlp'" in message and "transfer.plugins.models.mlp" in message
    assert "registered twice" in message


def test_unknown_name_lists_close_matches(registry):
    with pytest.raises(UnknownNameError) as error:
        registry.get("attack", "fgms")
    assert "Did you mean" in str(error.value) and "fgsm" in str(error.value)


def test_registry_rejects_unknown_kind():
    with pytest.raises(RegistryError, match="unknown kind"):
        Registry().add("widget", "x", object, plugin="p")


def test_misspelled_hook_fails_loudly():
    class Misspelled:
        @hookimpl
        def register_model(self, register):  # not a hook: register_models
            register("x", object)

    with pytest.raises(pluggy.PluginValidationError):
        create_plugin_manager(extra=[Misspelled()])


def test_register_commands_adds_a_cli_command(tmp_path, monkeypatch):
    folder = tmp_path / "commands"
    folder.mkdir()
    (folder / "hello.py").write_text(textwrap.dedent('''
        import click
        from transfer import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                """Say hello."""
                click.echo("hello from a plugin")
    '''))
    monkeypatch.setenv("TRANSFER_PLUGINS_DIR", str(folder))
    from transfer.cli.main import TransferGroup
    from transfer.cli.main import cli as main

    monkeypatch.setattr(TransferGroup, "_loaded", False)
    result = CliRunner().invoke(main, ["hello"])
    assert result.exit_code == 0, result.output
    assert "hello from a plugin" in result.output
    main.commands.pop("hello", None)
