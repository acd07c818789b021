"""The request core shared by :class:`Orthanc` and :class:`AsyncOrthanc`.

Everything that does not depend on whether the I/O is blocking lives here,
once: validating settings, building routes (:func:`route`, the one route
builder of the package), deciding whether a failure is worth a retry (and
after how long), turning answers into Python values and failures into
typed errors. The send/retry loop itself is :class:`RetryLoop`, a state
machine without I/O: the sync and async clients only send, wait and read
the body where it tells them to.

The retry rule: a request that failed before reaching the server is
retried for any method; one that may have reached it (:class:`SendTrace`
says) is retried only if re-sending is harmless (:func:`replay_safe`);
otherwise it raises :class:`~orthanc_frames.client.errors.OutcomeUnknown`
and is never sent twice. A 502/503/504 answer to a request that is
harmless to repeat is retried too (after ``Retry-After`` when given).
"""

from __future__ import annotations

import base64
import json as jsonlib
import logging
import os
import re
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from .errors import (
    ConfigurationError,
    ConnectionError,
    HTTPError,
    OrthancError,
    OutcomeUnknown,
    Timeout,
    error_class_for_status,
)
from .urls import without_credentials

logger = logging.getLogger("orthanc_frames.client")

Params = Mapping[str, Any] | None
Headers = Mapping[str, str] | None
TimeoutSpec = float | tuple[float, float] | httpx.Timeout | None

DEFAULT_URL = "http://127.0.0.1:8042"
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_POOL_SIZE = 16
# Orthanc closes idle keep-alive connections after ``KeepAliveTimeout``
# (1 s by default): drop ours a little earlier so a reused socket is
# almost never a dead one. Retries cover the rest.
DEFAULT_KEEPALIVE_EXPIRY = 0.8

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
READ_ONLY_POST_ROUTES = frozenset(
    {
        "/tools/find",
        "/tools/count-resources",
        "/tools/lookup",
        "/tools/bulk-content",
        "/tools/dicom-echo",
        "/tools/create-archive",
        "/tools/create-media",
        "/tools/create-media-extended",
    }
)
"""POST routes that store nothing: re-sending them cannot change what the server holds.

From Orthanc's OpenAPI spec: finds, counts, lookups and descriptions only
read; a C-ECHO changes nothing; an archive or DICOMDIR is built for the
answer (run asynchronously, its only trace is a job holding a temporary
archive).
"""
# The same with an ID in the route: an instance's anonymize/modify answers
# with the new file and stores nothing; a modality's C-ECHO; the archive
# and media of one resource.
_READ_ONLY_POST_PATTERNS = (
    re.compile(r"/instances/[^/]+/(anonymize|modify)"),
    re.compile(r"/modalities/[^/]+/echo"),
    re.compile(r"/(patients|studies|series)/[^/]+/(archive|media)"),
)
RETRY_STATUSES = frozenset({502, 503, 504})
_JSON_TYPES = ("application/json", "application/dicom+json")


class InsecureTLSWarning(UserWarning):
    """TLS certificate verification was turned off (``verify=False``)."""


class _BearerAuth(httpx.Auth):
    """Bearer token authentication whose repr never shows the token."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth token=***>"


class _BasicAuth(httpx.Auth):
    """HTTP basic authentication whose repr never shows the password."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        raw = f"{username}:{password}".encode()
        self._header = "Basic " + base64.b64encode(raw).decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"<BasicAuth username={self.username!r} password=***>"


@dataclass(frozen=True)
class Settings:
    """Validated connection settings of one client (credentials kept out of repr)."""

    url: str
    username: str | None
    auth: httpx.Auth | None
    headers: Mapping[str, str]
    timeout: httpx.Timeout
    retries: int
    backoff: float
    verify: bool | str
    pool_size: int
    keepalive_expiry: float

    def __repr__(self) -> str:
        return f"Settings(url={self.url!r}, username={self.username!r})"

    def httpx_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
        return {
            "base_url": self.url,
            "auth": self.auth,
            "headers": dict(self.headers),
            "timeout": self.timeout,
            "verify": self.verify,
            "limits": httpx.Limits(
                max_connections=self.pool_size,
                max_keepalive_connections=self.pool_size,
                keepalive_expiry=self.keepalive_expiry,
            ),
            "follow_redirects": False,
        }


