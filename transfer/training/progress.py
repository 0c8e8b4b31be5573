"""Training progress: a model reports its epochs while it trains, and whoever shows progress (the
``transfer`` command's progress bar) listens. Nobody listening costs nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str, int, int, float], None]  # (model, epoch, epochs, loss)

_listener: ContextVar[Listener | None] = ContextVar("transfer_training_listener", default=None)
_model: ContextVar[str] = ContextVar("transfer_training_model", default="model")


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the training progress of the models trained inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


@contextmanager
def training(model: str) -> Iterator[None]:
    """Mark the block as the training of ``model``: it starts (epoch 0) and ends (done)."""
    token = _model.set(model)
    report_epoch(0, 0)
    try:
        yield
    finally:
        _model.reset(token)
        listener = _listener.get()
        if listener is not None:
            listener(model, 1, 0, math.nan)  # done


def report_epoch(epoch: int, epochs: int, loss: float = math.nan) -> None:
    """Called by a training loop after each epoch (``epochs``: the most it will run)."""
    listener = _listener.get()
    if listener is not None:
        listener(_model.get(), epoch, epochs, loss)
