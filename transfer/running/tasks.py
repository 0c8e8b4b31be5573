"""What an executor runs: ``CellTask`` computes one cell of a study; ``ModelTask`` trains one of
the models the study declares (``Study.trained_models``) before its cells run. Both are plain data
that pickle and rebuild the registry, the study and its context where they land (a Ray worker,
another machine). A worker process keeps the context of the last task state it saw, so its
datasets and models stay loaded from one cell to the next.

With ``ship_models`` (set for executors that run tasks elsewhere), a model a task trained travels
back with its outcome (``Outcome.files``), so that the driver, which alone writes to MLflow, can
log its weights even when the worker ran on another machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..contracts.cell import Cell, stable_hash
from ..contracts.context import Context
from ..contracts.executors import Outcome, failed_outcome, now_ms
from ..contracts.results import CellResult, NotApplicable
from ..contracts.specs import StudyConfig
from ..contracts.study import Study
from ..mathematics.device import resolve_device
from ..plugging.plugin_manager import load_registry
from ..plugging.registry import Registry
from ..tracking.remote_tracker import model_fetcher
from ..training.model_cache import ModelCache

_PREPARED: dict[str, tuple[Study[Any, Any], Context[Any]]] = {}  # this process's last context


@dataclass
class CellTask:
    """Runs one cell anywhere: plain data that pickles, rebuilding the registry where it lands.

    ``config`` is the config the driver validated (resolved to JSON); a worker reads it back into
    the study's config type without validating the plugins again."""

    config: dict[str, Any]
    device: str = "auto"
    plugins_dir: str | None = None
    cache_dir: str | None = None
    tracking_uri: str | None = None  # where a model missing from the cache may be fetched
    ship_models: bool = False  # send the files of the models trained here with the outcome
    amp: bool = False  # mixed precision in the models' forward passes (``--amp``)
    _context: Context[Any] | None = field(default=None, repr=False, compare=False)
    _study: Study[Any, Any] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_context": None, "_study": None}

    def prepare(
        self,
        registry: Registry | None = None,
        study: Study[Any, Any] | None = None,
        config: StudyConfig | None = None,
    ) -> Context[Any]:
        if self._context is not None:
            return self._context
        state = stable_hash([self.config, self.device, self.plugins_dir, self.cache_dir,
                             self.tracking_uri, self.amp])
        if registry is None and state in _PREPARED:
            self._study, self._context = _PREPARED[state]
            return self._context
        registry = registry or load_registry(self.plugins_dir)
        study = study or registry.create("study", self.config["study"])
        config = config or study.Config.model_validate(self.config)
        fetch = model_fetcher(self.tracking_uri) if self.tracking_uri else None
        self._study = study
        self._context = Context(registry, config, resolve_device(self.device),
                                ModelCache(self.cache_dir, fetch), self.amp)
        _PREPARED.clear()
        _PREPARED[state] = (self._study, self._context)
        return self._context

    def __call__(self, cell: Cell) -> Outcome:
        started = now_ms()
        try:
            context = self.prepare()
            before = set(context.cache.trained)
            context.models_used = {}
            result = self.compute(cell, context)
        except Exception:
            return failed_outcome(cell, started)
        records = list(context.models_used.values())
        files = {r.key: _files(Path(r.path)) for r in records
                 if self.ship_models and r.key in context.cache.trained - before}
        return Outcome(cell, result, None, [asdict(r) for r in records], started, now_ms(), files)

    def compute(self, cell: Cell, context: Context[Any]) -> CellResult | NotApplicable | None:
        assert self._study is not None
        return self._study.run(cell, context)


class ModelTask(CellTask):
    """Trains (or finds) the model ``cell["index"]`` of ``Study.trained_models``; its outcome
    has no result, only the model's record (and its files when trained here)."""

    def compute(self, cell: Cell, context: Context[Any]) -> CellResult | NotApplicable | None:
        assert self._study is not None
        spec, data, seed = self._study.trained_models(context)[cell["index"]]
        context.model(spec, data, seed)
        return None


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