def make_settings(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    headers: Headers = None,
    timeout: TimeoutSpec = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = 0.1,
    verify: bool | str = True,
    pool_size: int = DEFAULT_POOL_SIZE,
    keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
) -> Settings:
    """Validate the client's arguments into :class:`Settings`.

    Credentials embedded in the URL (``http://user:pass@host/``) are moved
    into the auth settings and removed from the URL, so that the URL can be
    shown anywhere.
    """
    clean_url, url_user, url_password = _split_url(url)
    if username is None and url_user is not None:
        username, password = url_user, url_password
    if token is not None and username is not None:
        raise ConfigurationError(
            "Give either username/password or token, not both: "
            "a token is sent as 'Authorization: Bearer ...', which replaces basic auth."
        )
    if username is not None and password is None:
        raise ConfigurationError(f"A username ({username!r}) was given without a password.")
    if not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(f"retries must be a whole number >= 0, not {retries!r}.")
    if pool_size < 1:
        raise ConfigurationError(f"pool_size must be >= 1, not {pool_size!r}.")
    auth: httpx.Auth | None = None
    if token is not None:
        auth = _BearerAuth(token)
    elif username is not None and password is not None:
        auth = _BasicAuth(username, password)
    if verify is False and clean_url.startswith("https://"):
        warnings.warn(
            f"TLS certificate verification is off for {clean_url}: anyone on the network "
            "path could read or alter the traffic. Pass verify=True (or a CA bundle path).",
            InsecureTLSWarning,
            stacklevel=3,
        )
    return Settings(
        url=clean_url,
        username=username,
        auth=auth,
        headers=dict(headers or {}),
        timeout=_make_timeout(timeout),
        retries=retries,
        backoff=backoff,
        verify=verify,
        pool_size=pool_size,
        keepalive_expiry=keepalive_expiry,
    )


def settings_from_env(**overrides: Any) -> dict[str, Any]:
    """Client arguments read from ``ORTHANC_URL``, ``ORTHANC_USERNAME``,
    ``ORTHANC_PASSWORD`` and ``ORTHANC_TOKEN`` (explicit arguments win)."""
    env = os.environ
    kwargs: dict[str, Any] = {
        "url": env.get("ORTHANC_URL") or DEFAULT_URL,
        "username": env.get("ORTHANC_USERNAME") or None,
        "password": env.get("ORTHANC_PASSWORD") or None,
        "token": env.get("ORTHANC_TOKEN") or None,
    }
    if env.get("ORTHANC_VERIFY", "").lower() in ("0", "false", "no"):
        kwargs["verify"] = False
    kwargs.update(overrides)
    return kwargs


def _split_url(url: str) -> tuple[str, str | None, str | None]:
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(
            f"The server URL must be a non-empty string like 'http://127.0.0.1:8042', not {url!r}."
        )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(
            f"Cannot read the server URL {_redact_url(url)!r}: {exc}. "
            "Expected something like 'http://127.0.0.1:8042'."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"The server URL {_redact_url(url)!r} is not an http(s) URL with a host. "
            "Expected something like 'http://127.0.0.1:8042'."
        )
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    clean = urlunsplit((parts.scheme, netloc, path, "", ""))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def _redact_url(url: str) -> str:
    return without_credentials(url, mark="***")


def _make_timeout(timeout: TimeoutSpec) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None, connect=DEFAULT_CONNECT_TIMEOUT)
    if isinstance(timeout, tuple):
        connect, read = timeout
        return httpx.Timeout(read, connect=connect)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, not {timeout!r}.")
    return httpx.Timeout(float(timeout), connect=min(float(timeout), DEFAULT_CONNECT_TIMEOUT))


def normalize_route(route: str) -> str:
    """A route relative to the server's base URL, always with one leading '/'.

    The last guard of every request (raw verbs and generated methods alike):
    Orthanc percent-decodes a path before it resolves ``.`` and ``..``, so a
    route with such a segment, as written or decoded
    (``/patients/x/labels/..%2F..%2Fpatients%2Fy``), could act on another
    resource than the one named; it raises ``ValueError`` and is not sent.
    """
    if not isinstance(route, str):
        raise TypeError(f"route must be a string like '/patients', not {route!r}")
    if route.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"Routes are paths on the server, like '/patients', not full URLs ({route!r})."
        )
    path = route.split("?", 1)[0]
    for form in (path, unquote(path)):
        if any(segment in (".", "..") for segment in form.split("/")):
            raise ValueError(
                f"Refusing the route {route!r}: it holds a '.' or '..' segment (as written or "
                "percent-decoded), which the server would resolve to another route. Build "
                "routes with orthanc_frames.client.route(), which refuses such values."
            )
    return "/" + route.lstrip("/")


