"""Run one function over many items on a few threads, results in order, cancellable.

Image decoding, onnxruntime, OpenCV and PyTorch release Python's global lock, so two threads keep
two cores busy on per-image work (the offline face backend runs dlib's embedding network in PyTorch,
or, without PyTorch, in helper processes, as dlib holds the lock). Used by DatasetCheck and by the
evaluation to score sweep images.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .errors import IdentityError

Item = TypeVar("Item")
Result = TypeVar("Result")


class Cancelled(IdentityError):
    """The work was cancelled (ComfyUI's interrupt) before every item was done."""


def default_workers() -> int:
    """One thread per core, at most two (the machines this pack is measured on have two)."""
    return max(1, min(2, os.cpu_count() or 1))


def ordered_map(
    function: Callable[[Item], Result],
    items: Iterable[Item],
    workers: int,
    should_cancel: Callable[[], bool] | None = None,
    what: str = "The work",
) -> Iterator[Result]:
    """Yield ``function(item)`` for every item, in the items' order, computed on ``workers`` threads.

    ``should_cancel()`` is asked before each item starts; once it answers True no further item
    starts and :class:`Cancelled` is raised where the next result would have come. Leaving the
    loop early (an exception in the caller, e.g. a progress callback that cancels) also stops
    every item that has not started.
    """
    stop = threading.Event()

    def job(item: Item) -> tuple[bool, Result | None]:
        if stop.is_set() or (should_cancel is not None and should_cancel()):
            stop.set()
            return False, None
        return True, function(item)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="identity") as pool:
        futures = [pool.submit(job, item) for item in items]
        try:
            for future in futures:
                done, result = future.result()
                if not done:
                    raise Cancelled(f"{what} was cancelled", "queue the node again to run it")
                yield result
        finally:
            stop.set()
            for future in futures:
                future.cancel()
