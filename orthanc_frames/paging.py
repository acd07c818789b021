"""Paging through ``/tools/find``: every matching resource, never a truncated answer.

This is the one place that pages through Orthanc's find. Everything that
lists resources in bulk (finds, frames, refresh) goes through
:func:`iter_find_pages`, whose request count grows with the number of
pages, never with the number of resources.

How Orthanc pages (measured on a real Orthanc 1.12.7)
-----------------------------------------------------
- ``LimitFindResults`` / ``LimitFindInstances`` cap EVERY answer of
  ``/tools/find``, with or without ``Limit``, with ``Expand``, with
  ``ResponseContent``, with or without ``OrderBy``: on a server limited to
  3, ``"Limit": 10`` still returns 3 rows, and a query without ``Limit``
  silently returns the first 3. Nothing in the answer says it was cut.
  So an answer is ``min(Limit, server cap)`` rows, and an answer shorter
  than asked does NOT mean the end: only an empty answer (or reaching the
  count of ``/tools/count-resources``) does. The cap is not readable over
  REST: :func:`iter_find_pages` splits the counted rows into windows
  (``workers`` read at once, in order) and reads each window in as many
  requests as the cap needs, so a capped server costs ``rows / cap``
  requests, spread over the workers, and an uncapped one a request per
  window.
- Without ``OrderBy``, the order is the index's internal order (insertion
  order) and is stable between requests: ``Since`` offsets over pages
  of 2 visit each of 36 instances exactly once, the same as with an
  ``OrderBy`` on ``LastUpdate``. ``OrderBy`` on a DICOM tag or metadata is
  not needed for stable pages and costs a sort on the server, so no
  ``OrderBy`` is sent unless asked. Resources stored WHILE paging land at
  the end of that order, which is why the paging continues past the
  count until a short page; resources deleted while paging shift later
  offsets (a resource can then be missed: re-run or use ``refresh``).
- ``ResponseContent`` accepts ``MainDicomTags``, ``Metadata``,
  ``Children``, ``Parent``, ``Labels``, ``Status``, ``IsStable``,
  ``Attachments`` (``IsProtected`` is refused with a 400 by 1.12.7).
  ``RequestedTags`` naming parents' main tags at instance level come from
  the index (no disk read).

Older servers (before 1.12.5: no ``ResponseContent``, no count) get
``Expand: true`` pages with ``Limit``/``Since``, read sequentially until
an EMPTY page, since a short page may only be the server's cap.

Without a filter, :func:`iter_list_pages` reads a whole level from its
list route (``GET /instances?expand&since=K&limit=N``) instead: on every
version, with the same rows as an ``Expand`` find. List routes are never
capped by ``LimitFindResults`` and ``/statistics`` counts the rows, so
pages are fetched in parallel and a short page is the end. On servers
without extended find (1.10, 1.11, and 1.12 on the PostgreSQL index
plugin) this is the cheapest way to every row: measured on the PostgreSQL
index at 20,000 instances, the list route answered the instance rows about
3x faster than ``Expand`` finds, and 5x faster than finds that also ask
the parents' UIDs as ``RequestedTags``; so parents are joined from the
upper levels instead (:mod:`orthanc_frames.frames.load`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ._parallel import bounded_workers, in_order
from ._progress import progress_bar
from .dicom_tags import check_keyword
from .levels import Level

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "LABELS_CONSTRAINTS",
    "RESPONSE_CONTENT",
    "checked_query",
    "count_resources",
    "find_all",
    "find_ids",
    "iter_find_pages",
    "iter_list_pages",
    "list_matchable",
    "orthanc_level",
    "parallel_page_size",
]

DEFAULT_PAGE_SIZE = 5000
"""Rows asked per page; a server's ``LimitFindResults`` may make pages smaller."""

MIN_PARALLEL_PAGE_SIZE = 500
MAX_PAGES_PER_WORKER = 4
"""Above ``DEFAULT_PAGE_SIZE * workers * MAX_PAGES_PER_WORKER`` rows, pages grow instead."""
T = TypeVar("T")
R = TypeVar("R")
_DONE: Any = object()
LABELS_CONSTRAINTS = ("All", "Any", "None")
RESPONSE_CONTENT = (
    "MainDicomTags",
    "Metadata",
    "Children",
    "Parent",
    "Labels",
    "Status",
    "IsStable",
    "IsProtected",
    "Attachments",
)
"""What a row may hold (``ResponseContent``, ``response-content``; Orthanc 1.12.5+)."""
_TAG_NAME = re.compile(r"[A-Za-z0-9]+|[0-9A-Fa-f]{4},[0-9A-Fa-f]{4}")


