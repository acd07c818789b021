"""HTTP transports for tests: forward to the real server, record or alter what passes.

A fake is allowed only for what a real server cannot do on demand; these
wrap the real transport, so every request still reaches a real Orthanc.
"""

from __future__ import annotations

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
