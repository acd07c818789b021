"""The request core shared by :class:`Orthanc` and :class:`AsyncOrthanc`.

Everything that does not depend on whether the I/O is blocking lives here,
once: validating settings, building requests, deciding whether a failure
is worth a retry (and after how long), turning answers into Python values
and failures into typed errors. The sync and async clients only run the
loop around ``send``.
"""

from __future__ import annotations

import base64
import json as jsonlib
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from .errors import (
    ConfigurationError,
    ConnectionError,
    HTTPError,
    OrthancError,
    Timeout,
    error_class_for_status,
)

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
    try:
        parts = urlsplit(url)
        if parts.password is not None or parts.username is not None:
            netloc = parts.netloc.rsplit("@", 1)[-1]
            return urlunsplit((parts.scheme, "***@" + netloc, parts.path, "", ""))
    except ValueError:
        if "@" in url:
            return "***@" + url.rsplit("@", 1)[-1]
    return url


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
    """A route relative to the server's base URL, always with one leading '/'."""
    if not isinstance(route, str):
        raise TypeError(f"route must be a string like '/patients', not {route!r}")
    if route.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"Routes are paths on the server, like '/patients', not full URLs ({route!r})."
        )
    return "/" + route.lstrip("/")


def quote_segment(value: Any) -> str:
    """URL-quote one path segment (an ID, a label, an attachment name)."""
    return quote(str(value), safe="")


def retryable_body(data: Any) -> bool:
    """Whether a request body can be sent again (bytes can, a stream cannot)."""
    return data is None or isinstance(data, (bytes, bytearray, str))


def retry_delay_after_exception(
    settings: Settings, method: str, attempt: int, exc: Exception, *, body_replayable: bool
) -> float | None:
    """Seconds to wait before trying again after a transport failure, or None to give up.

    Failures that happened before the request reached the server (refused,
    connect timeout, a stale pooled connection that the server had closed)
    are retried for every method. Failures after the request was sent are
    retried only for idempotent methods.
    """
    if attempt >= settings.retries or not body_replayable:
        return None
    if isinstance(exc, httpx.TransportError) and (
        _failed_before_sending(exc) or method in IDEMPOTENT_METHODS
    ):
        return settings.backoff * (2**attempt)
    return None


def retry_delay_after_status(
    settings: Settings,
    method: str,
    attempt: int,
    response: httpx.Response,
    *,
    body_replayable: bool,
) -> float | None:
    """Seconds to wait before retrying a 502/503/504 answer, or None."""
    if response.status_code not in RETRY_STATUSES or attempt >= settings.retries:
        return None
    if not body_replayable or method not in IDEMPOTENT_METHODS:
        return None
    retry_after = response.headers.get("Retry-After", "")
    if retry_after.isdigit():
        return min(float(retry_after), 30.0)
    return settings.backoff * (2**attempt)


def _failed_before_sending(exc: Exception) -> bool:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True
    # A keep-alive connection that the server closed while idle: the request
    # met a closed socket, and nothing of it was processed.
    if isinstance(exc, httpx.RemoteProtocolError):
        return "without sending a response" in str(exc) or "Server disconnected" in str(exc)
    return False


def translate_exception(
    settings: Settings, method: str, route: str, exc: Exception
) -> OrthancError:
    """Turn an httpx transport failure into a typed, secret-free error."""
    where = f"{method} {settings.url}{route}"
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__
        return Timeout(
            f"{where} timed out ({kind}). The server may be busy with a long operation: "
            "raise the client's timeout, or run the operation as a job."
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
