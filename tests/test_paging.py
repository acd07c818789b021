"""Paging through /tools/find against real servers, including a truncating one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from transports import CountingTransport

import orthanc_frames as of
from orthanc_frames.paging import (
    count_resources,
    find_all,
    find_ids,
    iter_find_pages,
    iter_list_pages,
    parallel_page_size,
)

LEVELS = ("patient", "study", "series", "instance")


def _client(server: Any, **kw: Any) -> of.Orthanc:
    auth = server.auth or (None, None)
    return of.Orthanc(server.url, username=auth[0], password=auth[1], **kw)


@pytest.fixture
def limited_client(limited_server: Any) -> Any:
    with _client(limited_server) as c:
        yield c


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.needs("extended_find")
def test_limited_server_truncates_a_plain_find(limited_client: Any, level: str) -> None:
    # The premise of the paging: the server silently caps a find at 3.
    plain = limited_client.post_tools_find(json={"Level": level.title(), "Query": {}})
    assert len(plain) == 3


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("workers", [1, 3])
def test_find_all_is_not_truncated_by_limit_find_results(
    limited_client: Any, cohort_dir: Any, level: str, workers: int
) -> None:
    expected = {
        "patient": cohort_dir.patients,
        "study": cohort_dir.studies,
        "series": cohort_dir.series,
        "instance": cohort_dir.instances,
    }[level]
    rows = find_all(limited_client, level, workers=workers, page_size=50)
    ids = [row["ID"] for row in rows]
    assert len(ids) == expected
    assert len(set(ids)) == expected
    assert count_resources(limited_client, level) == expected


@pytest.mark.needs("extended_find")
def test_pages_are_capped_pages_and_in_stable_order(limited_client: Any, cohort_dir: Any) -> None:
    pages = list(iter_find_pages(limited_client, "instance", ids_only=True, page_size=10))
    assert all(len(page) <= 3 for page in pages)
    assert sum(len(p) for p in pages) == cohort_dir.instances
    again = [
        i for p in iter_find_pages(limited_client, "instance", ids_only=True, workers=4) for i in p
    ]
    assert again == [i for p in pages for i in p]


def test_query_and_ids_only(client: Any, cohort_dir: Any) -> None:
    ct = find_ids(client, "series", query={"Modality": "CT"})
    mr = find_ids(client, "series", query={"Modality": "MR"})
    both = find_ids(client, "series", query={"Modality": ["CT", "MR"]})
    assert ct and mr
    assert set(ct) | set(mr) == set(both)
    assert len(both) == cohort_dir.series
    assert all(isinstance(i, str) and len(i) == 44 for i in ct)


@pytest.mark.needs("requested_tags")
def test_response_content_and_requested_tags(client: Any) -> None:
    rows = find_all(
        client,
        "instance",
        response_content=["MainDicomTags", "Parent", "Labels"],
        requested_tags=["PatientID", "StudyInstanceUID", "Modality"],
    )
    row = rows[0]
    assert {"ID", "MainDicomTags", "ParentSeries", "Labels", "RequestedTags"} <= set(row)
    assert {"PatientID", "StudyInstanceUID", "Modality"} <= set(row["RequestedTags"])


@pytest.mark.needs("labels")
def test_labels_filter(empty_server: Any, cohort_dir: Any) -> None:
    from helpers import load_into

    load_into(empty_server, cohort_dir.files[0].parent)
    with _client(empty_server) as c:
        series = c.get_series()
        c.put_series_id_labels_label(series[0], "keep")
        assert find_ids(c, "series", labels=["keep"]) == [series[0]]
        assert find_ids(c, "series", labels=["keep"], labels_constraint="None") == []
        assert count_resources(c, "series", labels=["keep"]) == 1
        with pytest.raises(ValueError, match="labels_constraint"):
            find_ids(c, "series", labels=["keep"], labels_constraint="Some")


def test_unknown_level_is_a_clear_error(client: Any) -> None:
    with pytest.raises(ValueError, match="level: unknown level 'seriez'"):
        find_all(client, "seriez")


@pytest.mark.needs("extended_find")
def test_requests_grow_with_pages_not_resources(limited_server: Any, cohort_dir: Any) -> None:
    transport = CountingTransport()
    with _client(limited_server, transport=transport) as c:
        c.capabilities  # noqa: B018  (read once, not counted below)
        transport.clear()
        rows = find_all(c, "instance", page_size=1000)
    finds = transport.routes.count("/tools/find")
    # A cap of 3 forces ceil(n/3) pages, plus at most one probe at the end.
    assert finds <= -(-cohort_dir.instances // 3) + 1
    assert transport.routes.count("/tools/count-resources") == 1
    assert len(rows) == cohort_dir.instances


def _as_older_server(c: Any) -> Any:
    """The client behaves as for an Orthanc before 1.12.5 (no extended find).

    The real server still answers: this only steers the client to its
    fallback path, which 1.12.7 serves like older versions do.
    """
    import dataclasses

    c.__dict__["capabilities"] = dataclasses.replace(c.capabilities, has_extended_find=False)
    return c


@pytest.mark.parametrize("level", LEVELS)
def test_fallback_pages_until_an_empty_page(
    limited_client: Any, cohort_dir: Any, level: str
) -> None:
    expected = {
        "patient": cohort_dir.patients,
        "study": cohort_dir.studies,
        "series": cohort_dir.series,
        "instance": cohort_dir.instances,
    }[level]
    c = _as_older_server(limited_client)
    rows = find_all(c, level, page_size=100)
    assert len({row["ID"] for row in rows}) == expected
    assert all("MainDicomTags" in row for row in rows)  # Expand rows
    assert count_resources(c, level) == expected


@pytest.mark.parametrize("older", [False, True], ids=["extended", "expand"])
@pytest.mark.parametrize("workers", [1, 3])
def test_since_and_limit_are_a_window_of_the_full_listing(
    limited_client: Any, cohort_dir: Any, older: bool, workers: int
) -> None:
    c = _as_older_server(limited_client) if older else limited_client
    everything = find_ids(c, "instance", workers=workers)
    assert len(everything) == cohort_dir.instances
    assert find_ids(c, "instance", limit=5, workers=workers) == everything[:5]
    assert (
        find_ids(c, "instance", since=7, limit=11, workers=workers, page_size=4)
        == (everything[7:18])
    )
    assert find_ids(c, "instance", since=70, workers=workers) == everything[70:]
    assert find_ids(c, "instance", since=len(everything) + 5, workers=workers) == []
    assert find_ids(c, "instance", limit=0, workers=workers) == []
    assert find_ids(c, "instance", limit=1000, workers=workers) == everything


def test_since_and_limit_are_checked(client: Any) -> None:
    with pytest.raises(ValueError, match="since must be 0 or more"):
        find_ids(client, "series", since=-1)
    with pytest.raises(ValueError, match="limit must be 0 or more"):
        find_ids(client, "series", limit=-2)


@pytest.mark.needs("extended_find")
def test_a_limit_reads_only_the_pages_it_needs(limited_server: Any, cohort_dir: Any) -> None:
    transport = CountingTransport()
    with _client(limited_server, transport=transport) as c:
        c.capabilities  # noqa: B018
        transport.clear()
        ids = find_ids(c, "instance", since=10, limit=7, workers=3)
    assert len(ids) == 7
    # A cap of 3: 7 rows take 3 requests, not the ceil(80/3) of the full listing.
    assert transport.routes.count("/tools/find") == 3
    sent = [r for r in transport.sent if r.url.path == "/tools/find"]
    assert [json.loads(r.content)["Since"] for r in sent] == [10, 13, 16]


def test_pages_arrive_while_later_pages_are_still_unread(client: Any, cohort_dir: Any) -> None:
    transport = CountingTransport()
    with of.Orthanc(client.url, username="orthanc", password="orthanc", transport=transport) as c:
        c.capabilities  # noqa: B018
        transport.clear()
        pages = iter_find_pages(c, "instance", ids_only=True, page_size=5, workers=2)
        first, second = next(pages), next(pages)
        # Bounded look-ahead: two pages ahead of the one consumed, not all 16 pages.
        assert transport.routes.count("/tools/find") <= 4
        pages.close()  # a caller that stops early stops the requests
        assert len(first) == len(second) == 5
        read_after_stop = transport.routes.count("/tools/find")
    assert read_after_stop <= 4
    assert cohort_dir.instances // 5 > 4


@pytest.mark.parametrize("workers", [1, 3])
def test_list_pages_hold_every_resource_once(
    limited_server: Any, cohort_dir: Any, workers: int
) -> None:
    # List routes are never capped by LimitFindResults, on every version.
    transport = CountingTransport()
    with _client(limited_server, transport=transport) as c:
        c.capabilities  # noqa: B018
        transport.clear()
        pages = list(iter_list_pages(c, "instance", page_size=7, workers=workers))
        listed = c.GET("/instances")
    ids = [row["ID"] for page in pages for row in page]
    # Each once (the PostgreSQL index pages in another order than its full listing).
    assert sorted(ids) == sorted(listed) and len(set(ids)) == cohort_dir.instances
    assert all(len(page) <= 7 for page in pages)
    # The count, ceil(80 / 7) pages and the listing above: never a request per row.
    assert len(transport.requests) == 1 + -(-cohort_dir.instances // 7) + 1


def _planned_requests(rows: int, workers: int) -> int:
    """Requests of a listing read in parallel pages: one per page, and one past the end."""
    return len(range(0, rows + 1, parallel_page_size(rows, workers)))


@pytest.mark.parametrize("workers", [1, 2, 4, 8])
def test_pages_of_a_listing_are_bounded_whatever_its_size(workers: int) -> None:
    # No server: the page rule itself, up to archives of millions of instances.
    # One page per worker up to 5000 rows each, then up to four per worker,
    # then the pages grow: a listing of any size takes at most 4 * workers + 1
    # requests, so 10x the instances cost at most the same number of pages
    # once past 20,000 rows per worker.
    for rows in [*range(0, 2000, 37), *(10**k * m for k in range(3, 8) for m in (1, 2, 5))]:
        size = parallel_page_size(rows, workers)
        assert size >= 500, (rows, workers, size)
        assert _planned_requests(rows, workers) <= 4 * workers + 1, (rows, workers, size)
        if rows >= 20_000 * workers:
            assert _planned_requests(10 * rows, workers) <= _planned_requests(rows, workers) + 1


def test_page_size_is_checked_against_the_rows() -> None:
    assert parallel_page_size(0, 4) == 500
    assert parallel_page_size(20_000, 4) == 5000
    assert parallel_page_size(20_000, 0) == 5000  # at least one worker


def test_list_pages_hold_what_response_content_names(client: Any, cohort_dir: Any) -> None:
    from helpers import missing_feature

    pages = iter_list_pages(
        client,
        "series",
        response_content=["Labels", "IsStable"],
        requested_tags=["SeriesInstanceUID", "NumberOfSeriesRelatedInstances"],
        workers=2,
    )
    if missing_feature("response_content"):
        with pytest.raises(of.UnsupportedByServer, match=r"1\.12\.5"):
            next(pages)
        return
    rows = [row for page in pages for row in page]
    assert len(rows) == cohort_dir.series == len({row["ID"] for row in rows})
    for row in rows:
        assert {"ID", "Labels", "IsStable", "RequestedTags"} <= set(row)
        assert "MainDicomTags" not in row and "Instances" not in row
        full = client.GET(f"/series/{row['ID']}")
        tags = row["RequestedTags"]
        assert tags["SeriesInstanceUID"] == full["MainDicomTags"]["SeriesInstanceUID"]
        assert int(tags["NumberOfSeriesRelatedInstances"]) == len(full["Instances"])


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("response_content", ["Labels;Metadata"], ValueError),
        ("response_content", ["labels"], ValueError),
        ("response_content", "Labels", TypeError),
        ("requested_tags", ["PatientID&limit=1"], ValueError),
        ("requested_tags", ["0010,0020;x"], ValueError),
        ("requested_tags", "PatientID", TypeError),
    ],
)
def test_list_page_fields_are_checked_before_any_request(
    cohort_server: Any, field: str, value: Any, error: type[Exception]
) -> None:
    transport = CountingTransport()
    with _client(cohort_server, transport=transport) as c:
        with pytest.raises(error, match=field):
            next(iter_list_pages(c, "series", **{field: value}))
    assert transport.requests == []