def parallel_page_size(rows: int, workers: int) -> int:
    """Rows per page when ``rows`` are read ``workers`` pages at a time.

    One page per worker, between :data:`MIN_PARALLEL_PAGE_SIZE` and
    :data:`DEFAULT_PAGE_SIZE` rows; past ``MAX_PAGES_PER_WORKER`` pages per
    worker the pages grow instead, so that the requests of a large archive
    stay few (at 4 workers: 4 pages for 20,000 rows, 16 for 200,000 or
    2,000,000). Measured at 20,000 instances, two or four pages per worker
    (parsed while the last are read) were no faster than one.

    >>> [parallel_page_size(n, 4) for n in (100, 20_000, 200_000, 2_000_000)]
    [500, 5000, 12500, 125000]
    """
    workers = max(1, int(workers))
    one_each = math.ceil(max(0, rows) / workers)
    size = min(DEFAULT_PAGE_SIZE, max(MIN_PARALLEL_PAGE_SIZE, one_each))
    return max(size, math.ceil(one_each / MAX_PAGES_PER_WORKER))


def orthanc_level(level: str) -> str:
    """Orthanc's name of a level: ``"study"``, ``"studies"`` or ``"Study"`` -> ``"Study"``.

    Raises
    ------
    TypeError, ValueError
        For anything that is not one of the four levels (see :meth:`Level.parse`).
    """
    return Level.parse(level).orthanc


def _find_body(
    client: Any,
    level: str,
    query: Mapping[str, Any] | None,
    labels: Sequence[str] | None,
    labels_constraint: str,
    case_sensitive: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Level": orthanc_level(level),
        "Query": checked_query(query),
    }
    if not case_sensitive:
        # Case-sensitive is Orthanc's default; /tools/count-resources (1.12.7)
        # refuses an explicit "CaseSensitive": true with a 400.
        body["CaseSensitive"] = False
    if labels:
        if isinstance(labels, str):
            labels = [labels]
        if labels_constraint not in LABELS_CONSTRAINTS:
            raise ValueError(
                f"labels_constraint must be one of {LABELS_CONSTRAINTS}, not {labels_constraint!r}."
            )
        client.capabilities.require_labels("Label filters")
        body["Labels"] = list(labels)
        body["LabelsConstraint"] = labels_constraint
    return body


def checked_query(query: Any, argument: str = "query") -> dict[str, str]:
    """``query`` as Orthanc wants it (DICOM keyword -> text), or a clear error first.

    Lists become a DICOM list match (``a\\b``); the check runs before any
    request.

    Raises
    ------
    TypeError
        When ``query`` is not a mapping (a ``"Modality=CT"`` string, say).
    UnknownKeywordError
        A :class:`ValueError` naming a key that is not a DICOM keyword.
    """
    if query is None:
        return {}
    if not isinstance(query, Mapping):
        example = ""
        if isinstance(query, str) and "=" in query:
            key, _, value = query.partition("=")
            example = f" such as {{{key.strip()!r}: {value.strip()!r}}}"
        raise TypeError(
            f"{argument} must be a mapping of DICOM keyword to value{example}, not "
            f"{type(query).__name__} {query!r:.80}."
        )
    return {check_keyword(argument, key): _query_value(value) for key, value in query.items()}


def list_matchable(value: Any) -> bool:
    """Whether one item of a DICOM list match (``a\\b``) finds exactly ``value``.

    An empty item matches everything, and a backslash or a wildcard
    (``*``, ``?``) in the value would be read as list or pattern syntax.
    """
    return isinstance(value, str) and bool(value) and not any(c in value for c in "\\*?")


