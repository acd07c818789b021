"""``run_each``: every outcome kept, in input order; one failure hides no other (no server)."""

from __future__ import annotations

import threading

import pytest

from orthanc_frames._parallel import Outcome, describe_error, run_each


def _square_or_fail(item: int) -> int:
    if item % 3 == 0:
        raise ValueError(f"bad item {item}")
    return item * item


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_outcomes_are_in_input_order_with_every_failure_kept(workers: int) -> None:
    items = list(range(20))
    outcomes = run_each(_square_or_fail, items, workers=workers, progress=False)
    assert [o.item for o in outcomes] == items
    for outcome in outcomes:
        if outcome.item % 3 == 0:
            assert not outcome.ok and outcome.value is None
            assert describe_error(outcome.error) == f"ValueError: bad item {outcome.item}"  # type: ignore[arg-type]
        else:
            assert outcome.ok and outcome.value == outcome.item**2


def test_one_failure_does_not_stop_the_items_after_it() -> None:
    called: list[int] = []
    lock = threading.Lock()

    def record(item: int) -> int:
        with lock:
            called.append(item)
        if item == 0:
            raise RuntimeError("first item fails")
        return item

    outcomes = run_each(record, range(10), workers=3, progress=False)
    assert sorted(called) == list(range(10))
    assert [o.ok for o in outcomes] == [False] + [True] * 9


def test_never_more_calls_at_once_than_workers() -> None:
    running = 0
    most = 0
    lock = threading.Lock()
    gate = threading.Event()

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            if running == 3:
                gate.set()
        gate.wait(10)
        with lock:
            running -= 1
        return item

    outcomes = run_each(work, range(12), workers=3, progress=False)
    assert all(o.ok for o in outcomes)
    assert most == 3


def test_no_items_give_no_outcomes() -> None:
    assert run_each(_square_or_fail, [], progress=False) == []


def test_an_interrupt_is_raised_not_kept() -> None:
    def interrupt(item: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_each(interrupt, [1, 2], workers=1, progress=False)


def test_an_outcome_says_whether_it_failed() -> None:
    assert Outcome(1, value=2).ok
    assert not Outcome(1, error=OSError("disk full")).ok
    assert describe_error(OSError("disk full")) == "OSError: disk full"
    assert describe_error(TimeoutError()) == "TimeoutError"