def quote_segment(value: Any) -> str:
    """URL-quote one path segment (an ID, a label, an attachment name)."""
    return quote(str(value), safe="")


# Refused in a route segment, as typed or once percent-decoded: a separator
# or a character that ends the path, and control characters.
_FORBIDDEN_IN_SEGMENT = re.compile(r"[/\\?#\x00-\x1f\x7f]")


def route(*segments: str | int) -> str:
    """The route ``/seg1/seg2/...`` with every segment URL-quoted: the one route builder.

    Every route the package sends with a value in it (an ID, a label, a
    metadata or attachment name, a modality) is built here, so that typed
    text can never reach another route. A segment is refused, before
    anything is sent, when it is empty, or when it is ``.`` or ``..`` or
    holds ``/``, ``\\``, ``?``, ``#`` or a control character, either as
    written or once percent-decoded (so ``..%2F..%2Fpatients`` is refused
    too). Everything else is quoted (``%`` becomes ``%25``), so the server
    reads each segment back exactly as given.

    Parameters
    ----------
    *segments : str or int
        The path segments, e.g. ``route("series", series_id, "labels", label)``.

    Returns
    -------
    str
        The route, e.g. ``"/series/0946fcb6-.../labels/cohort-a"``.

    Raises
    ------
    TypeError
        A segment that is neither a string nor an integer.
    ValueError
        A refused segment (named in the message).

    Examples
    --------
    >>> route("patients", "0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c", "labels", "a b")
    '/patients/0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c/labels/a%20b'
    >>> route("patients", "x", "labels", "../../studies")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Refusing the route segment '../../studies': ...
    """
    if not segments:
        raise ValueError("route() needs at least one segment, e.g. route('system').")
    return "/" + "/".join(_checked_segment(segment) for segment in segments)


def _checked_segment(segment: str | int) -> str:
    if isinstance(segment, bool) or not isinstance(segment, (str, int)):
        raise TypeError(
            f"A route segment must be a string or an integer, not {type(segment).__name__} "
            f"({segment!r})."
        )
    text = str(segment)
    decoded = unquote(text)
    for form in (text, decoded):
        if form in ("", ".", "..") or _FORBIDDEN_IN_SEGMENT.search(form):
            raise ValueError(
                f"Refusing the route segment {text!r}: it is empty, '.' or '..', or holds "
                "'/', '\\', '?', '#' or a control character (as written or percent-decoded), "
                "so it could reach another route than the one meant."
            )
    return quote_segment(text)


def replay_safe(method: str, route: str) -> bool:
    """Whether sending ``method route`` twice has the effect of sending it once.

    True for the idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) and
    for the POST routes that store nothing (:data:`READ_ONLY_POST_ROUTES`;
    an instance's ``anonymize``/``modify``, which answer with a file; a
    modality's ``echo``; a resource's ``archive``/``media``). Every other
    POST (anonymize or modify of a patient, study or series, bulk
    anonymize/modify/delete, store, upload, C-MOVE, scripts...) may change
    the server each time.
    """
    method = method.upper()
    if method in IDEMPOTENT_METHODS:
        return True
    if method != "POST":
        return False
    path = route.split("?", 1)[0]
    return path in READ_ONLY_POST_ROUTES or any(
        pattern.fullmatch(path) for pattern in _READ_ONLY_POST_PATTERNS
    )


def retryable_body(data: Any) -> bool:
    """Whether a request body can be sent again (bytes can, a stream cannot)."""
    return data is None or isinstance(data, (bytes, bytearray, str))