def _query_value(value: Any) -> str:
    """A query value as Orthanc wants it: lists become a DICOM list match ``a\\b``."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return "\\".join(str(v) for v in value)
    return str(value)


def count_resources(
    client: Any,
    level: str,
    *,
    query: Mapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    labels_constraint: str = "All",
    case_sensitive: bool = True,
) -> int:
    """How many resources of ``level`` match, in one request.

    Uses ``/tools/count-resources`` (Orthanc 1.12.5+). Older servers have no
    such route: the IDs are paged through and counted instead.

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    query : mapping, optional
        DICOM keyword -> Orthanc find pattern (``"CT"``, ``"2020*"``,
        ``"20200101-20201231"``); a list means any of its values.
    labels : list of str, optional
        Only resources of ``level`` carrying these labels (Orthanc 1.12+).
    labels_constraint : {"All", "Any", "None"}
    case_sensitive : bool

    Returns
    -------
    int
    """
    body = _find_body(client, level, query, labels, labels_constraint, case_sensitive)
    if client.capabilities.has_extended_find:
        return int(client.POST("/tools/count-resources", json=body)["Count"])
    return sum(
        len(page)
        for page in iter_find_pages(
            client,
            level,
            query=query,
            labels=labels,
            labels_constraint=labels_constraint,
            case_sensitive=case_sensitive,
            ids_only=True,
        )
    )


def iter_find_pages(
    client: Any,
    level: str,
    *,
    query: Mapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    labels_constraint: str = "All",
    response_content: Sequence[str] | None = None,
    requested_tags: Sequence[str] | None = None,
    page_size: int | None = None,
    workers: int | None = None,
    case_sensitive: bool = True,
    ids_only: bool = False,
    order_by: Sequence[Mapping[str, str]] | None = None,
    progress: bool | None = False,
    since: int = 0,
    limit: int | None = None,
    count: int | None = None,
) -> Iterator[list[Any]]:
    """Yield every resource matching a find, one page (a list of rows) at a time.

    Never truncated by the server's ``LimitFindResults``/``LimitFindInstances``
    (see the module notes). Pages come in the server's stable order, each
    as soon as it (and those before it) arrived: a caller that stops
    iterating early stops the requests too, beyond the few pages fetched
    ahead.

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    query : mapping, optional
        DICOM keyword -> Orthanc find pattern; a list means any of its
        values (DICOM list matching, handy for UIDs). Filter on main DICOM
        tags: other tags make the server read every file, and Orthanc
        1.12.5+ then refuses paging.
    labels, labels_constraint
        Only resources of ``level`` carrying ``labels`` (``"All"`` of them,
        ``"Any"``, or ``"None"``). Raises
        :class:`~orthanc_frames.UnsupportedByServer` before Orthanc 1.12.
    response_content : list of str, optional
        Orthanc 1.12.5+: what each row holds (``"MainDicomTags"``,
        ``"Parent"``, ``"Labels"``, ``"Metadata"``, ``"Children"``,
        ``"IsStable"``, ``"Status"``, ``"Attachments"``). Default
        ``["MainDicomTags"]`` with extended find; without it (the
        PostgreSQL index), those named here. Servers before 1.12.5 answer
        ``Expand`` rows instead (main tags, parent, children, labels,
        ``IsStable``, ``LastUpdate``).
    requested_tags : list of str, optional
        Extra tags per row (``RequestedTags``; Orthanc 1.11+).
    page_size : int, optional
        Rows asked per page (default: :func:`parallel_page_size` of the
        rows wanted and ``workers``). A server's cap makes the
        requests smaller; a page is then filled by several requests.
    workers : int, optional
        Pages fetched at once (Orthanc 1.12.5+; default
        :data:`~orthanc_frames._parallel.DEFAULT_WORKERS`, at most the
        client's ``pool_size``): at most ``workers`` pages are fetched ahead
        of the one being consumed. Pages are still yielded in order.
    case_sensitive : bool
        Whether text patterns match case-sensitively (``CaseSensitive``).
    ids_only : bool
        Rows are Orthanc IDs (``str``) instead of dicts: the cheapest listing.
    order_by : list of dict, optional
        Orthanc 1.12.5+ ``OrderBy`` (e.g. ``[{"Type": "DicomTag", "Key":
        "StudyDate", "Direction": "ASC"}]``). Not needed for stable pages.
    progress : bool or None
        Show a progress bar over the rows (None: when interactive).
    since : int
        Skip this many matching resources first (in the same order); the
        server skips them, they are not read.
    limit : int, optional
        Yield at most this many rows in all (None: every match). Only the
        pages needed are asked for.
    count : int, optional
        How many resources match, when the caller already knows: saves
        the ``/tools/count-resources`` request (Orthanc 1.12.5+), and on
        older servers the request after a short page that reaches it.
        Pages are still read past it until a short answer, as with a
        counted find; an estimate too low can miss rows only on a server
        whose ``LimitFindResults`` lies between it and the true count.

    Yields
    ------
    list
        One page: dicts as Orthanc answers them, or IDs with ``ids_only``.

    Raises
    ------
    ValueError
        For an unknown level or labels constraint, or a negative ``since``
        or ``limit``.
    """
    since, limit = _check_window(since, limit)
    body = _find_body(client, level, query, labels, labels_constraint, case_sensitive)
    caps = client.capabilities
    if requested_tags:
        if not caps.at_least("1.11.0"):
            from .client.errors import UnsupportedByServer

            raise UnsupportedByServer(
                f"RequestedTags in /tools/find need Orthanc 1.11 or later; this server is "
                f"Orthanc {caps.version}. Ask for main DICOM tags only."
            )
        body["RequestedTags"] = list(requested_tags)
    if limit == 0:
        return
    if caps.has_extended_find:
        body["ResponseContent"] = [] if ids_only else list(response_content or ["MainDicomTags"])
        if order_by:
            body["OrderBy"] = [dict(o) for o in order_by]
        yield from _extended_pages(client, body, page_size, workers, progress, since, limit, count)
    elif not body["Query"] and "Labels" not in body and not requested_tags:
        # No filter: the list route, never capped (Orthanc 1.10 answers at most
        # LimitFindResults + 1 matches of a find, whatever ``Since`` says).
        yield from _sequential_list_pages(
            client,
            body["Level"],
            "" if ids_only else "expand",
            page_size or DEFAULT_PAGE_SIZE,
            since,
            limit,
            progress,
        )
    else:
        if response_content is not None and not ids_only and caps.has_response_content:
            # Orthanc 1.12.5+ on an index without extended find: the rows
            # asked for (a find of series' children this way costs the
            # PostgreSQL index a third of the same rows ``Expand``-ed).
            body["ResponseContent"] = list(response_content)
        elif not ids_only:
            body["Expand"] = True
        yield from _sequential_pages(
            client, body, page_size or DEFAULT_PAGE_SIZE, since, limit, progress, count
        )


def _check_window(since: int, limit: int | None) -> tuple[int, int | None]:
    since = int(since)
    if since < 0:
        raise ValueError(f"since must be 0 or more (rows to skip), not {since!r}.")
    if limit is not None:
        limit = int(limit)
        if limit < 0:
            raise ValueError(f"limit must be 0 or more (None: no limit), not {limit!r}.")
    return since, limit


def _fetch(client: Any, body: Mapping[str, Any], since: int, limit: int) -> list[Any]:
    page = client.POST("/tools/find", json={**body, "Since": since, "Limit": limit})
    return list(page or [])


@dataclass
class _Window:
    """Rows ``start`` to ``stop`` (exclusive) of a find, of which those before ``counted`` exist."""

    start: int
    stop: int
    counted: int


@dataclass
class _Answers:
    """The answers of the requests that read one window, and the server's cap if one showed."""

    pages: list[list[Any]]
    cap: int | None = None

    @property
    def rows(self) -> int:
        return sum(len(page) for page in self.pages)


def _fetch_window(client: Any, body: Mapping[str, Any], window: _Window) -> _Answers:
    """Read a window in as many requests as the server's cap needs (each answer kept apart).

    A short answer before ``window.counted`` is the server's cap (or
    resources that vanished meanwhile): the rest is asked again. An empty
    answer ends the window.
    """
    answers = _Answers([])
    position = window.start
    expected_end = min(window.stop, window.counted)
    while position < window.stop:
        asked = window.stop - position
        page = _fetch(client, body, position, asked)
        if not page:
            break
        answers.pages.append(page)
        position += len(page)
        if len(page) < asked:
            if position >= expected_end:
                break
            answers.cap = len(page)
    return answers


def _extended_pages(
    client: Any,
    body: dict[str, Any],
    page_size: int | None,
    workers: int | None,
    progress: bool | None,
    since: int,
    limit: int | None,
    count: int | None = None,
) -> Iterator[list[Any]]:
    if count is not None:
        total = max(0, int(count))
    else:
        count_body = {k: v for k, v in body.items() if k in ("Level", "Query", "CaseSensitive")}
        for key in ("Labels", "LabelsConstraint"):
            if key in body:
                count_body[key] = body[key]
        total = int(client.POST("/tools/count-resources", json=count_body)["Count"])
    wanted = max(0, total - since)
    if limit is not None:
        wanted = min(wanted, limit)
    workers = bounded_workers(workers, client)
    if page_size is None:
        page_size = parallel_page_size(wanted, workers)
    page_size = max(1, int(page_size))
    counted_end = since + wanted
    starts = range(since, counted_end, page_size)
    # The last window asks a whole page: a short answer then shows the end
    # (no extra request), a full one that resources were stored meanwhile.
    last_stop = counted_end if not starts else starts[-1] + page_size
    if limit is not None:
        last_stop = min(last_stop, since + limit)
    windows = [_Window(start, min(start + page_size, last_stop), counted_end) for start in starts]
    yielded = 0
    cap: int | None = None
    maybe_more = True  # no window: probe once
    with progress_bar(wanted, desc=f"{body['Level']} rows", enabled=progress) as bar:
        fetched = in_order(
            lambda window: _fetch_window(client, body, window),
            windows,
            workers=workers,
            client=client,
        )
        try:
            for window, answers in zip(windows, fetched, strict=True):
                cap = answers.cap or cap
                for page in answers.pages:
                    bar.update(len(page))
                    yielded += len(page)
                    yield page
                last = answers.pages[-1] if answers.pages else []
                full = answers.rows == window.stop - window.start
                maybe_more = full or (cap is not None and len(last) == cap)
        finally:
            fetched.close()
    if not maybe_more or (limit is not None and yielded >= limit):
        return
    # Resources stored while paging come after the counted ones.
    more = None if limit is None else limit - yielded
    yield from _sequential_pages(client, body, cap or page_size, since + yielded, more, None)


def _sequential_pages(
    client: Any,
    body: dict[str, Any],
    page_size: int,
    since: int,
    limit: int | None,
    progress: bool | None,
    count: int | None = None,
) -> Iterator[list[Any]]:
    """Pages one after another until an empty page (a short one may be the server's cap).

    ``count``: the matches the caller knows of; a short page that reaches
    it is the end (as with a counted find, see :func:`iter_find_pages`).
    """
    remaining = limit
    with progress_bar(limit, desc=f"{body['Level']} rows", enabled=progress) as bar:
        while remaining is None or remaining > 0:
            asked = page_size if remaining is None else min(page_size, remaining)
            page = _fetch(client, body, since, asked)
            if not page:
                return
            bar.update(len(page))
            yield page
            since += len(page)
            if remaining is not None:
                remaining -= len(page)
            if count is not None and len(page) < asked and since >= count:
                return


def _sequential_list_pages(
    client: Any,
    level_name: str,
    query: str,
    page_size: int,
    since: int,
    limit: int | None,
    progress: bool | None,
) -> Iterator[list[Any]]:
    """Pages of a list route one after another; a short page is the end (never capped)."""
    route = "/" + Level.parse(level_name).route
    remaining = limit
    with progress_bar(limit, desc=f"{level_name} rows", enabled=progress) as bar:
        while remaining is None or remaining > 0:
            asked = page_size if remaining is None else min(page_size, remaining)
            page = _list_page(client, route, query, since, asked)
            if page:
                bar.update(len(page))
                yield page
            if len(page) < asked:
                return
            since += len(page)
            if remaining is not None:
                remaining -= len(page)


def iter_list_pages(
    client: Any,
    level: str,
    *,
    page_size: int | None = None,
    workers: int | None = None,
    progress: bool | None = False,
    response_content: Sequence[str] | None = None,
    requested_tags: Sequence[str] | None = None,
    count: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Yield every resource of a level from its list route, expanded, one page at a time.

    ``GET /{level}?expand&since=K&limit=N``: the rows of an ``Expand``
    find without a filter, on every Orthanc version. The route is not
    capped by ``LimitFindResults``; the rows are counted first
    (``/statistics``) and the pages fetched ``workers`` at a time, yielded
    in the server's order. Paging goes on past the count until a short page
    (resources stored meanwhile).

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    page_size : int, optional
        Rows per request (default: :func:`parallel_page_size` of the rows
        counted and ``workers``).
    workers : int
        Pages fetched at once.
    progress : bool or None
        Show a progress bar over the rows (None: when interactive).
    response_content : list of str, optional
        What each row holds instead of the ``expand`` row (names of
        :data:`RESPONSE_CONTENT`; Orthanc 1.12.5+, whatever its index:
        a database without extended find answers them too).
    requested_tags : list of str, optional
        Extra tags per row, by keyword or ``"gggg,eeee"`` (Orthanc 1.12.5+
        here; ask older servers through :func:`iter_find_pages`).
    count : int, optional
        The rows on the server, when the caller already knows them (from
        ``/statistics``): saves that request.

    Yields
    ------
    list of dict
        One page of rows as Orthanc answers them.

    Raises
    ------
    ValueError
        A ``response_content`` or tag name Orthanc does not know.
    UnsupportedByServer
        ``response_content`` or ``requested_tags`` before Orthanc 1.12.5.

    Notes
    -----
    Lists of ``response-content`` and ``requested-tags`` are joined by
    ``;``, which is sent as it is: Orthanc refuses it percent-encoded.
    """
    name = orthanc_level(level)
    route = "/" + Level.parse(name).route
    query = _list_query(client, response_content, requested_tags)
    if count is None:
        count = client.GET("/statistics")["Count" + Level.parse(name).route.capitalize()]
    total = int(count)
    workers = bounded_workers(workers, client)
    if page_size is None:
        page_size = parallel_page_size(total, workers)
    page_size = max(1, int(page_size))

    def fetch(since: int) -> list[dict[str, Any]]:
        return _list_page(client, route, query, since, page_size)

    # The counted rows and one page more: a short last page shows the end.
    starts = list(range(0, total + 1, page_size))
    with progress_bar(total, desc=f"{name} rows", enabled=progress) as bar:
        fetched = in_order(fetch, starts, workers=workers)
        position = 0
        try:
            for page in fetched:
                position += len(page)
                if page:
                    bar.update(len(page))
                    yield page
                if len(page) < page_size:
                    return
        finally:
            fetched.close()
    # Stored while paging: past the count, one page after another.
    yield from _sequential_list_pages(client, name, query, page_size, position, None, None)


def _list_query(
    client: Any, response_content: Sequence[str] | None, requested_tags: Sequence[str] | None
) -> str:
    """The query of an expanded list route, lists joined by a bare ``;``."""
    parts = ["expand"]
    if response_content is not None:
        if isinstance(response_content, str):
            raise TypeError(f"response_content must be a list of names, not {response_content!r}.")
        for item in response_content:
            if item not in RESPONSE_CONTENT:
                raise ValueError(
                    f"response_content holds {item!r}; Orthanc knows {', '.join(RESPONSE_CONTENT)}."
                )
        parts.append("response-content=" + ";".join(response_content))
    if requested_tags:
        if isinstance(requested_tags, str):
            raise TypeError(f"requested_tags must be a list of tags, not {requested_tags!r}.")
        for tag in requested_tags:
            if not isinstance(tag, str) or not _TAG_NAME.fullmatch(tag):
                raise ValueError(
                    f"requested_tags holds {tag!r}: give DICOM keywords or 'gggg,eeee' tags."
                )
        parts.append("requested-tags=" + ";".join(requested_tags))
    if len(parts) > 1 and not client.capabilities.has_response_content:
        from .client.errors import UnsupportedByServer

        raise UnsupportedByServer(
            "response-content and requested-tags on list routes need Orthanc 1.12.5 or later; "
            f"this server is Orthanc {client.capabilities.version}."
        )
    return "&".join(parts)


def _list_page(client: Any, route: str, query: str, since: int, limit: int) -> list[Any]:
    """One page of a list route (the query as :func:`_list_query` wrote it)."""
    window = "since=" + str(int(since)) + "&limit=" + str(int(limit))
    return list(client.GET(route + "?" + (query + "&" if query else "") + window) or [])


def find_all(client: Any, level: str, **kwargs: Any) -> list[Any]:
    """Every row of :func:`iter_find_pages` (same parameters), as one list."""
    return [row for page in iter_find_pages(client, level, **kwargs) for row in page]


def find_ids(client: Any, level: str, **kwargs: Any) -> list[str]:
    """The Orthanc IDs of every matching resource (same parameters as :func:`iter_find_pages`)."""
    rows = find_all(client, level, ids_only=True, **kwargs)
    return [str(row["ID"]) if isinstance(row, dict) else str(row) for row in rows]
