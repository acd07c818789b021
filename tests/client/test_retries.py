"""Retries that never duplicate, against real servers.

A request that may have reached the server is sent again only when that is
harmless (GET, PUT, DELETE, the read-only POSTs); anonymize, modify, upload
and every other POST whose answer was lost raise ``OutcomeUnknown``. The
faults a real server cannot make on demand (an answer lost after it acted,
a 503, a failing ``/plugins``) are injected at the transport, in front of a
real Orthanc.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import PASSWORD, USERNAME, load_into, missing_feature
from transports import AnswerLostTransport, CutBodyTransport, StatusTransport

import orthanc_frames as of
from orthanc_frames.client import _core
from orthanc_frames.client._core import replay_safe
from orthanc_frames.synthetic import write_cohort

SERIES_ID = "0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c"


def _client(server: Any, transport: httpx.BaseTransport | None = None) -> of.Orthanc:
    return of.Orthanc(server.url, username=USERNAME, password=PASSWORD, transport=transport)


@pytest.fixture
def small_server(empty_server: Any, tmp_path: Path) -> Any:
    """A server of its own with 1 patient, 1 study, 2 series of 2 instances."""
    write_cohort(tmp_path / "cohort", patients=1, studies=1, series=2, instances=2)
    load_into(empty_server, tmp_path / "cohort")
    return empty_server


def _settle_jobs(client: of.Orthanc) -> None:
    """Wait until every job the server knows has ended (the lost answer's job too)."""
    for job_id in client.GET("/jobs"):
        of.Job(job_id, client).wait_until_completion(wait=120)


def _copies_of(client: of.Orthanc, level: str, source: str, field: str) -> list[str]:
    """Resources of ``level`` whose ``field`` metadata names ``source`` (read one by one:
    a ``MetadataQuery`` needs extended find, and Orthanc 1.10 silently ignores it)."""
    collection = of.Level.parse(level).route
    return [
        str(resource)
        for resource in client.GET(f"/{collection}")
        if field in client.GET(f"/{collection}/{resource}/metadata")
        and client.GET(f"/{collection}/{resource}/metadata/{field}") == source
    ]


# -- which requests may be sent twice -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "route", "safe"),
    [
        ("GET", "/series", True),
        ("PUT", f"/series/{SERIES_ID}/labels/a", True),
        ("DELETE", f"/series/{SERIES_ID}", True),
        ("POST", "/tools/find", True),
        ("POST", "/tools/count-resources", True),
        ("POST", "/tools/lookup", True),
        ("POST", "/tools/bulk-content", True),
        ("POST", f"/instances/{SERIES_ID}/anonymize", True),  # answers bytes, stores nothing
        ("POST", "/modalities/PACS/echo", True),
        ("POST", f"/series/{SERIES_ID}/anonymize", False),
        ("POST", f"/studies/{SERIES_ID}/modify", False),
        ("POST", "/tools/bulk-anonymize", False),
        ("POST", "/instances", False),
        ("POST", "/modalities/PACS/store", False),
        ("POST", "/tools/create-archive", True),  # builds the answer, stores nothing
        ("POST", f"/studies/{SERIES_ID}/archive", True),
        ("POST", "/tools/create-dicom", False),  # stores a new instance
        ("POST", "/tools/execute-script", False),
        ("POST", "/tools/bulk-delete", False),
        ("POST", "/modalities/PACS/move", False),
    ],
)
def test_replay_safe_routes(method: str, route: str, safe: bool) -> None:
    assert replay_safe(method, route) is safe


# -- an answer lost after the server acted --------------------------------------------


def test_lost_answer_of_series_anonymize_leaves_exactly_one_copy(small_server: Any) -> None:
    transport = AnswerLostTransport("POST", "/anonymize")
    with _client(small_server, transport) as c:
        source = c.GET("/series")[0]
        with pytest.raises(of.OutcomeUnknown) as raised:
            of.Series(source, c).anonymize()
        assert transport.count("POST", "/anonymize") == 1  # never sent again
        message = str(raised.value)
        assert "outcome is unknown" in message and "AnonymizedFrom" in message
        assert source in message
        assert isinstance(raised.value, of.ConnectionError)
        _settle_jobs(c)
        assert len(_copies_of(c, "Series", source, "AnonymizedFrom")) == 1
        assert c.num_series == 3


