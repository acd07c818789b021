"""The one executor (``_parallel``): every outcome kept in input order, one failure hiding
no other; one meaning of ``workers``, checked the same way everywhere, clipped once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORD, USERNAME
from transports import ConcurrencyTransport, RecordingTransport

import orthanc_frames as of
from orthanc_frames._parallel import (
    DEFAULT_WORKERS,
    Outcome,
    bounded_workers,
    check_workers,
    describe_error,
    executor,
    in_order,
    run_each,
)
from orthanc_frames.local_server import LocalOrthanc
from orthanc_frames.transfer import download, upload


class _Pool:
    pool_size = 2


def test_workers_default_and_checks() -> None:
    assert check_workers(None) == DEFAULT_WORKERS
    assert check_workers(3) == 3
    with pytest.raises(TypeError, match=r"workers must be an int .*not str: '4'"):
        check_workers("4")
    with pytest.raises(TypeError, match="workers must be an int"):
        check_workers(True)
    with pytest.raises(ValueError, match="workers must be at least 1, not 0"):
        check_workers(0)


def test_the_pool_bounds_the_workers() -> None:
    assert bounded_workers(8, _Pool()) == 2
    assert bounded_workers(None, _Pool()) == 2
    assert bounded_workers(1, _Pool()) == 1
    assert bounded_workers(8) == 8
    with executor(8, _Pool()) as pool:
        assert pool._max_workers == 2


def test_run_each_and_in_order_keep_every_outcome_in_order() -> None:
    def half(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n // 2

    outcomes = run_each(half, range(6), workers=3)
    assert [o.value for o in outcomes if o.ok] == [0, 0, 1, 2, 2]
    assert str(outcomes[3].error) == "three"
    assert list(in_order(lambda n: n * n, list(range(7)), workers=3)) == [
        0,
        1,
        4,
        9,
        16,
        25,
        36,
    ]


# -- every public entry point with workers= -------------------------------------


@pytest.fixture
def recorded(cohort_server: LocalOrthanc) -> Iterator[tuple[of.Orthanc, RecordingTransport]]:
    transport = RecordingTransport()
    with of.Orthanc(
        cohort_server.url, username=USERNAME, password=PASSWORD, transport=transport
    ) as client:
        client.capabilities  # noqa: B018 - read before the counting starts
        yield client, transport


def _entry_points(cohort_dir: Any, tmp_path: Path) -> dict[str, Callable[[Any, Any, Any], Any]]:
    return {
        "Orthanc.frames": lambda c, f, w: c.frames(workers=w, progress=False),
        "Frames.load": lambda c, f, w: of.Frames.load(c, workers=w, progress=False),
        "Frames.from_folder": lambda c, f, w: of.Frames.from_folder(cohort_dir.outdir, workers=w),
        "df.orthanc.add_label": lambda c, f, w: f.orthanc.add_label("w", workers=w),
        "df.orthanc.remove_label": lambda c, f, w: f.orthanc.remove_label("w", workers=w),
        "df.orthanc.download": lambda c, f, w: f.orthanc.download(tmp_path, workers=w),
        "df.orthanc.send": lambda c, f, w: f.orthanc.send(peer="nowhere", workers=w),
        "download": lambda c, f, w: download(c, "series", list(f.index), tmp_path, workers=w),
        "retrieve_and_write_series": lambda c, f, w: of.retrieve_and_write_series(
            of.find_series(c), tmp_path, workers=w
        ),
        "upload": lambda c, f, w: upload(c, cohort_dir.outdir, workers=w),
        "find_and_filter_patients": lambda c, f, w: of.find_and_filter_patients(c, workers=w),
        "find_and_filter_series": lambda c, f, w: of.find_and_filter_series(c, workers=w),
        "Series.download": lambda c, f, w: of.find_series(c)[0].download(
            tmp_path, format="dicom", workers=w
        ),
    }


@pytest.mark.parametrize(
    ("workers", "error", "text"),
    [
        (0, ValueError, "workers must be at least 1, not 0"),
        ("8", TypeError, "workers must be an int"),
        (2.5, TypeError, "workers must be an int"),
    ],
)
def test_every_entry_point_checks_workers_the_same_way_before_any_request(
    recorded: tuple[of.Orthanc, RecordingTransport],
    cohort_dir: Any,
    tmp_path: Path,
    workers: Any,
    error: type[Exception],
    text: str,
) -> None:
    client, transport = recorded
    series = of.Frames.load(client, levels=["series"], progress=False).series
    for name, call in _entry_points(cohort_dir, tmp_path).items():
        transport.clear()
        with pytest.raises(error, match=text):
            call(client, series, workers)
        if not name.startswith(("Orthanc.frames", "Frames.load", "retrieve", "Series.")):
            assert transport.requests == [], name


def test_local_server_load_checks_workers(cohort_server: LocalOrthanc, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers must be at least 1, not 0"):
        cohort_server.load(tmp_path, workers=0)


# -- the clip: never more requests in flight than the client's pool ---------------


@pytest.fixture
def narrow(cohort_server: LocalOrthanc) -> Iterator[tuple[of.Orthanc, ConcurrencyTransport]]:
    transport = ConcurrencyTransport()
    with of.Orthanc(
        cohort_server.url,
        username=USERNAME,
        password=PASSWORD,
        transport=transport,
        pool_size=2,
    ) as client:
        client.capabilities  # noqa: B018
        yield client, transport


def test_pool_size_bounds_requests_in_flight(
    narrow: tuple[of.Orthanc, ConcurrencyTransport], cohort_dir: Any, tmp_path: Path
) -> None:
    client, transport = narrow
    series = of.Frames.load(client, levels=["series"], progress=False).series
    parallel = {
        "add_label": lambda: series.orthanc.add_label("in-flight", workers=8, progress=False),
        "remove_label": lambda: series.orthanc.remove_label("in-flight", workers=8, progress=False),
        "download": lambda: download(client, "series", list(series.index), tmp_path, workers=8),
        "upload": lambda: upload(client, cohort_dir.outdir, workers=8, progress=False),
        "find_and_filter": lambda: of.find_and_filter_patients(
            client, study_filter=lambda s: True, workers=8, progress=False
        ),
    }
    for name, call in parallel.items():
        transport.clear()
        call()
        assert transport.most_in_flight == 2, name


# -- run_each without a server ----------------------------------------------------


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
