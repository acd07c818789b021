"""HTTP transports for tests: forward to the real server, record or alter what passes.

A fake is allowed only for what a real server cannot do on demand; these
wrap the real transport, so every request still reaches a real Orthanc.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx


class RecordingTransport(httpx.BaseTransport):
    """Forwards every request to the real transport and records it.

    ``requests`` holds ``(method, path)`` pairs, ``sent`` the requests themselves.
    """

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[tuple[str, str]] = []
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        self.sent.append(request)
        return self.inner.handle_request(request)

    @property
    def routes(self) -> list[str]:
        """The paths of the recorded requests, in order."""
        return [path for _, path in self.requests]

    def count(self, method: str | None = None, route_end: str = "") -> int:
        """How many requests had ``method`` (any when None) and a path ending in ``route_end``."""
        return sum(
            1
            for m, path in self.requests
            if (method is None or m == method) and path.endswith(route_end)
        )

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self.requests.clear()
        self.sent.clear()

    def close(self) -> None:
        self.inner.close()


CountingTransport = RecordingTransport


def _matches(request: httpx.Request, method: str, route_end: str) -> bool:
    return request.method == method and request.url.path.endswith(route_end)


class AnswerLostTransport(RecordingTransport):
    """Lets matching requests reach the real server, then loses the answer.

    The first ``times`` requests with ``method`` whose path ends in
    ``route_end`` are forwarded to the real server, which acts on them;
    their answer is read and dropped, and ``error`` is raised instead (the
    connection broke after the server acted, which a real server does not
    do on demand).
    """

    def __init__(
        self,
        method: str,
        route_end: str,
        *,
        times: int = 1,
        error: type[httpx.TransportError] = httpx.ReadError,
        message: str = "connection reset after the server answered",
    ) -> None:
        super().__init__()
        self.method, self.route_end, self.times, self.error = method, route_end, times, error
        self.message = message
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.lost < self.times and _matches(request, self.method, self.route_end):
            self.lost += 1
            response.read()
            response.close()
            raise self.error(self.message, request=request)
        return response


class StatusTransport(RecordingTransport):
    """Answers the first ``times`` matching requests with ``status`` (without sending them)."""

    def __init__(self, method: str, route_end: str, status: int, *, times: int = 1) -> None:
        super().__init__()
        self.method, self.route_end, self.status, self.times = method, route_end, status, times
        self.injected = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.injected < self.times and _matches(request, self.method, self.route_end):
            self.injected += 1
            self.requests.append((request.method, request.url.path))
            return httpx.Response(self.status, text="injected", request=request)
        return super().handle_request(request)


class CutBodyTransport(RecordingTransport):
    """Sends the first ``times`` matching answers' headers and part of the body, then breaks.

    The real server answered in full; the connection is reset after
    ``keep`` bytes of the body (a reset mid-response, which a real server
    does not do on demand).
    """

    def __init__(self, method: str, route_end: str, *, keep: int, times: int = 1) -> None:
        super().__init__()
        self.method, self.route_end, self.keep, self.times = method, route_end, keep, times
        self.cut = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.cut >= self.times or not _matches(request, self.method, self.route_end):
            return response
        self.cut += 1
        body = response.read()[: self.keep]

        def broken() -> Iterator[bytes]:
            yield body
            raise httpx.ReadError("connection reset in the middle of the body")

        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_IterStream(broken()),
            request=request,
        )


class _IterStream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


class JobDroppedTransport(RecordingTransport):
    """Forwards job reads; once a job has ended, answers 404 as if it left the history.

    Orthanc keeps only ``JobsHistorySize`` finished jobs, and which of many
    parallel jobs drops out first is not something a real server does on
    demand. Every ``GET /jobs/{id}`` reaches the real server; when its
    answer says the job ended (Success or Failure), the answer is dropped
    and a 404 returned instead. ``before_drop(job_id)``, when given, runs
    just before (another user acting on the server meanwhile).
    """

    def __init__(self, before_drop: Any = None) -> None:
        super().__init__()
        self.before_drop = before_drop
        self.dropped: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        parts = request.url.path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 2 and parts[0] == "jobs":
            response.read()
            if response.status_code == 200 and response.json().get("State") in (
                "Success",
                "Failure",
            ):
                self.dropped.append(parts[1])
                if self.before_drop is not None:
                    self.before_drop(parts[1])
                return httpx.Response(404, text="unknown job", request=request)
        return response


class ConcurrencyTransport(RecordingTransport):
    """Forwards every request and records the most requests ever in flight at once.

    Each request is held ``hold`` seconds before it is forwarded, so requests
    sent in parallel overlap at this transport whatever the server's speed.
    """

    def __init__(self, hold: float = 0.05) -> None:
        super().__init__()
        self.hold = hold
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.hold)
            response = super().handle_request(request)
            response.read()
            return response
        finally:
            with self._lock:
                self.in_flight -= 1

    def clear(self) -> None:
        super().clear()
        self.most_in_flight = 0
