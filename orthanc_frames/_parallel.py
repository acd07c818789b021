"""The one executor of parallel work: bounded, with one meaning of ``workers``.

``workers`` is how many requests a task keeps in flight at once. It is
validated and clipped to the client's connection pool in one place,
:func:`bounded_workers`, which every parallel task goes through:
:func:`run_each` (one call per item, every outcome kept), :func:`in_order`
(results in input order, a bounded look-ahead) and :func:`executor` (a
pool for independent background requests).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._progress import progress_bar

__all__ = [
    "DEFAULT_WORKERS",
    "Outcome",
    "bounded_workers",
    "check_workers",
    "describe_error",
    "executor",
    "in_order",
    "run_each",
]

DEFAULT_WORKERS = 8
"""Requests in flight at once when ``workers`` is not given (``None``)."""

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Outcome(Generic[T, R]):
    """What happened to one item: its value, or the error it raised."""

    item: T
    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_error(error: BaseException) -> str:
    """The one text of a failure in a result row or report: ``"Type: message"``.

    Examples
    --------
    >>> describe_error(ValueError("bad label"))
    'ValueError: bad label'
    >>> describe_error(TimeoutError())
    'TimeoutError'
    """
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def check_workers(workers: Any, argument: str = "workers") -> int:
    """``workers`` as given by a user: ``None`` is :data:`DEFAULT_WORKERS`.

    Raises
    ------
    TypeError
        When ``workers`` is not an int (a bool is not).
    ValueError
        When ``workers`` is less than 1.
    """
    if workers is None:
        return DEFAULT_WORKERS
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(
            f"{argument} must be an int (requests in flight at once), "
            f"not {type(workers).__name__}: {workers!r}."
        )
    if workers < 1:
        raise ValueError(f"{argument} must be at least 1, not {workers!r}.")
    return workers


def bounded_workers(workers: Any, client: Any = None) -> int:
    """The workers a task really runs: checked, and at most ``client.pool_size``.

    A worker beyond the client's connection pool would only wait for a
    connection, so the pool bounds the requests in flight. This is the only
    place that clips ``workers``.
    """
    count = check_workers(workers)
    pool_size = getattr(client, "pool_size", None)
    return min(count, int(pool_size)) if isinstance(pool_size, int) else count


def executor(
    workers: Any, client: Any = None, *, name: str = "orthanc-frames"
) -> ThreadPoolExecutor:
    """A thread pool of :func:`bounded_workers` threads, for independent requests."""
    return ThreadPoolExecutor(max_workers=bounded_workers(workers, client), thread_name_prefix=name)


def in_order(
    fn: Callable[[T], R], items: Sequence[T], *, workers: Any = None, client: Any = None
) -> Generator[R, None, None]:
    """``fn(item)`` for every item, yielded in order, at most ``workers`` running ahead.

    Closing the iterator early cancels the calls not started yet.
    """
    count = bounded_workers(workers, client)
    if count <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
        return
    remaining = iter(items)
    pool = ThreadPoolExecutor(max_workers=min(count, len(items)), thread_name_prefix="in-order")
    ahead: deque[Future[R]] = deque(
        pool.submit(fn, item) for item in itertools.islice(remaining, count)
    )
    try:
        while ahead:
            result = ahead.popleft().result()
            following = next(remaining, _DONE)
            if following is not _DONE:
                ahead.append(pool.submit(fn, following))
            yield result
    finally:
        for future in ahead:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


_DONE: Any = object()


def run_each(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: Any = None,
    client: Any = None,
    progress: bool | None = None,
    desc: str = "",
    unit: str = "it",
) -> list[Outcome[T, R]]:
    """Call ``fn(item)`` for every item, at most ``workers`` at a time.

    Returns one :class:`Outcome` per item, in input order. A failure of one
    item never stops the others nor hides them: its exception is kept in
    ``Outcome.error``. At most ``2 * workers`` calls are queued at once, so
    a long iterable is not materialised as futures. KeyboardInterrupt
    cancels what has not started and re-raises. ``workers`` is clipped to
    ``client.pool_size`` when a client is given (:func:`bounded_workers`).
    """
    count = bounded_workers(workers, client)
    todo = list(items)
    outcomes: list[Outcome[T, R]] = [Outcome(item) for item in todo]
    if not todo:
        return outcomes
    workers = min(count, len(todo))
    with progress_bar(len(todo), desc=desc, enabled=progress, unit=unit) as bar:
        if workers == 1:
            for outcome in outcomes:
                _call(fn, outcome)
                bar.update(1)
            return outcomes
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orthanc-frames")
        pending: dict[Future[Any], Outcome[T, R]] = {}
        queue = iter(outcomes)
        try:
            for outcome in queue:
                pending[pool.submit(_call, fn, outcome)] = outcome
                if len(pending) >= 2 * workers:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        pending.pop(future)
                        bar.update(1)
            for _future in list(pending):
                _future.result()
                bar.update(1)
        except BaseException:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    return outcomes


def _call(fn: Callable[[T], R], outcome: Outcome[T, R]) -> None:
    try:
        outcome.value = fn(outcome.item)
    except Exception as exc:
        outcome.error = exc
