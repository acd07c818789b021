"""Loading frames from a server: which finds to run, and rows -> typed DataFrames.

One :func:`~orthanc_frames.paging.iter_find_pages` stream per level (pages
fetched in parallel), so the request count grows with pages, never with
resources. On Orthanc 1.12.5+ each row comes with its main DICOM tags,
labels, metadata (``LastUpdate``, ``IndexInSeries``), parent, children and
attachments from the index in one SQL query per page. The direct parent
is the server's (``Parent``); the links above it follow the parent frame's
own links when that level is loaded too, and are otherwise computed from
the UIDs exactly as the server returned them (SHA-1, see
:mod:`orthanc_frames.orthanc_ids`; padding kept, a missing ``PatientID``
is the empty one), never fetched. Older servers get ``Expand`` rows, which
carry the same facts under other names.

Servers without extended find (Orthanc 1.10, 1.11, and 1.12 on the
PostgreSQL index plugin) get ``Expand`` rows, which carry the same facts
under other names: a level without a filter comes from its list route in
parallel pages (:func:`~orthanc_frames.paging.iter_list_pages`), a filtered
one from ``Expand`` finds. Their rows name only their direct parent, and
asking the ancestors' UIDs as ``RequestedTags`` would double the server's
cost per row (and needs 1.11), so the ancestors are joined from the upper
levels' rows (:class:`Ancestors`: the server's own links, read once per
load from rows the load reads anyway, or from the small upper levels'
list routes).

Filters run on the server (push-down). A ``query`` (DICOM keyword ->
Orthanc pattern) and a ``labels`` filter select the resources of their
DEEPEST level, the *anchor*: the deepest level among the query's tags
(each tag belongs to the level where the server keeps it as a main tag,
its ``ExtraMainDicomTags`` included, see :attr:`LoadSpec.main_tags`) and
``labels_level`` (``"study"`` by default) when labels are given. Every
frame then holds the anchor's matching resources, their ancestors and
their descendants: ``query={"Modality": "MR"}`` gives the MR series, their
instances, and only the studies and patients that have an MR series
(their other series are not loaded). Levels below the anchor are
filtered on the server (the same query, plus the anchor's UIDs as a DICOM
list match when labels are involved); levels above it are fetched with
the part of the query that concerns them and kept when they are an
ancestor of a matching anchor resource.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

import pandas as pd

from .._parallel import DEFAULT_WORKERS, check_workers, executor
from ..client import route
from ..client.errors import NotFound
from ..dicom_tags import DEFAULT_MAIN_TAGS, LEVELS, MAIN_TAGS, MainTags, check_keyword
from ..levels import Level, level_name
from ..orthanc_ids import orthanc_id
from ..paging import (
    LABELS_CONSTRAINTS,
    checked_query,
    find_ids,
    iter_find_pages,
    iter_list_pages,
    list_matchable,
)
from .schema import ORTHANC_FIELDS, Problem, parse_orthanc_time_column, parse_tag_columns

__all__ = [
    "CHILDREN_COUNT",
    "CHILD_COUNT_TAG",
    "LINKS",
    "UID_OF_LEVEL",
    "Ancestors",
    "ExtraTagsCostWarning",
    "LoadSpec",
    "build_frame",
    "costly_tags",
    "fetch_rows",
    "field_columns",
    "iter_row_pages",
    "links_through_parent",
    "load_frames",
    "normalize_row",
    "order_columns",
    "warn_about_costly_tags",
]

PARENT = {level.value: level.parent and level.parent.value for level in Level}
ANCESTORS = {level.value: tuple(a.value for a in level.ancestors) for level in Level}
LINKS = {level: tuple(reversed(ANCESTORS[level])) for level in LEVELS}
"""Link columns of each level, top down (``instance``: patient, study, series)."""

CHILDREN_COUNT = {"patient": "num_studies", "study": "num_series", "series": "num_instances"}
_CHILDREN_KEY = {level.value: key for level in Level if (key := level.children_key)}
# Orthanc computes these from its index: a child count without the children's IDs.
CHILD_COUNT_TAG = {
    "patient": "NumberOfPatientRelatedStudies",
    "study": "NumberOfStudyRelatedSeries",
    "series": "NumberOfSeriesRelatedInstances",
}
UID_OF_LEVEL = {
    "patient": "PatientID",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "instance": "SOPInstanceUID",
}
_FIELDS_OF_LEVEL = {
    "patient": ("labels", "last_update", "is_stable", "num_studies"),
    "study": ("labels", "last_update", "is_stable", "num_series"),
    "series": ("labels", "last_update", "is_stable", "num_instances"),
    "instance": ("labels", "file_size", "index_in_series"),
}
_RESPONSE_CONTENT = {
    "patient": ["MainDicomTags", "Labels", "Metadata", "Children", "IsStable"],
    "study": ["MainDicomTags", "Labels", "Metadata", "Children", "IsStable", "Parent"],
    "series": ["MainDicomTags", "Labels", "Metadata", "Children", "IsStable", "Parent"],
    "instance": ["MainDicomTags", "Labels", "Metadata", "Parent", "Attachments"],
}
# UIDs asked with every row, to compute the IDs of ancestors above the parent.
_LINK_TAGS = {
    level.value: tuple(a.identifier_tag for a in reversed(level.ancestors))
    if level.depth > 1
    else ()
    for level in Level
}
_DICOM_FILE_ATTACHMENT = 1
_PARENT_KEY = {"study": "ParentPatient", "series": "ParentStudy", "instance": "ParentSeries"}
# The links of a row that carries no UID to hash them from (an ``Expand`` row).
_NO_LINKS: Mapping[str, str | None] = MappingProxyType({"patient": None, "study": None})
_NO_TAGS: Mapping[str, Any] = {}
UID_CHUNK = 500
"""Anchor UIDs per find when lower levels are restricted by a UID list."""


T = TypeVar("T")

# Many rows share their patient and study: hash each pair of UIDs once.
_orthanc_id = functools.lru_cache(maxsize=1 << 16)(orthanc_id)


class Ancestors:
    """The parent of each study and series, for rows that name only their direct parent.

    Servers without extended find answer ``Expand`` rows: a series row
    names its study, an instance row its series. This joins the rest from
    the server's own links: those learned from upper-level rows read by the
    same load (:meth:`learn`); for the few it lacks, one ``GET`` each; for
    more than :data:`FEW_PARENTS`, one listing of the upper level (``GET
    /studies?expand``, ``GET /series?expand``: small levels).

    Parameters
    ----------
    client : Orthanc
    workers : int
        Parallel pages for a listing.
    """

    FEW_PARENTS = 8
    """Up to this many unknown parents are read one by one, more by a listing."""

    def __init__(self, client: Any, workers: int = 4) -> None:
        self.client = client
        self.workers = workers
        self._parent: dict[str, dict[str, str | None]] = {"study": {}, "series": {}}
        self._listed: set[str] = set()
        self._pending: Future[Any] | None = None
        self._loader: int | None = None

    def load_in_background(self, pool: Executor, load: Callable[[], T]) -> Future[T]:
        """Run ``load`` (which learns upper levels' links) on ``pool``.

        Until it is done, a lookup from any other thread waits for it (and
        raises its error) before reading a parent itself.
        """

        def run() -> T:
            self._loader = threading.get_ident()
            return load()

        future = pool.submit(run)
        self._pending = future
        return future

    def learn(self, level: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Remember the parent of normalized ``records`` of ``level`` (study or series)."""
        known = self._parent.get(level)
        if known is None:
            return
        parent = str(PARENT[level])
        for record in records:
            known[record["ID"]] = record.get(parent)

    def _ensure(self, level: str, resources: Iterable[str | None]) -> dict[str, str | None]:
        """The parents of ``level`` known, after reading those of ``resources`` not known yet."""
        if self._pending is not None and threading.get_ident() != self._loader:
            self._pending.result()
            self._pending = None
        known = self._parent[level]
        missing = {r for r in resources if r is not None and r not in known}
        if not missing:
            return known
        key = "Parent" + str(PARENT[level]).title()
        if len(missing) > self.FEW_PARENTS and level not in self._listed:
            self._listed.add(level)
            for page in iter_list_pages(self.client, level, workers=self.workers):
                known.update((row["ID"], row.get(key)) for row in page)
            missing -= known.keys()
        collection = Level.parse(level).route
        for resource in sorted(missing):
            try:
                known[resource] = self.client.GET(route(collection, resource)).get(key)
            except NotFound:  # deleted since its child was listed
                known[resource] = None
        return known

    def parent(self, level: str, resource: str | None) -> str | None:
        """The parent ID of study or series ``resource`` (None if it is gone or None)."""
        if resource is None:
            return None
        return self._ensure(level, (resource,))[resource]

    def fill(self, level: str, records: Sequence[dict[str, Any]]) -> None:
        """Set the missing ``patient`` / ``study`` links of normalized records of ``level``."""
        if level == "instance":
            lacking = [r for r in records if r.get("study") is None]
            series_study = self._ensure("series", {r.get("series") for r in lacking})
            for record in lacking:
                record["study"] = series_study.get(record.get("series") or "")
        if level in ("series", "instance"):
            lacking = [r for r in records if r.get("patient") is None]
            study_patient = self._ensure("study", {r.get("study") for r in lacking})
            for record in lacking:
                record["patient"] = study_patient.get(record.get("study") or "")

    def annotate(self, level: str, rows: Sequence[dict[str, Any]]) -> None:
        """Add ``ParentStudy`` / ``ParentPatient`` to ``Expand`` rows of series or instances."""
        if level == "instance":
            series_study = self._ensure("series", {row.get("ParentSeries") for row in rows})
            for row in rows:
                row["ParentStudy"] = series_study.get(row.get("ParentSeries") or "")
        if level in ("series", "instance"):
            study_patient = self._ensure("study", {row.get("ParentStudy") for row in rows})
            for row in rows:
                row["ParentPatient"] = study_patient.get(row.get("ParentStudy") or "")


class ExtraTagsCostWarning(UserWarning):
    """Tags beyond the main DICOM tags make the server read files from disk."""


@dataclass(frozen=True)
class LoadSpec:
    """What a Frames was loaded with (kept for lazy levels, refresh and Parquet)."""

    query: Mapping[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    labels_constraint: str = "All"
    labels_level: str = "study"
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    levels: tuple[str, ...] = LEVELS
    workers: int = DEFAULT_WORKERS
    main_tags: MainTags = MAIN_TAGS
    """The server's main DICOM tags (``client.capabilities.main_tags``)."""

    @classmethod
    def make(
        cls,
        query: Mapping[str, Any] | None = None,
        labels: Sequence[str] | str | None = None,
        labels_constraint: str = "All",
        labels_level: str = "study",
        tags: Mapping[str, Iterable[str]] | None = None,
        levels: Iterable[str] = LEVELS,
        workers: int = DEFAULT_WORKERS,
        main_tags: MainTags | Mapping[str, Iterable[str]] | Callable[[], MainTags] = MAIN_TAGS,
    ) -> LoadSpec:
        """Validate the arguments of ``Frames.load`` (clear errors, before any request).

        ``main_tags`` are the server's main DICOM tags, or a function that
        reads them (``lambda: client.capabilities.main_tags``): it is called
        only when ``query`` or ``tags`` name a tag that is not one of
        Orthanc's default main tags, once every argument is known to be
        well formed.
        """
        clean_query = checked_query(query)
        if isinstance(labels, str):
            labels = [labels]
        if labels_constraint not in LABELS_CONSTRAINTS:
            raise ValueError(
                f"labels_constraint must be one of {LABELS_CONSTRAINTS}, not {labels_constraint!r}."
            )
        labels_level = level_name(labels_level, "labels_level")
        clean_levels = tuple(level_name(x, "levels") for x in levels)
        clean_tags: dict[str, tuple[str, ...]] = {}
        if tags is not None and not isinstance(tags, Mapping):
            raise TypeError(
                "tags must be a mapping of level to DICOM keywords, such as "
                f"{{'series': ['SliceThickness']}}, not {type(tags).__name__} {tags!r:.80}."
            )
        for level, names in (tags or {}).items():
            if isinstance(names, str):
                names = [names]
            clean_tags[level_name(level, "tags")] = tuple(
                check_keyword(f"tags[{level!r}]", n) for n in names
            )
        workers = check_workers(workers)
        named = [*clean_query, *(name for names in clean_tags.values() for name in names)]
        server_tags = _resolved_main_tags(main_tags, named)
        for key in clean_query:
            if server_tags.level_of(key) is None:
                raise ValueError(
                    f"query on {key!r}: Orthanc can filter on the server only by main DICOM "
                    "tags (those of client.capabilities.main_tags: Orthanc's defaults and the "
                    f"server's ExtraMainDicomTags). Load with tags={{level: [{key!r}]}} and "
                    "filter in pandas instead."
                )
        return cls(
            query=clean_query,
            labels=tuple(labels or ()),
            labels_constraint=labels_constraint,
            labels_level=labels_level,
            tags=clean_tags,
            levels=tuple(level for level in LEVELS if level in clean_levels),
            workers=workers,
            main_tags=server_tags,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for the Parquet metadata)."""
        return {
            "query": dict(self.query),
            "labels": list(self.labels),
            "labels_constraint": self.labels_constraint,
            "labels_level": self.labels_level,
            "tags": {k: list(v) for k, v in self.tags.items()},
            "levels": list(self.levels),
            "workers": self.workers,
            "main_tags": self.main_tags.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadSpec:
        """The inverse of :meth:`to_json`."""
        return cls.make(**{k: data[k] for k in data if k in cls.__dataclass_fields__})

    @property
    def anchor(self) -> str | None:
        """The deepest level a filter names, or None without filters."""
        levels = [self.main_tags.level_of(k) for k in self.query]
        if self.labels:
            levels.append(self.labels_level)
        found = [x for x in levels if x is not None]
        return max(found, key=LEVELS.index) if found else None

    def query_for(self, level: str) -> dict[str, str]:
        """The part of the query Orthanc can apply at ``level`` (its tags and its ancestors')."""
        depth = LEVELS.index(level)
        return {
            k: v
            for k, v in self.query.items()
            if LEVELS.index(self.main_tags.level_of(k) or "patient") <= depth
        }


def _resolved_main_tags(
    main_tags: MainTags | Mapping[str, Iterable[str]] | Callable[[], MainTags],
    named: Iterable[str],
) -> MainTags:
    """The main tags to judge ``named`` by: the server's are read only if a name needs them."""
    if isinstance(main_tags, MainTags):
        return main_tags
    if isinstance(main_tags, Mapping):
        return MainTags.of_server(main_tags)
    if all(MAIN_TAGS.level_of(name) is not None for name in named):
        return MAIN_TAGS
    return main_tags()


def costly_tags(spec: LoadSpec) -> dict[str, list[str]]:
    """The asked tags that the server must read from files, by level (empty when none).

    A tag is free when Orthanc keeps it in its index at the level asked or
    above (a main DICOM tag); any other makes the server read one file per
    resource returned.
    """
    found: dict[str, list[str]] = {}
    for level in LEVELS:
        names = [t for t in spec.tags.get(level, ()) if not spec.main_tags.at_or_above(t, level)]
        if names:
            found[level] = names
    return found


def warn_about_costly_tags(spec: LoadSpec) -> None:
    """Warn (:class:`ExtraTagsCostWarning`) if ``spec`` asks for tags read from files.

    The warning points at the first caller outside this package (the
    user's line), whatever path led here.
    """
    costly = costly_tags(spec)
    if not costly:
        return
    warnings.warn(
        f"tags={costly} are not main DICOM tags: the server reads the file of every "
        "resource of those levels to answer them, on each load and refresh (slow on large "
        "servers). Ask for main DICOM tags only (client.capabilities.main_tags, or add the "
        "tags to the server's ExtraMainDicomTags) where you can.",
        ExtraTagsCostWarning,
        stacklevel=_stacklevel_of_caller_outside_package(),
    )


def _stacklevel_of_caller_outside_package() -> int:
    """The ``stacklevel`` that makes a warning issued by our caller point at the user's code."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    level = 1
    frame = sys._getframe(1)  # the function that calls warnings.warn
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        package_dir
    ):
        frame = frame.f_back
        level += 1
    return level


def fetch_rows(
    client: Any,
    level: str,
    spec: LoadSpec,
    *,
    query: Mapping[str, Any] | None = None,
    labels: bool = False,
    progress: bool | None = None,
    child_ids: bool = True,
    count: int | None = None,
    ancestors: Ancestors | None = None,
) -> list[dict[str, Any]]:
    """Every row of one level matching ``query`` (and the spec's labels if ``labels``).

    ``child_ids``, ``count`` and ``ancestors`` are those of :func:`iter_row_pages`.
    """
    return [
        row
        for page in iter_row_pages(
            client,
            level,
            spec,
            query=query,
            labels=labels,
            progress=progress,
            child_ids=child_ids,
            count=count,
            ancestors=ancestors,
        )
        for row in page
    ]


def iter_row_pages(
    client: Any,
    level: str,
    spec: LoadSpec,
    *,
    query: Mapping[str, Any] | None = None,
    labels: bool = False,
    progress: bool | None = None,
    child_ids: bool = True,
    count: int | None = None,
    ancestors: Ancestors | None = None,
    join_ancestors: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """The rows of :func:`fetch_rows`, one page at a time, as the pages arrive.

    With ``child_ids=False`` (Orthanc 1.12.5+) rows carry their child count
    (a tag Orthanc computes from its index) instead of their children's IDs,
    a third of the bytes at series level. ``count``: the number of matches
    when the caller knows it (see :func:`~orthanc_frames.paging.iter_find_pages`).
    Without extended find, rows get their ancestors from ``ancestors``
    (default: a new :class:`Ancestors`); with ``join_ancestors=False`` they
    keep only their direct parent, and the caller joins the rest
    (:meth:`Ancestors.fill` on the normalized records).
    """
    extra = tuple(spec.tags.get(level, ()))
    extended = client.capabilities.has_extended_find
    if not extended:
        yield from _expand_row_pages(
            client,
            level,
            spec,
            query,
            labels,
            progress,
            (ancestors or Ancestors(client)) if join_ancestors else None,
            count,
        )
        return
    requested = list(dict.fromkeys(extra + _LINK_TAGS[level]))
    response_content = _RESPONSE_CONTENT[level]
    if extended and not child_ids and level in CHILD_COUNT_TAG:
        response_content = [c for c in response_content if c != "Children"]
        requested.append(CHILD_COUNT_TAG[level])
    yield from iter_find_pages(
        client,
        level,
        query=query if query is not None else spec.query_for(level),
        labels=list(spec.labels) if labels else None,
        labels_constraint=spec.labels_constraint,
        response_content=response_content,
        requested_tags=requested or None,
        workers=spec.workers,
        progress=progress if level == "instance" else False,
        count=count,
    )


def _expand_row_pages(
    client: Any,
    level: str,
    spec: LoadSpec,
    query: Mapping[str, Any] | None,
    labels: bool,
    progress: bool | None,
    ancestors: Ancestors | None,
    count: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """``Expand`` rows for servers without extended find, with their ancestors joined.

    ``count``: the matches, when known (a short page that reaches it ends the find).
    """
    extra = list(spec.tags.get(level, ()))
    query = query if query is not None else spec.query_for(level)
    with_labels = labels and bool(spec.labels)
    pages: Iterable[list[dict[str, Any]]]
    if not query and not with_labels and not extra:
        pages = iter_list_pages(
            client,
            level,
            workers=spec.workers,
            progress=progress if level == "instance" else False,
        )
    else:
        pages = iter_find_pages(
            client,
            level,
            query=query,
            labels=list(spec.labels) if with_labels else None,
            labels_constraint=spec.labels_constraint,
            requested_tags=extra or None,
            progress=progress if level == "instance" else False,
            count=count,
        )
    for page in pages:
        if ancestors is not None:
            ancestors.annotate(level, page)
        yield page


def normalize_row(level: str, row: Mapping[str, Any], extra_tags: Sequence[str]) -> dict[str, Any]:
    """One Orthanc find row (extended or ``Expand`` form) -> a flat record.

    Keys: ``"ID"``, link columns by level, Orthanc fields (snake_case) and
    DICOM keywords with their raw text.
    """
    # Called once per row (20,000 times for 20,000 instances): plain lookups only.
    get = row.get
    record: dict[str, Any] = {"ID": row["ID"]}
    main = get("MainDicomTags")
    if main:
        record.update(main)
    requested = get("RequestedTags") or _NO_TAGS
    if requested:
        for name in extra_tags:
            if name in requested:
                record[name] = requested[name]
    parent = PARENT[level]
    if parent is not None:
        record[parent] = get(_PARENT_KEY[level])
    if level == "series" or level == "instance":
        # Hashed from the server's own text; a row without the UIDs (an
        # ``Expand`` row) keeps the server's link if it has one, else the
        # ancestors are joined after the pages (:class:`Ancestors`).
        links: Mapping[str, str | None] = (
            _links_above_parent(level, row, requested)
            if requested or "PatientMainDicomTags" in row
            else _NO_LINKS
        )
        patient = links["patient"]
        record["patient"] = patient if patient is not None else get("ParentPatient")
        if level == "instance":
            study = links["study"]
            record["study"] = study if study is not None else get("ParentStudy")
    metadata = get("Metadata") or _NO_TAGS
    labels = get("Labels")
    record["labels"] = list(labels) if labels else []
    if level != "instance":
        record["last_update"] = (
            metadata["LastUpdate"] if "LastUpdate" in metadata else get("LastUpdate")
        )
        record["is_stable"] = get("IsStable")
        children = get(_CHILDREN_KEY[level])
        if children is not None:
            record[CHILDREN_COUNT[level]] = len(children)
        else:
            count = requested.get(CHILD_COUNT_TAG[level])
            record[CHILDREN_COUNT[level]] = int(count) if count is not None else None
        record["_children"] = children
    else:
        record["index_in_series"] = (
            metadata["IndexInSeries"] if "IndexInSeries" in metadata else get("IndexInSeries")
        )
        size = get("FileSize")
        for attachment in get("Attachments") or ():
            if attachment.get("ContentType") == _DICOM_FILE_ATTACHMENT:
                size = attachment.get("UncompressedSize")
        record["file_size"] = size
    return record


def _links_above_parent(
    level: str, row: Mapping[str, Any], requested: Mapping[str, Any]
) -> dict[str, str | None]:
    """The links of a row above its direct parent, hashed from the server's own text.

    The identifiers are the strings the server returned, unchanged (a
    value Orthanc read with VR ``UN`` keeps its padding, and Orthanc hashed
    it so). When the answer carries the study's UID but no ``PatientID``,
    the file had none: Orthanc filed it under the patient of the empty
    ``PatientID``, and so does this. A link that cannot be computed (the
    server did not return the UIDs) is None.
    """
    links: dict[str, str | None] = {}
    if level not in ("series", "instance"):
        return links
    uids = {**(row.get("PatientMainDicomTags") or {}), **requested}
    study = uids.get("StudyInstanceUID")
    if "PatientID" in uids:
        patient_id = uids["PatientID"]
    else:
        patient_id = "" if isinstance(study, str) else None
    known = isinstance(patient_id, str)
    links["patient"] = _orthanc_id(patient_id) if known else None
    if level == "instance":
        links["study"] = _orthanc_id(patient_id, study) if known and study else None
    return links


def tag_columns(
    level: str, records: Sequence[Mapping[str, Any]], extra: Sequence[str]
) -> list[str]:
    """DICOM columns of a level: its main tags, then asked tags, then others, stable order."""
    known = set(LINKS[level]) | set(_FIELDS_OF_LEVEL[level]) | {"ID", "_children"}
    columns = list(DEFAULT_MAIN_TAGS[level]) + [
        t for t in extra if t not in DEFAULT_MAIN_TAGS[level]
    ]
    seen = set(columns)
    others = sorted({k for r in records for k in r if k not in seen and k not in known})
    return columns + others


def order_columns(level: str, columns: Sequence[str], extra: Sequence[str]) -> list[str]:
    """The canonical column order of a level: links, main tags, asked tags, others, fields."""
    fields = _FIELDS_OF_LEVEL[level]
    links = LINKS[level]
    main = [c for c in DEFAULT_MAIN_TAGS[level] if c in columns]
    asked = [c for c in extra if c in columns and c not in main]
    placed = set(links) | set(fields) | set(main) | set(asked)
    others = sorted(c for c in columns if c not in placed)
    return [
        *[c for c in links if c in columns],
        *main,
        *asked,
        *others,
        *[c for c in fields if c in columns],
    ]


def build_frame(
    level: str,
    records: Sequence[Mapping[str, Any]],
    extra_tags: Sequence[str],
    problems: list[Problem],
) -> pd.DataFrame:
    """Typed DataFrame of one level from normalized records; index = Orthanc ID named ``level``."""
    index = pd.Index([r["ID"] for r in records], name=level, dtype=ORTHANC_FIELDS["patient"])
    columns: dict[str, pd.Series] = {}
    for link in LINKS[level]:
        columns[link] = pd.Series(
            [r.get(link) for r in records], index=index, dtype=ORTHANC_FIELDS[link]
        )
    raw = {name: [r.get(name) for r in records] for name in tag_columns(level, records, extra_tags)}
    columns.update(parse_tag_columns(raw, index, level=level, problems=problems))
    columns.update(field_columns(level, records, index, problems))
    # The columns are new and aligned on ``index``: no copy (a fixed cost per column).
    frame = pd.DataFrame(columns, index=index, copy=False)
    return frame


def field_columns(
    level: str,
    records: Sequence[Mapping[str, Any]],
    index: pd.Index,
    problems: list[Problem] | None = None,
) -> dict[str, pd.Series]:
    """Orthanc's own fields of a level (``labels``, ``last_update``, counts...), typed."""
    columns: dict[str, pd.Series] = {}
    for name in _FIELDS_OF_LEVEL[level]:
        values = [r.get(name) for r in records]
        if name == "last_update":
            raw = pd.Series(values, index=index, dtype=object)
            columns[name] = parse_orthanc_time_column(raw, name, level=level, problems=problems)
        elif name in ("file_size", "index_in_series"):
            numbers = pd.to_numeric(pd.Series(values, index=index, dtype=object), errors="coerce")
            columns[name] = numbers.astype(ORTHANC_FIELDS[name])
        else:
            columns[name] = pd.Series(values, index=index, dtype=ORTHANC_FIELDS[name])
    return columns


def children_of(records: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Child IDs by parent ID, as the rows listed them (for refresh)."""
    return {r["ID"]: list(r.get("_children") or []) for r in records}


def _chunks(values: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def fetch_level(
    client: Any,
    level: str,
    spec: LoadSpec,
    anchor_rows: pd.DataFrame | None,
    *,
    progress: bool | None = None,
    child_ids: bool = True,
    ancestors: Ancestors | None = None,
) -> list[dict[str, Any]]:
    """Normalized records of one level, with the spec's filters pushed down.

    ``ancestors`` joins the links of rows that name only their parent
    (servers without extended find) and learns this level's links.
    """
    extra = spec.tags.get(level, ())
    if ancestors is None and not client.capabilities.has_extended_find:
        ancestors = Ancestors(client, spec.workers)
    anchor = spec.anchor
    pages: Iterable[list[dict[str, Any]]]
    if anchor is None or level == anchor:
        with_labels = bool(spec.labels) and level == spec.labels_level
        pages = iter_row_pages(
            client,
            level,
            spec,
            labels=with_labels,
            progress=progress,
            child_ids=child_ids,
            join_ancestors=False,
        )
    elif LEVELS.index(level) > LEVELS.index(anchor) and spec.labels:
        assert anchor_rows is not None
        uid_name = UID_OF_LEVEL[anchor]
        uids = list(dict.fromkeys(anchor_rows[uid_name].tolist()))
        if all(list_matchable(uid) for uid in uids):
            pages = (
                page
                for chunk in _chunks(uids, UID_CHUNK)
                for page in iter_row_pages(
                    client,
                    level,
                    spec,
                    query={**spec.query_for(level), uid_name: chunk},
                    progress=progress,
                    child_ids=child_ids,
                    join_ancestors=False,
                )
            )
        else:
            # An identifier a DICOM list cannot name exactly (empty, or with
            # a backslash or a wildcard): read the level, keep by link below.
            pages = iter_row_pages(
                client, level, spec, progress=progress, child_ids=child_ids, join_ancestors=False
            )
    else:
        pages = iter_row_pages(
            client, level, spec, progress=progress, child_ids=child_ids, join_ancestors=False
        )
    # Each page is normalized as it arrives, while the next ones are still read.
    records = [normalize_row(level, row, extra) for page in pages for row in page]
    if ancestors is not None:  # after the pages: an upper level may still be arriving
        ancestors.fill(level, records)
        ancestors.learn(level, records)
    if anchor is not None and anchor_rows is not None:
        if LEVELS.index(level) <= LEVELS.index(anchor):
            keep = set(anchor_rows[level].dropna().tolist())
            records = [r for r in records if r["ID"] in keep]
        elif spec.labels:
            # A UID list also matches same-UID resources under other parents.
            anchors = set(anchor_rows[anchor].dropna().tolist())
            records = [r for r in records if r.get(anchor) in anchors]
    return records


@dataclass
class LoadedLevel:
    """One level's frame, the problems found in it, and its rows' children."""

    frame: pd.DataFrame
    problems: list[Problem]
    children: dict[str, list[str]]
    identifiers: dict[str, Any] = field(default_factory=dict)
    """Orthanc ID -> the level's identifier (``PatientID``, a UID) as the server wrote it."""


def load_level(
    client: Any,
    level: str,
    spec: LoadSpec,
    anchor_frame: pd.DataFrame | None,
    *,
    progress: bool | None = None,
    child_ids: bool = True,
    ancestors: Ancestors | None = None,
) -> LoadedLevel:
    """Fetch and build one level (``child_ids=False``: child counts only, see :func:`iter_row_pages`)."""
    records = fetch_level(
        client,
        level,
        spec,
        anchor_frame,
        progress=progress,
        child_ids=child_ids,
        ancestors=ancestors,
    )
    problems: list[Problem] = []
    frame = build_frame(level, records, spec.tags.get(level, ()), problems)
    children = children_of(records) if level != "instance" else {}
    identifiers = {r["ID"]: r.get(UID_OF_LEVEL[level]) for r in records}
    return LoadedLevel(frame, problems, children, identifiers)


def load_frames(
    client: Any,
    spec: LoadSpec,
    levels: Iterable[str],
    *,
    anchor_frame: pd.DataFrame | None = None,
    progress: bool | None = None,
    child_ids: bool = True,
) -> tuple[dict[str, LoadedLevel], pd.DataFrame | None]:
    """Load ``levels`` (the anchor first when filters need it); return them and the anchor frame.

    ``child_ids=False`` asks for child counts instead of child IDs (see
    :func:`iter_row_pages`): the frames are the same, ``children`` is empty.
    """
    wanted = [level for level in LEVELS if level in set(levels)]
    loaded: dict[str, LoadedLevel] = {}
    anchor = spec.anchor
    ancestors = None if client.capabilities.has_extended_find else Ancestors(client, spec.workers)
    upper = [level for level in wanted if level != "instance"]
    if ancestors is not None and anchor is None and upper and "instance" in wanted:
        # Without extended find the upper levels are plain listings: they are
        # read (and their links learned) while the instance pages arrive.
        with executor(1, name="orthanc-frames-upper") as pool:
            future = ancestors.load_in_background(
                pool,
                lambda: {
                    level: load_level(
                        client,
                        level,
                        spec,
                        None,
                        progress=False,
                        child_ids=child_ids,
                        ancestors=ancestors,
                    )
                    for level in upper
                },
            )
            instance = load_level(
                client,
                "instance",
                spec,
                None,
                progress=progress,
                child_ids=child_ids,
                ancestors=ancestors,
            )
            loaded = future.result()
        loaded["instance"] = instance
        return loaded, anchor_frame
    needs_anchor_first = any(x != anchor for x in wanted) or (
        bool(spec.labels) and spec.labels_level != anchor
    )
    if anchor is not None and anchor_frame is None and needs_anchor_first:
        anchor_level = load_level(
            client, anchor, spec, None, progress=progress, child_ids=child_ids, ancestors=ancestors
        )
        if spec.labels and spec.labels_level != anchor:
            anchor_level = _keep_labelled(client, spec, anchor, anchor_level)
        anchor_frame = _with_uids(anchor_level.frame, anchor, anchor_level.identifiers)
        if anchor in wanted:
            loaded[anchor] = anchor_level
    for level in wanted:
        if level not in loaded:
            loaded[level] = load_level(
                client,
                level,
                spec,
                anchor_frame,
                progress=progress,
                child_ids=child_ids,
                ancestors=ancestors,
            )
    for level, parent in (("series", "study"), ("instance", "series")):  # series first
        if level in loaded and parent in loaded:
            links_through_parent(loaded[level].frame, loaded[parent].frame, level)
    return loaded, anchor_frame


def links_through_parent(frame: pd.DataFrame, parent_frame: pd.DataFrame, level: str) -> None:
    """Set ``frame``'s links above its parent from the parent's own links, in place.

    The parent link of every row is the server's (its ``Parent``), and so
    are the parent frame's: following them gives the server's chain, with
    no request. Rows whose parent is not in ``parent_frame`` keep the links
    computed from their UIDs.
    """
    parent = PARENT[level]
    assert parent is not None
    for link in LINKS[parent]:
        through = frame[parent].map(parent_frame[link].to_dict())
        known = through.notna()
        if known.any():
            frame.loc[known, link] = through[known].astype(ORTHANC_FIELDS[link])


def _keep_labelled(client: Any, spec: LoadSpec, anchor: str, part: LoadedLevel) -> LoadedLevel:
    """Anchor rows whose ``labels_level`` ancestor carries the labels (one paged ID find)."""
    labelled = set(
        find_ids(
            client,
            spec.labels_level,
            labels=list(spec.labels),
            labels_constraint=spec.labels_constraint,
        )
    )
    frame = part.frame[part.frame[spec.labels_level].isin(labelled)]
    kept = set(frame.index)
    problems = [p for p in part.problems if p.id in kept]
    children = {k: v for k, v in part.children.items() if k in kept}
    return LoadedLevel(frame, problems, children, part.identifiers)


def _with_uids(
    frame: pd.DataFrame, level: str, identifiers: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The anchor's link columns and UID (what restricting other levels needs).

    ``identifiers`` (ID -> the server's text) gives the UIDs exactly as the
    server wrote them; without it they come from the typed frame, where
    text is trimmed and an empty value is missing.
    """
    uid_name = UID_OF_LEVEL[level]
    out = frame[list(LINKS[level])].copy()
    if identifiers is None:
        out[uid_name] = frame[uid_name].astype(object).where(frame[uid_name].notna(), None)
    else:
        out[uid_name] = pd.Series(
            [identifiers.get(i) for i in frame.index], index=frame.index, dtype=object
        )
    out[level] = frame.index.to_series()
    return out
