"""The exception tree of orthanc-frames.

Every error raised by the client derives from :class:`OrthancError`.
HTTP answers with an error status raise a subclass of :class:`HTTPError`
that carries the status, the method, the route and, when the server
describes its errors (Orthanc's default ``HttpDescribeErrors``), Orthanc's
own error code, message and details.

No exception message ever contains a password or a token: messages are
built from the method, the route (a path on the server, without the
host's credentials) and the server's own description.
"""

from __future__ import annotations

import builtins
from typing import Any

__all__ = [
    "BadRequest",
    "ConfigurationError",
    "ConnectionError",
    "Forbidden",
    "HTTPError",
    "NotFound",
    "OrthancError",
    "OutcomeUnknown",
    "ServerError",
    "Timeout",
    "Unauthorized",
    "UnsupportedByServer",
]


class OrthancError(Exception):
    """Base class of every error raised by orthanc-frames."""


class ConfigurationError(OrthancError, ValueError):
    """The client was given settings it cannot use (a malformed URL, say)."""


class ConnectionError(OrthancError, builtins.ConnectionError):
    """The server could not be reached (refused, reset, name not resolved)."""


class OutcomeUnknown(ConnectionError):
    """A request that changes the server reached it, and its answer was lost.

    The server may or may not have carried it out (an anonymize may have
    made its copy, an upload may have stored its file), so the client did
    not send it again: re-sending could make a second copy. The message
    says what to look at on the server before trying again (for an
    anonymize or modify: resources whose ``AnonymizedFrom`` /
    ``ModifiedFrom`` metadata names the source, and the jobs in ``GET /jobs``).

    Attributes
    ----------
    method : str
        The HTTP method of the request, e.g. ``"POST"``.
    route : str
        The route on the server, e.g. ``"/series/0946fcb6-.../anonymize"``.
    """

    def __init__(self, message: str, *, method: str = "", route: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.route = route

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_outcome_unknown, (str(self), self.method, self.route))


def _rebuild_outcome_unknown(message: str, method: str, route: str) -> OutcomeUnknown:
    return OutcomeUnknown(message, method=method, route=route)


class Timeout(OrthancError, builtins.TimeoutError):
    """The server did not answer within the configured timeout."""


class UnsupportedByServer(OrthancError):
    """The server lacks a capability the call needs (labels before 1.12, a plugin)."""


_STATUS_HINTS = {
    400: "check the request's parameters and body",
    401: "check the username/password or token given to the client",
    403: "the credentials are valid but not allowed to do this",
    404: "check the resource ID or the route (the resource may have been deleted)",
    415: "the server cannot read what was sent",
}


class HTTPError(OrthancError):
    """The server answered with an HTTP error status.

    Attributes
    ----------
    status : int
        The HTTP status code, e.g. 404.
    method : str
        The HTTP method of the request, e.g. ``"GET"``.
    route : str
        The route on the server, e.g. ``"/patients/0946fcb6-..."``.
    orthanc_code : int or None
        Orthanc's own error code (``OrthancStatus``), when it sent one.
    orthanc_error : str or None
        Orthanc's own error name (``OrthancError``), e.g. ``"Unknown resource"``.
    message : str or None
        Orthanc's message (``Message``).
    details : str or None
        Orthanc's details (``Details``), often the most precise explanation.
    body : Any
        The parsed error body (JSON) or its first bytes of text.
    """

    def __init__(
        self,
        status: int,
        method: str,
        route: str,
        *,
        orthanc_code: int | None = None,
        orthanc_error: str | None = None,
        message: str | None = None,
        details: str | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.method = method
        self.route = route
        self.orthanc_code = orthanc_code
        self.orthanc_error = orthanc_error
        self.message = message
        self.details = details
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.method} {self.route} failed with HTTP {self.status}"
        server_says = [
            s for s in (self.orthanc_error, self.message, self.details) if s and isinstance(s, str)
        ]
        seen: list[str] = []
        for s in server_says:
            if s not in seen:
                seen.append(s)
        if seen:
            text += ": " + "; ".join(seen)
        if self.orthanc_code is not None:
            text += f" (Orthanc error {self.orthanc_code})"
        hint = _STATUS_HINTS.get(self.status)
        if hint:
            text += f". Hint: {hint}."
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_http_error,
            (
                type(self),
                self.status,
                self.method,
                self.route,
                {
                    "orthanc_code": self.orthanc_code,
                    "orthanc_error": self.orthanc_error,
                    "message": self.message,
                    "details": self.details,
                    "body": self.body,
                },
            ),
        )


def _rebuild_http_error(
    cls: type[HTTPError], status: int, method: str, route: str, kw: dict[str, Any]
) -> HTTPError:
    return cls(status, method, route, **kw)


class BadRequest(HTTPError):
    """HTTP 400: the server refused the request as malformed."""


class Unauthorized(HTTPError):
    """HTTP 401: missing or wrong credentials."""


class Forbidden(HTTPError):
    """HTTP 403: the credentials are not allowed to do this."""


class NotFound(HTTPError):
    """HTTP 404: no such resource or route."""


class ServerError(HTTPError):
    """HTTP 5xx: the server failed while handling the request."""


def error_class_for_status(status: int) -> type[HTTPError]:
    """The :class:`HTTPError` subclass that stands for an HTTP status."""
    if status == 400:
        return BadRequest
    if status == 401:
        return Unauthorized
    if status == 403:
        return Forbidden
    if status == 404:
        return NotFound
    if status >= 500:
        return ServerError
    return HTTPError
