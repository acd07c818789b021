"""Loading costs requests that grow with pages, not with resources (no N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import load_into
from transports import CountingTransport

import orthanc_frames as of
from orthanc_frames.synthetic import write_cohort


def _load_requests(server: Any) -> tuple[CountingTransport, int]:
    transport = CountingTransport()
    with of.Orthanc(server.url, username="orthanc", password="orthanc", transport=transport) as c:
        c.capabilities  # noqa: B018  (read once, not part of the load)
        transport.clear()
        f = c.frames(workers=2)
        return transport, len(f.instances)


def _instance_pages(transport: CountingTransport) -> int:
    """Requests for instance rows: list pages, or /tools/find pages at instance level."""
    return sum(
        1
        for request in transport.sent
        if (request.url.path == "/instances" and "expand" in request.url.params)
        or (request.url.path == "/tools/find" and b'"Level":"Instance"' in request.content)
    )


@pytest.mark.parametrize("per_series", [10, 55])
def test_ten_times_the_instances_cost_at_most_three_times_the_requests(
    empty_server: Any, tmp_path: Any, per_series: int
) -> None:
    # 20 or 110 instances are one page; 200 are one page too, 1,100 several
    # (two workers, pages of at least 500 rows). On every kind of server:
    # /tools/find pages, or the list routes of servers without extended find.
    small = write_cohort(tmp_path / "n", patients=1, studies=1, series=2, instances=per_series)
    load_into(empty_server, small.outdir)
    few, rows_n = _load_requests(empty_server)
    big = write_cohort(
        tmp_path / "9n", patients=3, studies=3, series=2, instances=per_series, seed=8
    )
    load_into(empty_server, big.outdir)
    many, rows_10n = _load_requests(empty_server)
    assert (rows_n, rows_10n) == (2 * per_series, 20 * per_series)
    assert _instance_pages(few) == 1
    if per_series == 55:
        assert _instance_pages(many) >= 2  # the instances did take several pages
    else:
        assert _instance_pages(many) == 1 and len(many.requests) <= 12
    assert len(many.requests) <= 3 * len(few.requests), (few.requests, many.requests)
    assert not any(
        r.startswith(("/instances/", "/series/", "/studies/", "/patients/")) for r in many.routes
    )


def test_requests_grow_with_pages_on_a_capped_server(limited_server: Any, cohort_dir: Any) -> None:
    # LimitFindResults=3 makes pages of 3: requests ~ rows / 3 per level, never one per row.
    transport = CountingTransport()
    with of.Orthanc(
        limited_server.url, username="orthanc", password="orthanc", transport=transport
    ) as c:
        c.capabilities  # noqa: B018
        transport.routes.clear()
        f = c.frames(workers=2)
    rows = sum(len(f.frame(level)) for level in f.loaded_levels)
    assert len(f.instances) == cohort_dir.instances
    assert not any(
        r.startswith(("/instances/", "/series/", "/studies/", "/patients/"))
        for r in transport.routes
    )
    assert transport.routes.count("/tools/find") <= rows // 3 + 4 * 2
