"""plan -> cells -> executor -> results -> summary, with resume, on top of the tracker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from ..contracts.cache_folder import default_cache_dir
from ..contracts.cell import Cell, stable_hash
from ..contracts.claims import Claim, Finding, add_to_summary, check
from ..contracts.context import Context
from ..contracts.executors import Executor, Outcome
from ..contracts.headlines import Headline, Measured, measure
from ..contracts.headlines import add_to_summary as add_headlines
from ..contracts.results import CellResult, NotApplicable, ResultFormatError
from ..contracts.study import Study
from ..contracts.summary import Summary
from ..contracts.validation import ConfigError, validate_config
from ..mathematics.device import resolve_device
from ..plugging.plugin_manager import load_registry
from ..plugging.registry import Registry
from ..tracking.cell_record import cell_record
from ..tracking.dataset_inputs import dataset_splits
from ..tracking.remote_tracker import RemoteTracker
from ..tracking.store import TrackingUnavailable, best_effort, default_tracking_uri
from ..tracking.write_queue import WriteQueue
from ..tracking.writer import record_cell, shared_writer
from ..training.model_cache import ModelCache
from ..training.progress import Listener, listening
from .figures import EarlyFigures, log_summary
from .garbage_collection import fewer_collections
from .preflight import artifacts_writable, preflight
from .tasks import CellTask, ModelTask


@dataclass
class StudyRun:
    """What ``run_study`` did: the parent run, every cell's result, failures, the summary, the
    claims' findings and the headline numbers measured."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    results: dict[Cell, CellResult | NotApplicable]
    failed: dict[Cell, str]
    resumed: int
    summary: Summary
    claims: list[tuple[Claim, Finding]] = field(default_factory=list)
    headlines: list[tuple[Headline, Measured]] = field(default_factory=list)


class Progress(Protocol):
    """What the runner reports while it works; the CLI shows it as a progress bar. A progress
    may also define ``train(model, epoch, epochs, loss)`` to hear about model training."""

    def start(self, total: int, resumed: int) -> None: ...

    def advance(self, outcome: Outcome) -> None: ...

    def stop(self) -> None: ...


class Silent:
    """Reports nothing."""

    def start(self, total: int, resumed: int) -> None:
        return None

    def advance(self, outcome: Outcome) -> None:
        return None

    def stop(self) -> None:
        return None


def _listening(outcomes: Iterator[Outcome], listener: Listener | None) -> Iterator[Outcome]:
    """The executor's outcomes, with training progress sent to ``listener`` while each is
    computed (in this process; a remote executor's workers report nothing)."""
    while True:
        with listening(listener):
            outcome = next(outcomes, None)
        if outcome is None:
            return
        yield outcome


def read_back(
    study: Study[Any, Any], cells: list[Cell],
    stored: dict[str, list[dict[str, Any] | ResultFormatError]], log: Callable[[str], None],
) -> dict[Cell, CellResult | NotApplicable]:
    """The finished cells' results, newest readable first; cells whose stored results this
    version cannot read (an older format, a corrupt file) are reported and left to compute again."""
    results: dict[Cell, CellResult | NotApplicable] = {}
    unreadable: dict[Cell, str] = {}
    for cell in cells:
        for blob in stored.get(cell.key, []):
            if isinstance(blob, ResultFormatError):  # the stored file itself is unreadable
                unreadable[cell] = str(blob)
                continue
            try:
                results[cell] = study.decode(blob)
                break
            except (ValueError, KeyError, TypeError) as error:  # incl. ResultFormatError
                unreadable[cell] = str(error)
    unreadable = {c: why for c, why in unreadable.items() if c not in results}
    if unreadable:
        log(f"{len(unreadable)} finished cells hold results this version cannot read "
            f"({next(iter(unreadable.values()))}); computing them again")
    return results


def adopted(outcome: Outcome, cache: ModelCache) -> list[dict[str, Any]]:
    """The outcome's model records, each pointing at weights this process can read: a model
    trained on another machine is written into the driver's cache from the files it sent."""
    return [cache.adopt(record, outcome.files[record["key"]])
            if not Path(record["path"]).exists() and record["key"] in outcome.files else record
            for record in outcome.models]


def pretrain(study: Study[Any, Any], context: Context[Any], runner: Executor, task: CellTask,
             tracker: RemoteTracker, log: Callable[[str], None]) -> None:
    """Train the models the study declares and the cache lacks, each once, as parallel tasks,
    and log them; a model whose training fails is left to the cells that need it."""
    keys: dict[str, int] = {}
    for index, (spec, data, seed) in enumerate(study.trained_models(context)):
        key = context.model_key(spec, data, seed)
        if key not in keys and not context.cache.has(key):
            keys[key] = index
    if not keys:
        return
    log(f"training {len(keys)} models first, as parallel tasks")
    trainer = ModelTask(**{f.name: getattr(task, f.name) for f in fields(task)
                           if not f.name.startswith("_")})  # the same settings, every one
    cells = [Cell.make("train", key=key, index=index) for key, index in keys.items()]
    for outcome in runner.run(trainer, cells):
        if outcome.error is not None:
            log(f"training model {outcome.cell['key']} failed "
                f"({outcome.error.strip().splitlines()[-1]}); its cells will try again")
        else:
            tracker.record_models(adopted(outcome, context.cache))