def test_lost_answer_through_the_accessor_fails_its_row_and_makes_one_copy(
    small_server: Any,
) -> None:
    transport = AnswerLostTransport("POST", "/anonymize")
    with _client(small_server, transport) as c:
        frames = c.frames()
        result = frames.series.orthanc.anonymize(workers=1, progress=False)
        assert transport.count("POST", "/anonymize") == 2  # one per series, none twice
        failed = result[result["status"] == "failed"]
        assert len(failed) == 1 and failed["new_id"].isna().all()
        assert failed["error"].str.contains("OutcomeUnknown").all()
        assert failed["error"].str.contains("AnonymizedFrom").all()
        ok = result[result["status"] == "ok"]
        assert len(ok) == 1
        _settle_jobs(c)
        for source in frames.series.index:
            copies = _copies_of(c, "Series", str(source), "AnonymizedFrom")
            assert len(copies) == 1
            if source in ok.index:
                assert copies == [ok.loc[source, "new_id"]]
        assert c.num_series == 4


def test_lost_answer_of_modify_is_not_sent_again(small_server: Any) -> None:
    # The message of a stale keep-alive connection, after the server acted:
    # what decides is that the request went out and an answer began.
    transport = AnswerLostTransport(
        "POST", "/modify", error=httpx.RemoteProtocolError, message="Server disconnected"
    )
    with _client(small_server, transport) as c:
        source = c.GET("/series")[0]
        with pytest.raises(of.OutcomeUnknown, match="ModifiedFrom"):
            of.Series(source, c).modify(replace={"SeriesDescription": "changed once"})
        assert transport.count("POST", "/modify") == 1
        _settle_jobs(c)
        assert len(_copies_of(c, "Series", source, "ModifiedFrom")) == 1


def test_lost_answer_of_modify_through_the_accessor_is_not_sent_again(small_server: Any) -> None:
    transport = AnswerLostTransport("POST", "/modify", error=httpx.RemoteProtocolError)
    with _client(small_server, transport) as c:
        frames = c.frames()
        result = frames.studies.orthanc.modify(
            replace={"StudyDescription": "changed once"}, progress=False
        )
        assert transport.count("POST", "/modify") == 1
        assert list(result["status"]) == ["failed"]
        assert result["error"].str.contains("ModifiedFrom").all()
        _settle_jobs(c)
        (source,) = frames.studies.index
        assert len(_copies_of(c, "Study", str(source), "ModifiedFrom")) == 1


def test_lost_answer_of_an_upload_is_not_sent_again(empty_server: Any, tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path / "one", patients=1, studies=1, series=1, instances=1)
    transport = AnswerLostTransport("POST", "/instances")
    with _client(empty_server, transport) as c:
        with pytest.raises(of.OutcomeUnknown, match=r"GET /instances"):
            c.POST("/instances", data=Path(cohort.files[0]).read_bytes())
        assert transport.count("POST", "/instances") == 1
        assert c.num_instances == 1


def test_lost_answer_of_a_read_only_post_is_retried(cohort_server: Any) -> None:
    transport = AnswerLostTransport("POST", "/tools/find")
    with _client(cohort_server, transport) as c:
        assert c.post_tools_find(json={"Level": "Patient", "Query": {}})
        assert transport.count("POST", "/tools/find") == 2 and c.retry_count == 1


