"""What the sync and async clients share apart from the request core."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from .._html import html_card
from . import _core

__all__ = ["ClientBase", "PartialFile"]

C = TypeVar("C", bound="ClientBase")


class ClientBase:
    """Settings, repr and URL handling common to :class:`Orthanc` and :class:`AsyncOrthanc`."""

    _settings: _core.Settings

    @classmethod
    def _from_settings(cls: type[C], settings: _core.Settings) -> C:
        raise NotImplementedError

    def clone(self: C, deep: bool = False) -> C:
        """A new client with the same settings and its own connection pool.

        The R package's ``clone(deep = FALSE)``. ``deep`` is accepted for
        that form: a client holds nothing else to copy.
        """
        if not isinstance(deep, bool):
            raise TypeError(f"deep must be True or False, not {deep!r}.")
        return type(self)._from_settings(self._settings)

    @property
    def url(self) -> str:
        """The server's base URL, without credentials."""
        return self._settings.url

    @property
    def username(self) -> str | None:
        """The user name of basic authentication, if any."""
        return self._settings.username

    @property
    def pool_size(self) -> int:
        """How many connections the client keeps open at most (size thread pools to it)."""
        return self._settings.pool_size

    def __repr__(self) -> str:
        auth = ""
        if self._settings.username is not None:
            auth = f", username={self._settings.username!r}"
        elif self._settings.auth is not None:
            auth = ", token=***"
        return f"{type(self).__name__}({self._settings.url!r}{auth})"

    def _repr_html_(self) -> str:
        return html_card(
            type(self).__name__, self._settings.url, {"username": self._settings.username}
        )

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} holds open connections and credentials and cannot be "
            "pickled; create a new client in the other process (e.g. Orthanc.from_env())."
        )

    @staticmethod
    def _prepare(route: str, params: _core.Params) -> tuple[str, dict[str, Any] | None]:
        route = _core.normalize_route(route)
        query = _normalize_params(params)
        if query and any("," in str(value) for value in query.values()):
            # Orthanc splits comma lists (``resources=a,b``) before decoding
            # them: a ``%2C`` would make one unknown ID. Such a query is
            # written into the route with its commas kept.
            return f"{route}?{urlencode(query, doseq=True, safe=',', quote_via=quote)}", None
        return route, query


def _normalize_params(params: _core.Params) -> dict[str, Any] | None:
    if params is None:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif value is not None:
            out[key] = value
    return out


class PartialFile:
    """A file written under a temporary name in its target folder and renamed when complete.

    A reader never sees a half-written file under the final name, and an
    interrupted download leaves no file that a re-run would take as complete.
    As a context manager: renamed to :attr:`path` when the block ends
    normally, discarded when it raises (and the bytes reported to
    ``on_bytes`` are taken back, so a retried download counts once).
    """

    def __init__(
        self, path: str | os.PathLike[str], on_bytes: Callable[[int], None] | None = None
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent
        )
        self.tmp_path = Path(tmp)
        self.file = os.fdopen(fd, "wb")
        self.size = 0
        self._on_bytes = on_bytes

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.size += len(chunk)
        if self._on_bytes is not None:
            self._on_bytes(len(chunk))

    def commit(self) -> Path:
        self.file.close()
        os.replace(self.tmp_path, self.path)
        return self.path

    def discard(self) -> None:
        self.file.close()
        self.tmp_path.unlink(missing_ok=True)
        if self.size and self._on_bytes is not None:
            self._on_bytes(-self.size)

    def __enter__(self) -> PartialFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()
