"""plan -> cells -> executor -> results -> summary, with resume, on top of the tracker."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .context import Context, ModelCache, default_cache_dir, resolve_device, validate_components
from .executors import Outcome, failed_outcome, now_ms
from .plugin_manager import load_registry
from .registry import Registry
from .study import Cell, CellResult, Study, StudyConfig, Summary, stable_hash
from .tracking import Tracker


class ConfigError(ValueError):
    """A config that does not validate; the message names the field and the allowed values."""


def validate_config(registry: Registry, data: dict[str, Any]) -> tuple[Study, StudyConfig]:
    """The study object and its validated config (plugin names and parameters checked too)."""
    from pydantic import ValidationError

    if "study" not in data:
        raise ConfigError("the config has no 'study' field naming the study to run")
    study: Study = registry.create("study", data["study"])
    try:
        config = type(study).Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error)) from None
    try:
        validate_components(registry, config)
    except (KeyError, ValueError) as error:
        raise ConfigError(str(error)) from None
    return study, config


def format_validation_error(error: Any) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(config)"
        lines.append(f"{where}: {problem['msg']} (got {problem.get('input')!r})")
    return "invalid config:\n  " + "\n  ".join(lines)


@dataclass
class CellTask:
    """Runs one cell anywhere: plain data that pickles, rebuilding the registry where it lands."""

    config: dict[str, Any]
    device: str = "auto"
    plugins_dir: str | None = None
    cache_dir: str | None = None
    _context: Context | None = field(default=None, repr=False, compare=False)
    _study: Study | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_context": None, "_study": None}

    def prepare(self, registry: Registry | None = None) -> None:
        if self._context is not None:
            return
        registry = registry or load_registry(self.plugins_dir)
        study, config = validate_config(registry, self.config)
        cache = ModelCache(Path(self.cache_dir) if self.cache_dir else default_cache_dir())
        self._study = study
        self._context = Context(registry, config, resolve_device(self.device), cache)

    @property
    def context(self) -> Context:
        self.prepare()
        assert self._context is not None
        return self._context

    def __call__(self, cell: Cell) -> Outcome:
        started = now_ms()
        try:
            self.prepare()
            assert self._context is not None and self._study is not None
            self._context.models_used = {}
            result = self._study.run(cell, self._context)
        except Exception:
            return failed_outcome(cell, started)
        models = [asdict(r) for r in self._context.models_used.values()]
        return Outcome(cell, result, None, models, started, now_ms())


@dataclass
class StudyRun:
    """What ``run_study`` did: the parent run, every cell's result, failures and the summary."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    results: dict[Cell, CellResult]
    failed: dict[Cell, str]
    resumed: int
    summary: Summary


class Progress:
    """What the runner reports while it works; the CLI shows it as a progress bar."""

    def start(self, total: int, resumed: int) -> None: ...

    def advance(self, outcome: Outcome) -> None: ...

    def stop(self) -> None: ...


def run_study(
    config_data: dict[str, Any],
    *,
    registry: Registry | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    device: str = "auto",
    executor: str = "local",
    executor_options: dict[str, Any] | None = None,
    plugins_dir: str | None = None,
    cache_dir: str | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> StudyRun:
    """Run (or resume) a study and record it in MLflow; see ARCHITECTURE.md, "Data flow"."""
    registry = registry or load_registry(plugins_dir)
    study, config = validate_config(registry, config_data)
    resolved = config.model_dump(mode="json")
    cache_dir = cache_dir or os.environ.get("TRANSFER_CACHE_DIR") or str(default_cache_dir())
    task = CellTask(resolved, device, plugins_dir, cache_dir)
    task.prepare(registry)
    try:
        study.validate(config, task.context)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    runner = registry.create("executor", executor, **(executor_options or {}))
    progress = progress or Progress()

    tracker = Tracker(tracking_uri)
    experiment_id = tracker.experiment(experiment or config.study)
    config_hash = stable_hash(resolved)
    parent, finished, complete = tracker.open_study(
        experiment_id, config.study, config_hash, resolved
    )
    tracker.log_environment(parent, str(resolve_device(device)), executor)
    cells = study.plan(config)
    results = {cell: finished[cell.key] for cell in cells if cell.key in finished}
    todo = [cell for cell in cells if cell.key not in finished]
    if results:
        log(f"resuming: {len(results)} of {len(cells)} cells already finished in run {parent}")
    failed: dict[Cell, str] = {}
    progress.start(len(cells), len(results))
    try:
        for outcome in runner.run(task, todo):
            model_runs = tracker.record_models(outcome.models)
            tracker.log_cell(experiment_id, parent, outcome, model_runs)
            if outcome.result is not None:
                results[outcome.cell] = outcome.result
            else:
                failed[outcome.cell] = outcome.error or ""
            progress.advance(outcome)
        progress.stop()
        summary = study.summarize(config, results)
        if not (complete and not todo):  # a finished study re-run changes nothing in MLflow
            tracker.log_summary(parent, summary)
            tracker.link_models(parent, tracker.models_of(parent, experiment_id))
    except KeyboardInterrupt:
        progress.stop()
        tracker.end(parent, "KILLED")
        raise
    except Exception:
        progress.stop()
        tracker.end(parent, "FAILED")
        raise
    finally:
        runner.close()
    tracker.end(parent, "FAILED" if failed else "FINISHED")
    return StudyRun(
        parent, experiment_id, tracker.uri, results, failed, len(cells) - len(todo), summary
    )