def test_async_client_does_not_resend_a_lost_anonymize(small_server: Any) -> None:
    class AsyncAnswerLost(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()
            self.anonymize_posts = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if request.method == "POST" and request.url.path.endswith("/anonymize"):
                self.anonymize_posts += 1
                await response.aread()
                raise httpx.ReadError("connection reset after the server answered")
            return response

    transport = AsyncAnswerLost()

    async def run() -> str:
        async with of.AsyncOrthanc(
            small_server.url, username=USERNAME, password=PASSWORD, transport=transport
        ) as ac:
            source = (await ac.GET("/series"))[0]
            with pytest.raises(of.OutcomeUnknown):
                await ac.POST(f"/series/{source}/anonymize", json={"Asynchronous": True})
            return str(source)

    source = asyncio.run(run())
    assert transport.anonymize_posts == 1
    with _client(small_server) as c:
        _settle_jobs(c)
        assert len(_copies_of(c, "Series", source, "AnonymizedFrom")) == 1


# -- what is retried --------------------------------------------------------------------


def test_503_on_tools_find_is_retried_and_the_frames_are_complete(cohort_server: Any) -> None:
    # A filter makes every server kind load through /tools/find (servers
    # without extended find read unfiltered levels from their list routes).
    query = {"Modality": "CT"}
    with _client(cohort_server) as plain:
        expected = plain.frames(query=query)
    transport = StatusTransport("POST", "/tools/find", 503, times=2)
    with _client(cohort_server, transport) as c:
        frames = c.frames(query=query)
        assert transport.injected == 2 and c.retry_count >= 2
    for level in ("patients", "studies", "series", "instances"):
        assert set(getattr(frames, level).index) == set(getattr(expected, level).index)
    assert len(frames.instances) == len(expected.instances) > 0


def test_a_stream_is_retried_after_a_503_and_after_a_body_cut_midway(
    small_server: Any, tmp_path: Path
) -> None:
    with _client(small_server) as plain:
        study = plain.GET("/studies")[0]
        whole = plain.GET(f"/studies/{study}/archive")
    for transport in (
        StatusTransport("GET", "/archive", 503, times=2),
        CutBodyTransport("GET", "/archive", keep=len(whole) // 2),
    ):
        seen: list[int] = []
        with _client(small_server, transport) as c:
            path = c.stream(
                f"/studies/{study}/archive", tmp_path / "out" / "s.zip", on_bytes=seen.append
            )
            assert c.retry_count == transport.count("GET", "/archive") - 1 >= 1
        assert len(path.read_bytes()) == len(whole) == sum(seen)  # counted once
        assert [p.name for p in path.parent.iterdir()] == ["s.zip"]  # no partial file left


def test_the_async_stream_is_retried_after_a_503(small_server: Any, tmp_path: Path) -> None:
    class Async503(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()
            self.answered_503 = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/archive") and not self.answered_503:
                self.answered_503 += 1
                return httpx.Response(503, text="injected", request=request)
            return await self.inner.handle_async_request(request)

    transport = Async503()

    async def run() -> tuple[Path, int]:
        async with of.AsyncOrthanc(
            small_server.url, username=USERNAME, password=PASSWORD, transport=transport
        ) as ac:
            study = (await ac.GET("/studies"))[0]
            path = await ac.stream(f"/studies/{study}/archive", tmp_path / "a.zip")
            return path, ac.retry_count

    path, retries = asyncio.run(run())
    assert transport.answered_503 == 1 and retries == 1
    assert path.read_bytes()[:2] == b"PK"


# -- the loop's decisions, without I/O -------------------------------------------------------


def _run(loop: _core.RetryLoop, outcomes: list[Any]) -> tuple[Any, list[float | None]]:
    """Drive ``loop`` with the given outcomes (an exception to raise, or a response)."""
    delays: list[float | None] = []
    for attempt, outcome in zip(loop, outcomes, strict=False):
        delays.append(attempt.delay)
        with attempt:
            if isinstance(outcome, BaseException):
                raise outcome
            if not attempt.retry_after(outcome):
                return outcome, delays
    raise AssertionError("the outcomes ran out")


def test_the_retry_loop_decides_without_io() -> None:
    settings = _core.make_settings("http://127.0.0.1:9", retries=2)
    refused = httpx.ConnectError("refused")
    busy = httpx.Response(503, headers={"Retry-After": "3"})
    ok = httpx.Response(200)
    answer, delays = _run(
        _core.RetryLoop(settings, "POST", "/instances", body_replayable=True), [refused, ok]
    )
    assert answer is ok and delays == [None, 0.1]  # never reached the server: any method
    answer, delays = _run(
        _core.RetryLoop(settings, "GET", "/system", body_replayable=True), [busy, refused, ok]
    )
    assert answer is ok and delays == [None, 3.0, 0.2]  # Retry-After, then the backoff
    with pytest.raises(of.ConnectionError, match="Cannot connect"):
        _run(_core.RetryLoop(settings, "GET", "/system", body_replayable=True), [refused] * 4)
    answer, _ = _run(_core.RetryLoop(settings, "POST", "/instances", body_replayable=True), [busy])
    assert answer is busy  # a POST that stores is never sent twice
    lost = httpx.ReadError("reset after the answer began")
    with pytest.raises(of.OutcomeUnknown, match="not sent again"):
        _run(
            _core.RetryLoop(settings, "POST", "/tools/bulk-anonymize", body_replayable=True), [lost]
        )


# -- the plugin list is read only when needed ----------------------------------------------


def test_failing_plugins_route_stops_neither_frames_nor_find(cohort_server: Any) -> None:
    transport = StatusTransport("GET", "/plugins", 500, times=1000)
    with _client(cohort_server, transport) as c:
        frames = c.frames()
        assert len(frames.series) > 0
        assert len(of.find_series(c)) == len(frames.series)
        assert c.capabilities.version
        assert transport.count("GET", "/plugins") == 0  # never asked for
        with pytest.raises(of.ServerError):  # asked for, when needed, and its failure shown
            c.capabilities.plugins  # noqa: B018
    if missing_feature("plugins") is None:
        with _client(cohort_server) as healthy:
            assert "neuro" in healthy.capabilities.plugins


@pytest.mark.needs("plugins")
def test_async_capabilities_read_plugins_on_request(cohort_server: Any) -> None:
    async def run() -> tuple[bool, frozenset[str]]:
        async with of.AsyncOrthanc(cohort_server.url, username=USERNAME, password=PASSWORD) as ac:
            caps = await ac.get_capabilities()
            known_before = caps.plugins_known
            with pytest.raises(RuntimeError, match=r"get_capabilities\(plugins=True\)"):
                caps.plugins  # noqa: B018
            caps = await ac.get_capabilities(plugins=True)
            return known_before, caps.plugins

    known_before, plugins = asyncio.run(run())
    assert not known_before and "dicom-web" in plugins


# -- how an attempt is judged (what httpcore reported of it) ---------------------------------

_FRESH = {"connection.connect_tcp.started", "connection.connect_tcp.complete"}
_SENT = {"http11.send_request_headers.started", "http11.send_request_headers.complete"}
_ANSWER_BEGAN = {"http11.receive_response_headers.complete"}
_STALE = httpx.RemoteProtocolError("Server disconnected without sending a response.")


@pytest.mark.parametrize(
    ("events", "error", "reached"),
    [
        (set(), httpx.ConnectError("refused"), False),
        (set(), httpx.PoolTimeout("pool"), False),
        (_FRESH, httpx.ConnectTimeout("slow"), False),
        (_SENT, _STALE, False),  # a reused keep-alive connection the server had closed
        (_SENT, httpx.ReadError("reset"), False),  # ... and reset
        (_SENT, httpx.ReadTimeout("slow"), True),  # the server holds the request, working
        (_SENT, httpx.WriteTimeout("slow"), True),
        (_SENT | _ANSWER_BEGAN, _STALE, True),  # the server answered: it acted
        (_FRESH | _SENT, _STALE, True),  # a new connection took the request
        (_FRESH | _SENT, httpx.ReadError("reset"), True),
        (set(), _STALE, False),  # a custom transport said nothing: the error decides
        (set(), httpx.ReadError("reset"), True),
    ],
)
def test_whether_an_attempt_may_have_reached_the_server(
    events: set[str], error: Exception, reached: bool
) -> None:
    trace = _core.SendTrace()
    for event in events:
        trace.hook(event, {})
    assert trace.may_have_reached_server(error) is reached
