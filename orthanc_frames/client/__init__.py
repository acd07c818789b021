"""The Orthanc REST client: :class:`Orthanc` (blocking) and :class:`AsyncOrthanc` (asyncio).

This layer knows nothing of pandas. It offers one method per operation of
Orthanc's REST API, raw verbs for any route, one request core (auth,
retries, typed errors) shared by both clients, :class:`Capabilities`, the
one route builder :func:`route` and the name rules of :mod:`.names`.
"""

from __future__ import annotations

from ._core import InsecureTLSWarning, route
from .async_ import AsyncOrthanc, OrthancAsync
from .capabilities import Capabilities
from .errors import (
    BadRequest,
    ConfigurationError,
    ConnectionError,
    Forbidden,
    HTTPError,
    NotFound,
    OrthancError,
    OutcomeUnknown,
    ServerError,
    Timeout,
    Unauthorized,
    UnsupportedByServer,
)
from .sync import Orthanc

__all__ = [
    "AsyncOrthanc",
    "BadRequest",
    "Capabilities",
    "ConfigurationError",
    "ConnectionError",
    "Forbidden",
    "HTTPError",
    "InsecureTLSWarning",
    "NotFound",
    "Orthanc",
    "OrthancAsync",
    "OrthancError",
    "OutcomeUnknown",
    "ServerError",
    "Timeout",
    "Unauthorized",
    "UnsupportedByServer",
    "route",
]