class SendTrace:
    """What the HTTP layer reported of one attempt: did the request reach the server?

    Passed as httpx's ``trace`` extension; records the events of httpcore
    (``connection.connect_tcp.complete``, ``http11.send_request_headers.started``,
    ``http11.receive_response_headers.complete``...). Use :meth:`hook` for a
    blocking client and :meth:`ahook` for an asyncio one.
    """

    def __init__(self) -> None:
        self.events: set[str] = set()

    def hook(self, name: str, info: Mapping[str, Any]) -> None:
        """The blocking trace callback."""
        self.events.add(name)

    async def ahook(self, name: str, info: Mapping[str, Any]) -> None:
        """The asyncio trace callback."""
        self.events.add(name)

    def _saw(self, suffix: str) -> bool:
        return any(event.endswith(suffix) for event in self.events)

    def may_have_reached_server(self, exc: Exception) -> bool:
        """Whether the failed attempt's bytes may have been read and acted on.

        No: the connection could not be made (refused, connect or pool
        timeout), or the request went out on a reused keep-alive connection
        that the server had closed (Orthanc closes idle connections after
        ``KeepAliveTimeout``): no byte came back and the socket was found
        closed or reset. Yes: an answer had begun, the request was written
        on a connection opened for it, or the server was waited for (a read
        or write timeout means it holds the request). When the transport
        reported nothing (a custom transport), the exception alone decides.
        """
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return False
        if not self.events:
            return not _failed_before_sending(exc)
        if self._saw("receive_response_headers.complete"):
            return True
        if not self._saw("send_request_headers.started"):
            return False
        if self._saw("connect_tcp.complete"):
            return True
        return not _closed_idle_connection(exc)


def retry_delay_after_exception(
    settings: Settings,
    method: str,
    route: str,
    attempt: int,
    exc: Exception,
    *,
    body_replayable: bool,
    reached: bool,
) -> float | None:
    """Seconds to wait before trying again after a transport failure, or None to give up.

    Failures before the request reached the server (``reached=False``:
    refused, connect timeout, a stale pooled connection that the server had
    closed) are retried for every method. Failures after it may have
    reached it are retried only when re-sending is harmless
    (:func:`replay_safe`: idempotent methods and read-only POSTs).
    """
    if attempt >= settings.retries or not body_replayable:
        return None
    if isinstance(exc, httpx.TransportError) and (not reached or replay_safe(method, route)):
        return settings.backoff * (2**attempt)
    return None


def retry_delay_or_raise(
    settings: Settings,
    method: str,
    route: str,
    attempt: int,
    exc: Exception,
    trace: SendTrace,
    *,
    body_replayable: bool,
) -> float:
    """Seconds to wait before the next attempt after a transport failure; or raise.

    The one decision of the sync and async senders (see
    :func:`retry_delay_after_exception`); when giving up, raises the typed
    error of :func:`translate_exception` (:class:`OutcomeUnknown` for a
    request that may have changed the server).
    """
    reached = trace.may_have_reached_server(exc)
    delay = retry_delay_after_exception(
        settings, method, route, attempt, exc, body_replayable=body_replayable, reached=reached
    )
    if delay is None:
        raise translate_exception(settings, method, route, exc, reached=reached) from None
    return delay


def retry_delay_after_status(
    settings: Settings,
    method: str,
    route: str,
    attempt: int,
    response: httpx.Response,
    *,
    body_replayable: bool,
) -> float | None:
    """Seconds to wait before retrying a 502/503/504 answer, or None.

    Only requests that are harmless to repeat (:func:`replay_safe`) are retried.
    """
    if response.status_code not in RETRY_STATUSES or attempt >= settings.retries:
        return None
    if not body_replayable or not replay_safe(method, route):
        return None
    retry_after = response.headers.get("Retry-After", "")
    if retry_after.isdigit():
        return min(float(retry_after), 30.0)
    return settings.backoff * (2**attempt)


