"""The study contract: a pydantic config, a plan of independent cells, one typed result per cell,
and a summary over them.

``Study[ConfigT, ResultT]`` names its config and result types, so ``run`` receives a
``Context[ConfigT]`` whose ``config`` is already the study's own config type.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError

from ..plugging.registry import Registry
from .cell import Cell
from .claims import Claim
from .context import Context
from .data import Dataset
from .headlines import Headline
from .results import NOT_APPLICABLE, CellResult, NotApplicable, ResultFormatError
from .specs import ModelsConfig, ModelSpec, StudyConfig
from .summary import Summary

ConfigT = TypeVar("ConfigT", bound=StudyConfig)
ResultT = TypeVar("ResultT", bound=CellResult)


class Study(ABC, Generic[ConfigT, ResultT]):
    """Base of every study. Subclasses set ``Config``, ``Result`` and ``default_config`` (a TOML
    file), and bump ``result_format`` when ``Result`` changes shape (``convert`` may then read
    older results)."""

    Config: type[ConfigT]
    Result: type[ResultT]
    result_format: ClassVar[int] = 1
    default_config: ClassVar[Path | None] = None
    about: ClassVar[str] = ""  # the question, the paper, how to read the figures (markdown)
    claims: ClassVar[tuple[Claim, ...]] = ()  # what the theories predict (see ``claims``)
    headlines: ClassVar[tuple[Headline, ...]] = ()  # papers' numbers, measured their way
    theory: ClassVar[str] = ""  # the explanation of adversarial examples it tests (a report row)

    @classmethod
    def description(cls) -> str:
        """``about``, else the class docstring: the study run's description in MLflow."""
        return cls.about or " ".join((cls.__doc__ or "").split())

    def validate(self, config: ConfigT, registry: Registry) -> None:
        """Checks that need the plugins (e.g. model capabilities), without building anything;
        raise ``ValueError`` with a message naming the field. Runs once, before any cell."""
        return None

    def trained_models(self, ctx: Context[ConfigT]) -> list[tuple[ModelSpec, Dataset, int]]:
        """The models the cells will ask ``ctx.model`` for, as (spec, training set, seed), when
        the study knows them up front: an executor that runs cells in parallel (``ray``) trains
        them first, each once, as tasks of their own. A model left out is trained by the first
        cell that needs it. Default: for a ``ModelsConfig``, the sources on their training set
        and the targets on theirs; else none."""
        config = ctx.config
        if not isinstance(config, ModelsConfig):
            return []
        return config.trained_models(ctx.dataset(config.dataset))

    @abstractmethod
    def plan(self, config: ConfigT) -> list[Cell]:
        """The independent cells of this study, in a stable order."""

    @abstractmethod
    def run(self, cell: Cell, ctx: Context[ConfigT]) -> ResultT | NotApplicable:
        """Compute one cell. ``ctx.config`` is the validated config."""

    @abstractmethod
    def summarize(
        self, config: ConfigT, results: Mapping[Cell, ResultT | NotApplicable]
    ) -> Summary:
        """Tables, figures and headline metrics over every finished cell."""

    def early_figures(self, config: ConfigT) -> dict[str, list[Cell]]:
        """Figures of the summary that show only some cells: each name with those cells. The
        runner computes each figure's cells together and, once they are in, draws it with
        ``figure`` and logs it while the next cells compute, so the study's end waits for fewer
        (and MLflow shows it early). ``summarize`` still returns every figure. Default: none."""
        return {}

    def figure(self, config: ConfigT, name: str,
               results: Mapping[Cell, ResultT | NotApplicable]) -> Any:
        """The figure ``name`` of ``early_figures``, drawn from ``results`` (which hold its
        cells): the figure ``summarize`` returns under that name."""
        raise NotImplementedError(f"{type(self).__name__} declares no early figure {name!r}")

    def decode(self, stored: dict[str, Any]) -> ResultT | NotApplicable:
        """A stored result (see ``results.encode``) read back; ``ResultFormatError`` when this
        version cannot read it."""
        version = stored.get("format", 0)
        if version == 0:  # written before results were typed: {"metrics", "data", "status", ...}
            if stored.get("status") == NOT_APPLICABLE:
                return NotApplicable(reason=str(stored.get("reason", "")))
            return self.convert(stored, 0)
        if stored.get("status") == NOT_APPLICABLE:
            return NotApplicable.model_validate(stored["result"])
        if version != self.result_format:
            return self.convert(stored["result"], version)
        try:
            return self.Result.model_validate(stored["result"])
        except ValidationError as error:
            raise ResultFormatError(
                f"a stored {self.Result.__name__} does not match its format {version}: "
                f"{error.error_count()} field error(s)"
            ) from None

    def convert(self, stored: dict[str, Any], version: int) -> ResultT:
        """Read a result written in an older ``version`` of this study's result format."""
        raise ResultFormatError(
            f"a cell result of format {version}, written by an older transfer; this version "
            f"reads format {self.result_format} of {self.Result.__name__} and cannot convert it"
        )