@fewer_collections()
def run_study(
    config_data: dict[str, Any],
    *,
    registry: Registry | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    device: str = "auto",
    executor: str = "local",
    executor_options: dict[str, Any] | None = None,
    amp: bool = False,
    plugins_dir: str | None = None,
    cache_dir: str | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> StudyRun:
    """Run (or resume) a study and record it in MLflow (a parent run, a child run per cell).

    What a user can get wrong is checked before any work starts (``preflight``). The same config
    started twice at once runs once: the second run waits for the first, then resumes it."""
    registry = registry or load_registry(plugins_dir)
    study, config = validate_config(registry, config_data)
    try:
        torch_device = resolve_device(device)
    except ValueError as error:
        raise ConfigError(f"--device: {error}") from None
    resolved = config.model_dump(mode="json")
    cache_dir = cache_dir or os.environ.get("TRANSFER_CACHE_DIR") or str(default_cache_dir())
    tracking_uri = tracking_uri or default_tracking_uri()
    try:  # an unknown name fails here, listing the known ones; nothing starts before ``run``
        runner = registry.create("executor", executor, **(executor_options or {}))
    except TypeError as error:
        raise ConfigError(f"--executor-option for {executor}: {error}") from None
    task = CellTask(resolved, device, plugins_dir and str(Path(plugins_dir).resolve()),
                    str(Path(cache_dir).resolve()), tracking_uri, ship_models=runner.parallel,
                    amp=amp)
    context = task.prepare(registry, study, config)
    experiment = experiment or config.study
    run_tags = preflight(context, experiment, log)
    artifacts_writable(tracking_uri)
    progress = progress or Silent()

    runner.start()  # its workers start up (Ray: a local cluster) while the store opens
    writer = shared_writer()  # the cells' runs are written by a process of its own
    try:
        tracker = RemoteTracker(writer, tracking_uri)  # the store opens in the writer
        experiment_id = tracker.experiment(experiment)
        # mixed precision changes the numbers: an --amp run is its own study run, never resumed
        config_hash = stable_hash([resolved, "amp"] if amp else resolved)
        lock = tracker.lock(f"transfer-lock.study.{experiment_id}.{config_hash}", on_wait=log,
                            holds=f"this {config.study} config in experiment {experiment!r}")
        lock.acquire()
    except BaseException:
        best_effort(runner.close)
        raise
    parent = None
    writes: WriteQueue[Outcome] = WriteQueue()  # cells' runs, written while the next computes
    drawings: WriteQueue[str] = WriteQueue()  # early figures, drawn by the writer meanwhile
    try:
        parent, stored, complete = tracker.open_study(
            experiment_id, config.study, config_hash, resolved
        )
        tracker.log_environment(parent, str(torch_device), executor,
                                {**run_tags, **({"transfer.amp": "1"} if amp else {})})
        cells = study.plan(config)
        results = read_back(study, cells, stored, log)
        todo = [cell for cell in cells if cell not in results]
        unchanged = complete and not todo  # a finished study re-run changes nothing in MLflow
        if not unchanged:
            tracker.introduce(parent, study.description(),
                              dataset_splits(list(context.datasets().values())),
                              study.theory)
        if results:
            log(f"resuming: {len(results)} of {len(cells)} cells already finished in run {parent}")
        failed: dict[Cell, str] = {}
        if todo and runner.parallel:
            pretrain(study, context, runner, task, tracker, log)
        progress.start(len(cells), len(results))
        # the figures that show some cells only are drawn as soon as those are in, while the
        # next cells compute (locally too: the default study 0.8-1.1 s faster warm, as fast cold)
        early = EarlyFigures(study, config, todo, tracker, parent, drawings)
        for outcome in _listening(runner.run(task, early.order(todo)),
                                  getattr(progress, "train", None)):
            record = cell_record(outcome, study.result_format)
            writes.put(partial(writer.call, record_cell, tracker.uri, experiment_id, parent,
                               record, adopted(outcome, context.cache)),
                       outcome)
            if outcome.result is not None:
                results[outcome.cell] = outcome.result
            else:
                failed[outcome.cell] = outcome.error or ""
            early.finished(outcome.cell, results)
            for written in writes.written():  # the bar counts cells stored in MLflow
                progress.advance(written)
        results = {cell: results[cell] for cell in cells if cell in results}  # in plan order
        summary = study.summarize(config, results)  # while the last cells are written
        checked = check(study.claims, config, results)
        measured = measure(study.headlines, config, results)
        add_headlines(summary, measured)
        add_to_summary(summary, checked, study.theory)
        for written in writes.written(wait=True):
            progress.advance(written)
        progress.stop()
        if not unchanged:
            log(f"writing the summary to MLflow: {len(summary.tables)} tables, "
                f"{len(summary.figures)} figures")  # seconds with no bar moving
            log_summary(tracker, parent, summary, early.logged())
            tracker.link_models(parent, tracker.models_of(parent, experiment_id))
        tracker.end(parent, "FAILED" if failed else "FINISHED")
    except BaseException as error:
        # the cells computed so far are written first (unless the store itself is gone)
        writes.close(finish=not isinstance(error, TrackingUnavailable))
        drawings.close(finish=False)  # a resumed study draws them again
        progress.stop()
        if parent is not None:
            status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
            best_effort(lambda: tracker.end(parent, status))
        raise
    finally:
        writes.close()
        drawings.close()
        best_effort(runner.close)
        best_effort(lock.release)
    return StudyRun(
        parent, experiment_id, tracker.uri, results, failed, len(cells) - len(todo), summary,
        checked, measured,
    )