class RetryLoop:
    """The send/retry loop of one request, as a state machine without I/O (sans-IO).

    Iterating gives one :class:`Attempt` after the other; the sender waits
    :attr:`Attempt.delay` (``None`` for the first), sends inside
    ``with attempt:`` and either returns the answer or, when the attempt
    says so, goes on to the next one. Every decision is taken here, once for
    the sync and async clients, for requests and streams alike: what is
    logged, whether a transport failure or a 502/503/504 answer is retried
    and after how long, and which typed error is raised when giving up.

    Examples
    --------
    The blocking sender (the asyncio one awaits the same steps)::

        for attempt in RetryLoop(settings, "GET", "/system", body_replayable=True):
            if attempt.delay is not None:
                time.sleep(attempt.delay)
            with attempt:
                response = http.request("GET", "/system", extensions={"trace": attempt.trace.hook})
                if not attempt.retry_after(response):
                    return interpret_response("GET", "/system", response)
    """

    def __init__(
        self, settings: Settings, method: str, route: str, *, body_replayable: bool
    ) -> None:
        self.settings, self.method, self.route = settings, method, route
        self.body_replayable = body_replayable
        self._next_delay: float | None = None

    def __iter__(self) -> Iterator[Attempt]:
        number, delay = 0, None
        while True:
            self._next_delay = None
            yield Attempt(self, number, delay)
            if self._next_delay is None:
                raise RuntimeError(
                    f"{self.method} {self.route}: an attempt ended without an answer, an error "
                    "or a retry decision (the sender must return inside `with attempt:`)."
                )
            number, delay = number + 1, self._next_delay


class Attempt:
    """One try of a request within a :class:`RetryLoop`.

    Attributes
    ----------
    number : int
        0 for the first try, then 1, 2...
    delay : float or None
        Seconds to wait before sending this try (``None`` for the first).
    trace : SendTrace
        Pass ``trace.hook`` (blocking) or ``trace.ahook`` (asyncio) as
        httpx's ``trace`` extension: it tells whether a failed try reached
        the server.
    """

    def __init__(self, loop: RetryLoop, number: int, delay: float | None) -> None:
        self._loop = loop
        self.number = number
        self.delay = delay
        self.trace = SendTrace()
        self._started = time.perf_counter()

    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self._started) * 1000.0

    def __enter__(self) -> Attempt:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        """Log a transport failure, then retry it (True: swallowed) or raise the typed error."""
        if not isinstance(exc, httpx.TransportError):
            return False
        loop = self._loop
        log_request(loop.method, loop.route, type(exc).__name__, self._elapsed_ms())
        loop._next_delay = retry_delay_or_raise(
            loop.settings,
            loop.method,
            loop.route,
            self.number,
            exc,
            self.trace,
            body_replayable=loop.body_replayable,
        )
        return True

    def retry_after(self, response: httpx.Response) -> bool:
        """Log the answer's status; True when it is a 502/503/504 worth another try."""
        loop = self._loop
        log_request(loop.method, loop.route, response.status_code, self._elapsed_ms())
        delay = retry_delay_after_status(
            loop.settings,
            loop.method,
            loop.route,
            self.number,
            response,
            body_replayable=loop.body_replayable,
        )
        if delay is None:
            return False
        loop._next_delay = delay
        return True


def _failed_before_sending(exc: Exception) -> bool:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True
    # A keep-alive connection that the server closed while idle: the request
    # met a closed socket, and nothing of it was processed.
    if isinstance(exc, httpx.RemoteProtocolError):
        return "without sending a response" in str(exc) or "Server disconnected" in str(exc)
    return False


def _closed_idle_connection(exc: Exception) -> bool:
    """The signature of a reused connection that the server had already closed."""
    if isinstance(exc, httpx.TimeoutException):
        return False
    return _failed_before_sending(exc) or isinstance(exc, (httpx.ReadError, httpx.WriteError))


_CHANGE_OF_RESOURCE = re.compile(r"/(patients|studies|series|instances)/([^/]+)/(anonymize|modify)")


def how_to_check(method: str, route: str) -> str:
    """What to look at on the server to learn whether ``method route`` was carried out."""
    change = _CHANGE_OF_RESOURCE.fullmatch(route.split("?", 1)[0])
    if change:
        level, identifier, operation = change.groups()
        field = "AnonymizedFrom" if operation == "anonymize" else "ModifiedFrom"
        return (
            f"look for {level} whose {field} metadata is {identifier} (a /tools/find "
            f'with "MetadataQuery": {{"{field}": "{identifier}"}}) and for a '
            "ResourceModification job in GET /jobs, before trying again"
        )
    if route.startswith("/tools/bulk-"):
        return (
            "look for a job in GET /jobs and for resources whose AnonymizedFrom/ModifiedFrom "
            "metadata names the sources, before trying again"
        )
    if method == "POST" and route.rstrip("/") == "/instances":
        return "look up the file's instance on the server (GET /instances/{id}) before storing it again"
    return "look at the server's state (and GET /jobs) before trying again"


