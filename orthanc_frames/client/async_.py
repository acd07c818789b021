"""The asyncio client, :class:`AsyncOrthanc`: the same API as :class:`Orthanc`, awaited."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .._parallel import DEFAULT_WORKERS
from ..levels import LEVEL_NAMES
from . import _core
from ._base import ClientBase, PartialFile
from .capabilities import Capabilities
from .generated import AsyncOrthancRestMethods

if TYPE_CHECKING:
    from ..frames import Frames

__all__ = ["AsyncOrthanc", "OrthancAsync"]


class AsyncOrthanc(ClientBase, AsyncOrthancRestMethods):
    """An asyncio client for one Orthanc server; see :class:`Orthanc` for the parameters.

    Every REST method of :class:`Orthanc` exists here as a coroutine, and
    the request core (auth, retries, errors) is the same.

    Examples
    --------
    Top-level ``await`` (Jupyter, ``python -m asyncio``) cannot run in a doctest:

    >>> async with AsyncOrthanc("http://127.0.0.1:8042") as ac:  # doctest: +SKIP
    ...     system = await ac.get_system()
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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._http = httpx.AsyncClient(**self._settings.httpx_kwargs(), transport=transport)
        self._capabilities: Capabilities | None = None
        self.retry_count = 0

    @classmethod
    def _from_settings(cls, settings: _core.Settings) -> AsyncOrthanc:
        """A client with the settings of another one (its own connection pool)."""
        client = cls.__new__(cls)
        client._settings = settings
        client._http = httpx.AsyncClient(**settings.httpx_kwargs())
        client._capabilities = None
        client.retry_count = 0
        return client

    @classmethod
    def from_env(cls, **overrides: Any) -> AsyncOrthanc:
        """A client configured from ``ORTHANC_URL`` and friends (see :meth:`Orthanc.from_env`)."""
        return cls(**_core.settings_from_env(**overrides))

    async def _request(
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
            await self._wait_before(attempt)
            with attempt:
                response = await self._http.request(
                    method,
                    route,
                    params=query,
                    json=json,
                    content=data,
                    headers=headers,
                    extensions={"trace": attempt.trace.ahook},
                )
                if not attempt.retry_after(response):
                    return _core.interpret_response(method, route, response)
        raise AssertionError("unreachable: a RetryLoop never ends")  # pragma: no cover

    async def _wait_before(self, attempt: _core.Attempt) -> None:
        if attempt.delay is not None:
            self.retry_count += 1
            await asyncio.sleep(attempt.delay)

    async def GET(
        self,
        route: str,
        params: _core.Params = None,
        headers: _core.Headers = None,
        cookies: Mapping[str, str] | None = None,
    ) -> Any:
        """``GET route``: parsed JSON, ``str`` for text, ``bytes`` otherwise."""
        headers = _core.with_cookies(headers, cookies)
        return await self._request("GET", route, params=params, headers=headers)

    async def POST(
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
        """``POST route`` with a JSON body (``json=``), raw bytes (``data=``) or a file's bytes
        (``file=``); see :meth:`Orthanc.POST`."""
        data, headers = _core.body_and_headers("POST", json, data, file, headers, cookies)
        return await self._request(
            "POST", route, params=params, json=json, data=data, headers=headers
        )

    async def PUT(
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
        """``PUT route`` with a JSON body (``json=``), raw bytes (``data=``) or a file's bytes
        (``file=``); see :meth:`Orthanc.PUT`."""
        data, headers = _core.body_and_headers("PUT", json, data, file, headers, cookies)
        return await self._request(
            "PUT", route, params=params, json=json, data=data, headers=headers
        )

    async def DELETE(
        self,
        route: str,
        params: _core.Params = None,
        headers: _core.Headers = None,
        cookies: Mapping[str, str] | None = None,
    ) -> Any:
        """``DELETE route``."""
        headers = _core.with_cookies(headers, cookies)
        return await self._request("DELETE", route, params=params, headers=headers)

    async def stream(
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
        """Write the answer's body to ``path`` without holding it in memory
        (see :meth:`Orthanc.stream`)."""
        _core.refuse_verb_as_route(route)
        headers = _core.with_cookies(headers, cookies)
        method = method.upper()
        route, query = self._prepare(route, params)
        for attempt in _core.RetryLoop(self._settings, method, route, body_replayable=True):
            await self._wait_before(attempt)
            with attempt:
                async with self._http.stream(
                    method,
                    route,
                    params=query,
                    json=json,
                    headers=headers,
                    extensions={"trace": attempt.trace.ahook},
                ) as response:
                    if attempt.retry_after(response):
                        continue
                    if response.status_code >= 400:
                        await response.aread()
                        _core.interpret_response(method, route, response)
                    with PartialFile(path, on_bytes) as target:
                        async for chunk in response.aiter_bytes(chunk_size):
                            target.write(chunk)
                    return target.path
        raise AssertionError("unreachable: a RetryLoop never ends")  # pragma: no cover

    async def get_capabilities(self, *, plugins: bool = False) -> Capabilities:
        """What this server can do (version, labels, extended find, plugins); read once.

        Parameters
        ----------
        plugins : bool
            Also read the plugin list (``GET /plugins``), once. Without it,
            only ``GET /system`` is read and ``capabilities.plugins`` asks
            for this call.
        """
        if self._capabilities is None:
            system = await self.GET("/system")
            self._capabilities = Capabilities.from_system(system, read_plugins=_plugins_unread)
        if plugins and not self._capabilities.plugins_known:
            names = await self.GET("/plugins")
            self._capabilities.set_plugins(names or [])
        return self._capabilities

    @property
    def api_version(self) -> Coroutine[Any, Any, int]:
        """The REST API version of the server: ``await ac.api_version``."""
        return self._api_version()

    async def _api_version(self) -> int:
        return (await self.get_capabilities()).api_version

    async def _count(self, field: str) -> int:
        return int((await self.GET("/statistics"))[field])

    @property
    def num_patients(self) -> Coroutine[Any, Any, int]:
        """How many patients the server stores now: ``await ac.num_patients``."""
        return self._count("CountPatients")

    @property
    def num_studies(self) -> Coroutine[Any, Any, int]:
        """How many studies the server stores now: ``await ac.num_studies``."""
        return self._count("CountStudies")

    @property
    def num_series(self) -> Coroutine[Any, Any, int]:
        """How many series the server stores now: ``await ac.num_series``."""
        return self._count("CountSeries")

    @property
    def num_instances(self) -> Coroutine[Any, Any, int]:
        """How many instances the server stores now: ``await ac.num_instances``."""
        return self._count("CountInstances")

    async def frames(
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
        """This server as four linked pandas DataFrames: ``f = await ac.frames(...)``.

        The same frames as :meth:`Orthanc.frames` (same arguments, same
        loader): the loader runs in a worker thread and every request it
        makes runs on this client's event loop, its pages fetched at once
        (``workers`` of them), so the loop stays free meanwhile. The frames
        keep a blocking :class:`Orthanc` with this client's settings for
        what comes later (lazy levels, ``refresh()``, ``df.orthanc``
        actions).

        Returns
        -------
        orthanc_frames.Frames
        """
        from ..frames import Frames
        from .sync import Orthanc

        on_loop = _OnLoop(self, asyncio.get_running_loop())
        frames = await asyncio.to_thread(
            Frames.load,
            on_loop,
            query=query,
            labels=labels,
            labels_constraint=labels_constraint,
            tags=tags,
            levels=levels,
            workers=workers,
            progress=progress,
            labels_level=labels_level,
        )
        frames.client = Orthanc._from_settings(self._settings)
        return frames

    @property
    def capabilities(self) -> Capabilities:
        """The capabilities, once :meth:`get_capabilities` has read them."""
        if self._capabilities is None:
            raise RuntimeError(
                "AsyncOrthanc.capabilities is read on first use: "
                "call `await client.get_capabilities()` first."
            )
        return self._capabilities

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncOrthanc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _plugins_unread() -> list[str]:
    raise RuntimeError(
        "AsyncOrthanc reads the plugin list on request: call "
        "`await client.get_capabilities(plugins=True)` first."
    )


OrthancAsync = AsyncOrthanc
"""The R package's name of :class:`AsyncOrthanc`."""


class _OnLoop:
    """A blocking face of an :class:`AsyncOrthanc` for code in a worker thread.

    Each request is run on the client's event loop and waited for by the
    calling thread, so blocking code (the frames loader, its thread pool of
    pages) sends its requests through the async client, at once.
    """

    def __init__(self, client: AsyncOrthanc, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def _wait(self, request: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(request, self._loop).result()

    @property
    def url(self) -> str:
        return self._client.url

    @property
    def pool_size(self) -> int:
        return self._client.pool_size

    @property
    def capabilities(self) -> Capabilities:
        capabilities: Capabilities = self._wait(self._client.get_capabilities())
        return capabilities

    def GET(self, route: str, params: _core.Params = None, headers: _core.Headers = None) -> Any:
        return self._wait(self._client.GET(route, params=params, headers=headers))

    def POST(self, route: str, json: Any = None, **keywords: Any) -> Any:
        return self._wait(self._client.POST(route, json, **keywords))
