"""Run one function over many items on a bounded thread pool, keeping every outcome."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._progress import progress_bar

__all__ = ["Outcome", "describe_error", "run_each"]

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


def run_each(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int = 4,
    progress: bool | None = None,
    desc: str = "",
    unit: str = "it",
) -> list[Outcome[T, R]]:
    """Call ``fn(item)`` for every item, at most ``workers`` at a time.

    Returns one :class:`Outcome` per item, in input order. A failure of one
    item never stops the others nor hides them: its exception is kept in
    ``Outcome.error``. At most ``2 * workers`` calls are queued at once, so
    a long iterable is not materialised as futures. KeyboardInterrupt
    cancels what has not started and re-raises.
    """
    todo = list(items)
    outcomes: list[Outcome[T, R]] = [Outcome(item) for item in todo]
    if not todo:
        return outcomes
    workers = max(1, min(int(workers), len(todo)))
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
