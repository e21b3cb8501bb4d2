"""Run a generator one step ahead in a background thread (bounded: at most `depth` items wait)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(
    source: Iterator[T], depth: int = 1, drop: Callable[[T], None] | None = None
) -> Iterator[T]:
    """`drop` releases items made but never consumed (the consumer stopped early, e.g. on error)."""
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in source:
                if not put(item):
                    if drop is not None:
                        drop(item)
                    return
        except BaseException as err:  # handed to the consumer, which re-raises it
            put(err)
            return
        put(_DONE)

    thread = threading.Thread(target=work, name="evpipe-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=30)
        while drop is not None and not q.empty():
            left = q.get_nowait()
            if left is not _DONE and not isinstance(left, BaseException):
                drop(left)  # type: ignore[arg-type]
