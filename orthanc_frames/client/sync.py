"""The blocking client, :class:`Orthanc`."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .._parallel import DEFAULT_WORKERS
from ..levels import LEVEL_NAMES
from . import _core
from ._base import ClientBase, PartialFile
from .capabilities import Capabilities
from .generated import OrthancRestMethods

if TYPE_CHECKING:
    from ..frames import Frames

__all__ = ["Orthanc"]


class Orthanc(ClientBase, OrthancRestMethods):
    """A client for one Orthanc server's REST API.

    Every operation of Orthanc's REST API is a method named
    ``{verb}_{path}`` (``get_system()``, ``post_tools_find(json=...)``,
    ``get_instances_id_attachments_name_md5(id, name)``); the raw verbs
    :meth:`GET`, :meth:`POST`, :meth:`PUT`, :meth:`DELETE` and :meth:`stream`
    reach any route, plugin routes included. JSON answers come back parsed,
    text as ``str``, anything else as ``bytes``.

    Parameters
    ----------
    url : str
        The server's REST API root, e.g. ``"http://127.0.0.1:8042"``.
        Credentials in the URL (``http://user:pass@host``) are used and
        removed from it.
    username, password : str, optional
        HTTP basic authentication.
    token : str, optional
        A bearer token (``Authorization: Bearer ...``), instead of basic auth.
    headers : mapping, optional
        Extra headers sent with every request.
    timeout : float, (connect, read) tuple or httpx.Timeout, optional
        Seconds to wait for the server (default 60; connecting: at most 10).
        ``None`` waits for ever once connected.
    retries : int, optional
        How often to retry a request that failed before reaching the server
        (refused, stale keep-alive connection), for any method; and, for
        requests that are harmless to repeat (GET, PUT, DELETE and the
        read-only POSTs such as ``/tools/find``), a network failure or a
        502/503/504 answer. Any other request whose answer was lost after
        it was sent is never sent again: it raises :class:`OutcomeUnknown`,
        which says how to check. Backoff doubles from 0.1 s.
    verify : bool or str, optional
        Verify TLS certificates (default), or a CA bundle path. ``False``
        turns verification off and warns.
    pool_size : int, optional
        Connections kept open at most; size thread pools to it (default 16).
    transport : httpx.BaseTransport, optional
        A custom transport (proxies, tests that inject faults).

    Examples
    --------
    Here ``c`` is a client of the test server (a real Orthanc on a free port):

    >>> c = Orthanc("http://127.0.0.1:8042", username="orthanc", password="orthanc")  # doctest: +SKIP
    >>> c.capabilities.version  # doctest: +ELLIPSIS
    '1...'
    >>> c.get_patients()  # doctest: +ELLIPSIS
    ['...', ...]
    """

    def __init__(
        self,
        url: str = _core.DEFAULT_URL,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        headers: _core.Headers = None,
        timeout: _core.TimeoutSpec = _core.DEFAULT_TIMEOUT,
        retries: int = _core.DEFAULT_RETRIES,
        verify: bool | str = True,
        *,
        pool_size: int = _core.DEFAULT_POOL_SIZE,
        keepalive_expiry: float = _core.DEFAULT_KEEPALIVE_EXPIRY,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = _core.make_settings(
            url,
            username=username,
            password=password,
            token=token,
            headers=headers,
            timeout=timeout,
            retries=retries,
            verify=verify,
            pool_size=pool_size,
            keepalive_expiry=keepalive_expiry,
        )
        self._http = httpx.Client(**self._settings.httpx_kwargs(), transport=transport)
        self.retry_count = 0
        """How many retries this client has made so far (for diagnostics)."""

    @classmethod
    def _from_settings(cls, settings: _core.Settings) -> Orthanc:
        """A client with the settings of another one (its own connection pool)."""
        client = cls.__new__(cls)
        client._settings = settings
        client._http = httpx.Client(**settings.httpx_kwargs())
        client.retry_count = 0
        return client

    @classmethod
    def from_env(cls, **overrides: Any) -> Orthanc:
        """A client configured from the environment.

        Reads ``ORTHANC_URL`` (default ``http://127.0.0.1:8042``),
        ``ORTHANC_USERNAME``, ``ORTHANC_PASSWORD``, ``ORTHANC_TOKEN`` and
        ``ORTHANC_VERIFY`` (``false`` turns TLS verification off).

        Parameters
        ----------
        **overrides
            Any argument of :class:`Orthanc`; it wins over the environment.

        Returns
        -------
        Orthanc

        Examples
        --------
        With ``ORTHANC_URL=https://pacs.example.org`` and ``ORTHANC_TOKEN`` set
        (a remote server: not run in the tests):

        >>> c = Orthanc.from_env(timeout=10)  # doctest: +SKIP
        >>> c  # doctest: +SKIP
        Orthanc('https://pacs.example.org', token=***)
        """
        return cls(**_core.settings_from_env(**overrides))

    # -- the request loop (its decisions: _core.RetryLoop) -------------------

    def _request(
        self,
        method: str,
        route: str,
        *,
        params: _core.Params = None,
        json: Any = None,
        data: Any = None,
        headers: _core.Headers = None,
    ) -> Any:
        method = method.upper()
        route, query = self._prepare(route, params)
        replayable = _core.retryable_body(data)
        for attempt in _core.RetryLoop(self._settings, method, route, body_replayable=replayable):
            self._wait_before(attempt)
            with attempt:
                response = self._http.request(
                    method,
                    route,
                    params=query,
                    json=json,
                    content=data,
                    headers=headers,
                    extensions={"trace": attempt.trace.hook},
                )
                if not attempt.retry_after(response):
                    return _core.interpret_response(method, route, response)
        raise AssertionError("unreachable: a RetryLoop never ends")  # pragma: no cover

    def _wait_before(self, attempt: _core.Attempt) -> None:
        if attempt.delay is not None:
            self.retry_count += 1
            time.sleep(attempt.delay)

    # -- raw verbs -----------------------------------------------------------

    def GET(
        self,
        route: str,
        params: _core.Params = None,
        headers: _core.Headers = None,
        cookies: Mapping[str, str] | None = None,
    ) -> Any:
        """Send ``GET route`` (any route, plugin routes included).

        Parameters
        ----------
        route : str
            A path on the server, e.g. ``"/patients"`` or ``"/dicom-web/studies"``.
        params : mapping, optional
            Query parameters; ``True``/``False`` are sent as ``true``/``false``.
        headers : mapping, optional
            Extra headers for this request.
        cookies : mapping, optional
            Cookies for this request, name to value (sent as a ``Cookie`` header).

        Returns
        -------
        object
            Parsed JSON, ``str`` for a text answer, ``bytes`` otherwise
            (``None`` for an empty body).

        Raises
        ------
        HTTPError
            ``NotFound``, ``Unauthorized``, ``BadRequest``... with Orthanc's reason.
        ConnectionError, Timeout
            When the server cannot be reached or does not answer in time.
        """
        headers = _core.with_cookies(headers, cookies)
        return self._request("GET", route, params=params, headers=headers)

    def POST(
        self,
        route: str,
        json: Any = None,
        data: bytes | str | None = None,
        params: _core.Params = None,
        headers: _core.Headers = None,
        cookies: Mapping[str, str] | None = None,
        *,
        file: str | os.PathLike[str] | None = None,
    ) -> Any:
        """Send ``POST route`` with a JSON body (``json=``) or raw bytes (``data=``).

        Failures before the request reached the server are retried. After
        that, only the read-only POSTs (``/tools/find``,
        ``/tools/count-resources``, ``/tools/lookup``,
        ``/tools/bulk-content``...) are retried on a network failure or a
        502/503/504 answer; any other POST whose answer was lost raises
        :class:`OutcomeUnknown` instead of being sent twice.

        Parameters
        ----------
        route : str
            A path on the server, e.g. ``"/tools/find"``.
        json : object, optional
            A body sent as JSON.
        data : bytes or str, optional
            A raw body (a DICOM file, a label value...), instead of ``json``.
        params : mapping, optional
            Query parameters.
        headers : mapping, optional
            Extra headers for this request.
        cookies : mapping, optional
            Cookies for this request, name to value.
        file : path-like, optional
            A file whose bytes are the body (a DICOM file, a ZIP), instead of
            ``data`` (the R package's ``file``). A path given as the second
            argument, where the JSON body goes, is refused with a
            ``TypeError`` that says to use ``file=``.

        Returns
        -------
        object
            Parsed JSON, ``str`` for a text answer, ``bytes`` otherwise.

        Raises
        ------
        OutcomeUnknown
            The request was sent and its answer lost: it may have been
            carried out, and was not sent again.
        """
        data, headers = _core.body_and_headers("POST", json, data, file, headers, cookies)
        return self._request("POST", route, params=params, json=json, data=data, headers=headers)

    def PUT(
        self,
        route: str,
        json: Any = None,
        data: bytes | str | None = None,
        params: _core.Params = None,
        headers: _core.Headers = None,
        cookies: Mapping[str, str] | None = None,
        *,
        file: str | os.PathLike[str] | None = None,
    ) -> Any:
        """Send ``PUT route`` with a JSON body (``json=``) or raw bytes (``data=``).

        Parameters
        ----------
        route : str
            A path on the server, e.g. ``"/tools/find"``.
        json : object, optional
            A body sent as JSON.
        data : bytes or str, optional
            A raw body (a DICOM file, a label value...), instead of ``json``.
        params : mapping, optional
            Query parameters.
        headers : mapping, optional
            Extra headers for this request.
        cookies : mapping, optional
            Cookies for this request, name to value.
        file : path-like, optional
            A file whose bytes are the body (a DICOM file, a ZIP), instead of
            ``data`` (the R package's ``file``). A path given as the second
            argument, where the JSON body goes, is refused with a
            ``TypeError`` that says to use ``file=``.

        Returns
        -------
        object
            Parsed JSON, ``str`` for a text answer, ``bytes`` otherwise.
        """
        data, headers = _core.body_and_headers("PUT", json, data, file, headers, cookies)
        return self._request("PUT", route, params=params, json=json, data=data, headers=headers)

    def DELETE(
        self,
        route: str,
        params: _core.Params = None,
        headers: _core.Headers = None,
        cookies: Mapping[str, str] | None = None,
    ) -> Any:
        """Send ``DELETE route``.

        Parameters
        ----------
        route : str
            A path on the server, e.g. ``"/patients/{id}"``.
        params, headers : mapping, optional
            Query parameters and extra headers.
        cookies : mapping, optional
            Cookies for this request, name to value.

        Returns
        -------
        object
            Orthanc's answer, usually an empty JSON object.
        """
        headers = _core.with_cookies(headers, cookies)
        return self._request("DELETE", route, params=params, headers=headers)

    def stream(
        self,
        route: str,
        path: str | os.PathLike[str],
        *,
        method: str = "GET",
        params: _core.Params = None,
        json: Any = None,
        headers: _core.Headers = None,
        cookies: Mapping[str, str] | None = None,
        chunk_size: int = 1 << 20,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Path:
        """Write the answer's body to ``path`` without holding it in memory.

        The body goes to a temporary file beside ``path`` that is renamed to
        ``path`` only once complete: an interrupted download leaves no
        partial file under the final name.

        Parameters
        ----------
        route : str
            e.g. ``"/studies/{id}/archive"``.
        path : path-like
            Where to write the file; parent folders are created.
        method : str
            ``"GET"`` (default) or ``"POST"`` (with ``json=``). The R
            package's ``stream(method, route)`` order is refused with a
            ``TypeError`` that shows this one.
        cookies : mapping, optional
            Cookies for this request, name to value.
        on_bytes : callable, optional
            Called with the size of every chunk written (for progress bars).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        _core.refuse_verb_as_route(route)
        headers = _core.with_cookies(headers, cookies)
        method = method.upper()
        route, query = self._prepare(route, params)
        for attempt in _core.RetryLoop(self._settings, method, route, body_replayable=True):
            self._wait_before(attempt)
            with (
                attempt,
                self._http.stream(
                    method,
                    route,
                    params=query,
                    json=json,
                    headers=headers,
                    extensions={"trace": attempt.trace.hook},
                ) as response,
            ):
                if attempt.retry_after(response):
                    continue
                if response.status_code >= 400:
                    response.read()
                    _core.interpret_response(method, route, response)
                with PartialFile(path, on_bytes) as target:
                    for chunk in response.iter_bytes(chunk_size):
                        target.write(chunk)
                return target.path
        raise AssertionError("unreachable: a RetryLoop never ends")  # pragma: no cover

    # -- server facts --------------------------------------------------------

    @functools.cached_property
    def capabilities(self) -> Capabilities:
        """What this server can do (version, labels, extended find, plugins); read once.

        Reads ``GET /system`` on first use; the plugin list (``GET /plugins``)
        is read only when ``capabilities.plugins`` is first needed, so that
        loading frames and finding resources depend on ``/system`` alone.
        """
        system = self.GET("/system")
        return Capabilities.from_system(system, read_plugins=self._read_plugins)

    def _read_plugins(self) -> list[str]:
        return list(self.GET("/plugins") or [])

    @property
    def version(self) -> str:
        """Orthanc's version, e.g. ``"1.12.7"``."""
        return self.capabilities.version

    @property
    def api_version(self) -> int:
        """The REST API version of the server."""
        return self.capabilities.api_version

    def _count(self, field: str) -> int:
        return int(self.GET("/statistics")[field])

    @property
    def num_patients(self) -> int:
        """How many patients the server stores now."""
        return self._count("CountPatients")

    @property
    def num_studies(self) -> int:
        """How many studies the server stores now."""
        return self._count("CountStudies")

    @property
    def num_series(self) -> int:
        """How many series the server stores now."""
        return self._count("CountSeries")

    @property
    def num_instances(self) -> int:
        """How many instances the server stores now."""
        return self._count("CountInstances")

    # -- frames --------------------------------------------------------------

    def frames(
        self,
        query: Mapping[str, Any] | None = None,
        labels: Sequence[str] | str | None = None,
        labels_constraint: str = "All",
        tags: Mapping[str, Iterable[str]] | None = None,
        levels: Iterable[str] = LEVEL_NAMES,
        workers: int = DEFAULT_WORKERS,
        progress: bool | None = None,
        *,
        labels_level: str = "study",
    ) -> Frames:
        """This server as four linked pandas DataFrames (see :meth:`Frames.load`).

        Parameters
        ----------
        query : mapping, optional
            DICOM keyword -> Orthanc pattern, run on the server, e.g.
            ``{"StudyDate": "20200101-20201231", "Modality": "CT"}``.
        labels : list of str, optional
            Keep only resources carrying these labels (studies by default).
        labels_constraint : {"All", "Any", "None"}
            How ``labels`` combine.
        tags : mapping, optional
            Level -> extra DICOM keywords, e.g. ``{"series": ["SliceThickness"]}``.
        levels : iterable of str
            Levels loaded now; the others load on first access.
        workers : int
            Requests in flight at once (at most the client's ``pool_size``).
        progress : bool or None
            Progress bar (None: shown when interactive).
        labels_level : {"patient", "study", "series", "instance"}
            The level ``labels`` apply to (see :meth:`Frames.load`).

        Returns
        -------
        orthanc_frames.Frames
            ``f.patients``, ``f.studies``, ``f.series``, ``f.instances``.

        Examples
        --------
        >>> f = c.frames(query={"Modality": "CT"}, tags={"series": ["SliceThickness"]})
        >>> added = f.series.query("SliceThickness <= 1.5").orthanc.add_label("thin")
        """
        # The one deliberate upward import of the client layer: lazy, so that
        # the client still imports (and works) without pandas.
        from ..frames import Frames

        return Frames.load(
            self,
            query=query,
            labels=labels,
            labels_constraint=labels_constraint,
            tags=tags,
            levels=levels,
            workers=workers,
            progress=progress,
            labels_level=labels_level,
        )

    # -- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> Orthanc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
