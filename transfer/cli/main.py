"""The ``transfer`` command: a thin layer over the library (heavy imports inside commands)."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from .common import PLUGINS_DIR, debug_mode, lookup, registry_of, user_error
from .report_command import report

# torch's OpenMP threads spin 300,000 times after each operation, taking the writer's core (README)
os.environ.setdefault("GOMP_SPINCOUNT", "1000")


class TransferGroup(click.Group):
    """Adds the commands of installed and folder plugins (``register_commands``) when asked."""

    _loaded = False

    def _load_plugin_commands(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        from ..plugging.plugin_manager import create_plugin_manager

        create_plugin_manager(builtins=False).hook.register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, name)
        return command


@click.group(cls=TransferGroup)
@click.version_option(package_name="transfer")
@click.option("--debug", is_flag=True, envvar="TRANSFER_DEBUG",
              help="Print Python tracebacks with errors, for bug reports (also TRANSFER_DEBUG=1).")
def cli(debug: bool) -> None:
    """transfer: adversarial examples, how they transfer between models, and whether the
    theories that explain them hold. Every study is tracked in MLflow.

    \b
    Start here:
      transfer study list                      the studies you can run
      transfer study run transfer-matrix       a real transfer matrix on digits
      transfer report                          one page: each theory, its claims, verdicts
      transfer ui                              browse the results in MLflow
    """
    if debug:
        os.environ["TRANSFER_DEBUG"] = "1"


@cli.group()
def study() -> None:
    """List, configure, run and inspect studies."""


@study.command("list")
@PLUGINS_DIR
def study_list(plugins_dir: str | None) -> None:
    """The registered studies and the plugins that provide them."""
    from rich.console import Console
    from rich.table import Table

    table = Table("study", "plugin", "description")
    for entry in registry_of(plugins_dir):
        if entry.kind == "study":
            table.add_row(entry.name, entry.plugin, entry.description)
    Console().print(table)


@study.command("config")
@click.argument("name")
@PLUGINS_DIR
def study_config(name: str, plugins_dir: str | None) -> None:
    """Print NAME's default config (TOML) to start a new one from:

    transfer study config transfer-matrix > my.toml
    """
    registry = registry_of(plugins_dir)
    study_class = lookup(registry, "study", name)
    if study_class.default_config is None:
        raise click.ClickException(f"study {name!r} ships no default config")
    click.echo(Path(study_class.default_config).read_text(), nl=False)


@study.command("run")
@click.argument("name_or_config")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config field, e.g. --set n_points=100 --set 'eps=[0.1, 0.2]' "
                   "--set dataset.params.size=16 (values are YAML).")
@click.option("--device", default="auto", show_default=True,
              help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")
@click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI",
              help="MLflow store [default: sqlite:///<cwd>/mlflow.db; also MLFLOW_TRACKING_URI].")
@click.option("--experiment", help="MLflow experiment [default: the study's name].")
@click.option("--executor", default="local", show_default=True,
              help="Where cells run: local (one after another), ray (Ray tasks, in parallel; "
                   'pip install -e ".[ray]"), or an executor plugin.')
@click.option("--executor-option", "executor_options", multiple=True, metavar="KEY=VALUE",
              help="An executor setting (values are YAML), e.g. --executor-option address=auto "
                   "or num_cpus=4 for ray.")
@click.option("--amp", is_flag=True,
              help="Mixed precision in the models' forward passes (attacks, predictions): "
                   "float16 on CUDA, bfloat16 on the CPU; training stays float32. An --amp run is "
                   "a study run of its own.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show progress bars for cells and model training (on a terminal only).")
@click.option("--strict", is_flag=True,
              help="Exit with code 3 when a claim of the study FAILs (for a research repo's CI).")
@click.option("--data-root", type=click.Path(file_okay=False), envvar="TRANSFER_DATA_ROOT",
              help="Folder with dataset files such as mnist/ or cifar-10-batches-bin/ "
                   "[default: ./data; also TRANSFER_DATA_ROOT].")
@PLUGINS_DIR
def study_run(
    name_or_config: str,
    overrides: tuple[str, ...],
    device: str,
    tracking_uri: str | None,
    experiment: str | None,
    executor: str,
    executor_options: tuple[str, ...],
    amp: bool,
    progress: bool,
    strict: bool,
    data_root: str | None,
    plugins_dir: str | None,
) -> None:
    """Run a study by NAME (its default config) or from a CONFIG file (TOML or YAML).

    Re-running the same config resumes: finished cells are read back from MLflow, not recomputed.
    """
    from ..tracking.writer import FAILED_WRITES, shared_writer

    if not debug_mode():  # MLflow logs its own traceback of a failed write before we report it
        logging.getLogger(FAILED_WRITES).setLevel(logging.CRITICAL)  # the writer's too
    shared_writer()  # the writer process starts (importing MLflow) while this one imports torch
    from ..contracts.claims import failed as failed_claims
    from ..contracts.validation import ConfigError
    from ..presentation.terminal import ProgressBar, make_console, print_summary
    from ..running.runner import run_study
    from ..tracking.store import TrackingUnavailable, run_url, ui_command
    from .config_files import ConfigFileError, apply_overrides, load_config, read_default_config

    signal.signal(signal.SIGTERM, _interrupt)  # `kill`, a scheduler's stop: handled as Ctrl-C
    console = make_console(stderr=True)
    if data_root:
        os.environ["TRANSFER_DATA_ROOT"] = str(Path(data_root).resolve())
    registry = registry_of(plugins_dir)
    try:
        if Path(name_or_config).is_file():
            data = load_config(Path(name_or_config), overrides)
        elif name_or_config.endswith((".toml", ".yaml", ".yml")):
            raise click.ClickException(f"config file {name_or_config} does not exist")
        else:
            data = read_default_config(lookup(registry, "study", name_or_config), overrides)
        bar = ProgressBar(console) if progress and console.is_terminal else None
        result = run_study(
            data, registry=registry, tracking_uri=tracking_uri, experiment=experiment,
            device=device, executor=executor, plugins_dir=plugins_dir, progress=bar,
            executor_options=apply_overrides({}, executor_options, "--executor-option"),
            amp=amp,
            log=lambda message: console.print(f"[dim]{message}[/dim]", soft_wrap=True),
        )
    except (ConfigError, ConfigFileError, KeyError, ValueError, TrackingUnavailable) as error:
        raise user_error(str(error), error) from None
    except OSError as error:  # a full or read-only disk met mid-study
        where = f" {error.filename}" if error.filename else ""
        raise user_error(
            f"cannot write{where}: {error.strerror or error}. Finished cells are saved; free "
            f"space or fix the permissions, then run the same command again to resume", error
        ) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: finished cells are saved; run the same command "
                      "again to resume[/yellow]")
        sys.exit(130)
    print_summary(make_console(), result.summary.terminal, result.summary.notes)
    console.print(
        f"{len(result.results)} cells done ({result.resumed} resumed), {len(result.failed)} failed"
    )
    for cell, trace in result.failed.items():
        console.print(f"[red]FAILED[/red] {cell.label}: {trace.strip().splitlines()[-1]}")
    console.print(f"MLflow run: [bold]{result.run_id}[/bold] (experiment {result.experiment_id})")
    if not result.tracking_uri.startswith(("http://", "https://")):
        console.print(f"Dashboard:  transfer ui   (runs {ui_command(result.tracking_uri)})",
                      soft_wrap=True)
    page = run_url(result.tracking_uri, result.experiment_id, result.run_id)
    console.print(f"Run page:   {page}", soft_wrap=True)
    console.print(f"Details:    transfer study show {result.run_id}")
    if result.failed:
        sys.exit(1)
    if strict and failed_claims(result.claims):
        console.print(f"--strict: claims that FAIL: {', '.join(failed_claims(result.claims))}")
        sys.exit(3)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@study.command("show")
@click.argument("run")
@click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow store.")
@click.option("--verbose", is_flag=True, help="Also internal tags, counts and every row.")
def study_show(run: str, tracking_uri: str | None, verbose: bool) -> None:
    """Show a study run: status, tags, headline metrics and its summary tables, rates as
    percentages with their 95% intervals. RUN is a run ID, a unique start of one, or a study
    name (its latest run): transfer study show transfer-matrix
    """
    from ..presentation.run_view import (
        INTERNAL_TAGS,
        RunNotFound,
        describe,
        resolve_run,
        shown_tables,
    )
    from ..presentation.terminal import make_console, print_summary
    from ..tracking.store import TrackingUnavailable, default_tracking_uri, missing_store
    from ..tracking.tracker import Tracker

    tracking_uri = tracking_uri or default_tracking_uri()
    if missing := missing_store(tracking_uri):
        raise click.ClickException(missing)
    try:
        tracker = Tracker(tracking_uri)
        info = describe(tracker.client, resolve_run(tracker.client, run))
    except (RunNotFound, TrackingUnavailable) as error:
        raise user_error(str(error), error) from None
    out = make_console()
    out.print(f"[bold]{info['name']}[/bold]  {info['run_id']}  status {info['status']}")
    for key, value in sorted(info["tags"].items()):
        if verbose or key not in INTERNAL_TAGS:
            out.print(f"  {key} = {value}", soft_wrap=True, highlight=False)
    tables = shown_tables(info["tables"], verbose)
    print_summary(out, tables, [])
    if info["figures"]:
        out.print("figures: " + ", ".join(info["figures"]), highlight=False)


@cli.group()
def plugins() -> None:
    """Inspect the loaded plugins."""


@plugins.command("list")
@PLUGINS_DIR
def plugins_list(plugins_dir: str | None) -> None:
    """Every registered name, its kind, and the plugin (and version) that provides it."""
    from rich.console import Console
    from rich.table import Table

    table = Table("kind", "name", "plugin", "version", "description")
    for entry in registry_of(plugins_dir):
        table.add_row(entry.kind, entry.name, entry.plugin, entry.version, entry.description)
    Console().print(table)


@cli.command()
@click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow store.")
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def ui(tracking_uri: str | None, port: int, host: str) -> None:
    """Open the MLflow dashboards on the study store (runs `mlflow ui`)."""
    import shlex

    from ..tracking.store import default_tracking_uri, missing_store, ui_command

    uri = tracking_uri or default_tracking_uri()
    if missing := missing_store(uri):
        raise click.ClickException(missing)
    command = ui_command(uri)
    if not command.startswith("mlflow "):
        raise click.ClickException(f"{uri} is a server already: open it in a browser")
    argv = [sys.executable, "-m", "mlflow", *shlex.split(command)[1:],
            "--host", host, "--port", str(port)]
    click.echo(" ".join(shlex.quote(a) for a in argv))
    os.execv(sys.executable, argv)


cli.add_command(report)


def main() -> None:
    try:
        cli()
    finally:  # exiting: spare the interpreter's last scan of every object (a second or two)
        gc.freeze()