def translate_exception(
    settings: Settings, method: str, route: str, exc: Exception, *, reached: bool = False
) -> OrthancError:
    """Turn an httpx transport failure into a typed, secret-free error.

    A request that may have changed the server (not :func:`replay_safe`)
    and may have reached it (``reached``) gives :class:`OutcomeUnknown`:
    it was not sent again, and the message says how to check.
    """
    where = f"{method} {settings.url}{route}"
    unknown = reached and not replay_safe(method, route)
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__
        if unknown and not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return Timeout(
                f"{where} timed out ({kind}) after the request was sent: the server may "
                f"have carried it out, so it was not sent again; {how_to_check(method, route)}. "
                "For long operations raise the client's timeout, or run them as jobs."
            )
        return Timeout(
            f"{where} timed out ({kind}). The server may be busy with a long operation: "
            "raise the client's timeout, or run the operation as a job."
        )
    if unknown and isinstance(exc, httpx.TransportError):
        return OutcomeUnknown(
            f"The connection broke during {where} after the request was sent "
            f"({_short(exc)}): the server may or may not have carried it out, so it was "
            f"not sent again. The outcome is unknown: {how_to_check(method, route)}.",
            method=method,
            route=route,
        )
    if isinstance(exc, httpx.ConnectError):
        return ConnectionError(
            f"Cannot connect to the Orthanc server for {where}: {_short(exc)}. "
            "Check that the server is running and that the URL and port are right."
        )
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return ConnectionError(
            f"The connection broke during {where}: {_short(exc)}. "
            "The server may have restarted or closed the connection; try again."
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConfigurationError(f"Unsupported URL for {where}: {_short(exc)}.")
    return ConnectionError(f"{where} failed: {type(exc).__name__}: {_short(exc)}")


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "..."


def interpret_response(method: str, route: str, response: httpx.Response) -> Any:
    """The Python value of a successful answer, or raise the typed error.

    JSON answers are parsed; ``text/*`` answers are returned as ``str``;
    any other media type as ``bytes``. An empty body gives ``None``.
    """
    status = response.status_code
    if status >= 400:
        raise _http_error(method, route, response)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    body = response.content
    if content_type in _JSON_TYPES or content_type.endswith("+json"):
        if not body:
            return None
        try:
            return jsonlib.loads(body)
        except ValueError:
            raise OrthancError(
                f"{method} {route} answered with invalid JSON "
                f"(starts with {body[:80]!r}). Is this URL an Orthanc server?"
            ) from None
    if content_type.startswith("text/") or (not content_type and _looks_like_text(body)):
        return response.text if body else None
    return body


def _looks_like_text(body: bytes) -> bool:
    if not body:
        return True
    try:
        body[:512].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in body[:512]


def _http_error(method: str, route: str, response: httpx.Response) -> HTTPError:
    cls = error_class_for_status(response.status_code)
    body: Any = None
    fields: dict[str, Any] = {}
    try:
        body = response.json()
    except ValueError:
        text = response.text[:500] if response.content else ""
        body = text or None
        if text and not text.lstrip().startswith("<"):
            fields["details"] = text.strip()
    if isinstance(body, dict):
        code = body.get("OrthancStatus")
        fields = {
            "orthanc_code": code if isinstance(code, int) else None,
            "orthanc_error": body.get("OrthancError"),
            "message": body.get("Message"),
            "details": body.get("Details"),
        }
    return cls(response.status_code, method, route, body=body, **fields)


def log_request(method: str, route: str, status: int | str, elapsed_ms: float) -> None:
    """Log one request at DEBUG: method, route, status and time; never headers."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s -> %s (%.1f ms)", method, route, status, elapsed_ms)


# -- the seed's request arguments: file=, cookies=, comma lists ---------------

_HTTP_VERBS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"})


def file_body(file: str | os.PathLike[str] | None, data: Any) -> Any:
    """The raw body of a request given ``file=`` (a path whose bytes are sent) or ``data=``.

    Raises
    ------
    TypeError
        When ``file`` is not a path, or both ``file`` and ``data`` are given.
    ValueError
        When ``file`` names no readable file.
    """
    if file is None:
        return data
    if data is not None:
        raise TypeError("Give file= (a path whose bytes are sent) or data= (the bytes), not both.")
    if not isinstance(file, (str, os.PathLike)):
        raise TypeError(
            f"file must be a path (str or os.PathLike) whose bytes are sent, not "
            f"{type(file).__name__}; send bytes with data=."
        )
    path = os.fspath(file)
    if not os.path.isfile(path):
        raise ValueError(f"file={path!r} names no file; give the path of a DICOM or ZIP file.")
    with open(path, "rb") as handle:
        return handle.read()


def refuse_path_as_json(verb: str, json: Any) -> None:
    """Refuse a path given where the JSON body goes (the seed's ``POST(route, file)``).

    In the R package the second argument of ``POST``/``PUT`` is ``file``;
    here it is ``json``. A path there would be sent as a JSON string, so it
    is refused before anything is sent, with the Python way in the message.
    """
    if isinstance(json, os.PathLike) or (
        isinstance(json, str) and json and len(json) < 4096 and os.path.isfile(json)
    ):
        raise TypeError(
            f"{verb}'s second argument is the JSON body, and {os.fspath(json)!r} is a file: "
            f"to send the file's bytes, call {verb}(route, file=path) (the R package's "
            f"{verb}(route, file)); to send the text as JSON, pass json=str(...) of "
            "something that is not a file name."
        )


def body_and_headers(
    verb: str,
    json: Any,
    data: Any,
    file: str | os.PathLike[str] | None,
    headers: Headers,
    cookies: Mapping[str, str] | None,
) -> tuple[Any, Headers]:
    """The raw body and headers of a ``POST``/``PUT`` called with ``file=`` or ``cookies=``.

    Refuses a path given where the JSON body goes (:func:`refuse_path_as_json`),
    reads ``file`` (:func:`file_body`) and adds the cookies (:func:`with_cookies`).
    """
    refuse_path_as_json(verb, json)
    return file_body(file, data), with_cookies(headers, cookies)


def refuse_verb_as_route(route: Any) -> None:
    """Refuse the seed's ``stream(method, route)`` order (``stream(route, path)`` here)."""
    if isinstance(route, str) and route.upper() in _HTTP_VERBS:
        raise TypeError(
            f"stream() takes the route first and the file to write second: "
            f"stream(route, path, method={route.upper()!r}), not the R package's "
            f"stream({route!r}, route)."
        )


def with_cookies(headers: Headers, cookies: Mapping[str, str] | None) -> Headers:
    """``headers`` with a ``Cookie`` header holding ``cookies`` (added to any given)."""
    if not cookies:
        return headers
    if not isinstance(cookies, Mapping):
        raise TypeError(
            f"cookies must be a mapping of name to value, not {type(cookies).__name__}."
        )
    pairs = []
    for name, value in cookies.items():
        text = f"{name}={value}"
        if any(c in text for c in ";\r\n") or not str(name):
            raise ValueError(f"cookie {name!r} = {value!r} cannot be sent in a Cookie header.")
        pairs.append(text)
    merged = dict(headers or {})
    existing = next((k for k in merged if k.lower() == "cookie"), None)
    if existing is not None:
        pairs.insert(0, merged.pop(existing))
    merged["Cookie"] = "; ".join(pairs)
    return merged


def comma_list(values: Any, name: str) -> str | None:
    """A query value listing IDs, as Orthanc wants it (``a,b,c``).

    Accepts one ID, an already comma-separated string, resource objects
    (anything with an ``.id``) or an iterable of either.
    """
    if values is None:
        return None
    if isinstance(values, str):
        return values
    items = [values] if hasattr(values, "id") else list(values)
    ids = [item if isinstance(item, str) else getattr(item, "id", None) for item in items]
    named = [i for i in ids if isinstance(i, str) and i]
    if not named or len(named) != len(ids):
        raise ValueError(f"{name} must name Orthanc IDs (strings or resources), got {values!r}.")
    return ",".join(named)


def with_query(params: Params, **values: Any) -> Params:
    """``params`` with the given query values added (``None`` values are left out)."""
    given = {key: value for key, value in values.items() if value is not None}
    if not given:
        return params
    return {**(params or {}), **given}
