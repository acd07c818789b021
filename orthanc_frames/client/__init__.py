"""The Orthanc REST client: :class:`Orthanc` (blocking) and :class:`AsyncOrthanc` (asyncio).

This layer knows nothing of pandas. It offers one method per operation of
Orthanc's REST API, raw verbs for any route, one request core (auth,
retries, typed errors) shared by both clients, and :class:`Capabilities`.
"""

from __future__ import annotations

from ._core import InsecureTLSWarning
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
    "ServerError",
    "Timeout",
    "Unauthorized",
    "UnsupportedByServer",
]
