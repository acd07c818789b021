"""Loading costs requests that grow with pages, not with resources (no N+1)."""

from __future__ import annotations

from typing import Any

from helpers import load_into
from transports import CountingTransport

import orthanc_frames as of
from orthanc_frames.synthetic import write_cohort


def _count_load_requests(server: Any) -> tuple[int, int]:
    transport = CountingTransport()
    with of.Orthanc(server.url, username="orthanc", password="orthanc", transport=transport) as c:
        c.capabilities  # noqa: B018  (read once, not part of the load)
        transport.routes.clear()
        f = c.frames(workers=2)
        return len(transport.routes), len(f.instances)


def test_requests_for_n_and_10n_instances(empty_server: Any, tmp_path: Any) -> None:
    small = write_cohort(tmp_path / "n", patients=1, studies=1, series=2, instances=10, seed=7)
    load_into(empty_server, small.outdir)
    requests_n, rows_n = _count_load_requests(empty_server)
    big = write_cohort(tmp_path / "9n", patients=3, studies=3, series=2, instances=10, seed=8)
    load_into(empty_server, big.outdir)
    requests_10n, rows_10n = _count_load_requests(empty_server)
    assert rows_n == 20 and rows_10n == 200
    assert requests_10n < 2 * requests_n  # far less than 10x
    assert requests_10n <= 12  # changes seq + (count + page) per level + slack


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
