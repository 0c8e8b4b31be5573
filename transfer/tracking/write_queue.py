"""MLflow writes on one background thread, in the order they were queued, so that the next cell
computes while the last one is written.

A write is reported (by ``written``) only once it has finished, in queue order: a cell counts as
done when its run is FINISHED in the store, never before. A write that failed raises its error on
the caller's thread at the next ``written``; ``close`` waits for the queued writes (an interrupted
study keeps every cell it computed) or, after a failure, drops those not started."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")


class WriteQueue(Generic[Item]):
    """Writes run one at a time on a background thread; each carries an ``item`` that
    ``written`` returns once its write has finished."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transfer-writes")
        self._pending: deque[tuple[Future[Any], Item]] = deque()

    def put(self, write: Callable[[], Any], item: Item) -> None:
        self._pending.append((self._pool.submit(write), item))

    def written(self, wait: bool = False) -> Iterator[Item]:
        """The items whose writes have finished since the last call, in queue order, each as
        soon as its write has (with ``wait``, until all have); a failed write raises here."""
        while self._pending and (wait or self._pending[0][0].done()):
            future, item = self._pending[0]
            future.result()
            self._pending.popleft()
            yield item

    def close(self, finish: bool = True) -> None:
        """Stop the thread: after the queued writes (``finish``) or after the one running."""
        self._pool.shutdown(wait=True, cancel_futures=not finish)
        self._pending.clear()
