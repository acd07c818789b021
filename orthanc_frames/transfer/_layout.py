"""Which local file each resource of a download goes to, from few requests.

The download layout is ``root/<patient>/<study>/<series>/<instance>.dcm``,
each component named from DICOM values. The values come from
``/tools/find`` pages at the target level (instances for DICOM files,
series for NIfTI) carrying their parents' main tags, never from one GET
per resource:

1. ``/tools/bulk-content`` reads the identifying tag of the selected
   resources (``PatientID``, ``StudyInstanceUID``...), many per request;
2. ``/tools/find`` at the target level, filtered on those identifiers
   (a backslash-joined list: DICOM "list of UID" matching), paged by the
   shared pager :func:`orthanc_frames.paging.iter_find_pages` (never
   truncated by the server's ``LimitFindInstances``);
3. rows are kept when their ancestor at the selection's level, computed
   from the identifiers (:mod:`orthanc_frames.orthanc_ids`), is selected:
   a list filter can also match a same-UID study under another patient.

Servers before Orthanc 1.11 have no ``RequestedTags``: each level is then
found separately (same filter) and rows are joined through their parent
links.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..client.errors import OrthancError
from ..levels import LEVEL_NAMES as LEVELS
from ..levels import Level, level_name
from ..orthanc_ids import orthanc_id
from ..paging import find_all, iter_find_pages, list_matchable
from .paths import safe_component, unique_names

__all__ = [
    "IDENTIFIER_TAGS",
    "LAYOUT_TAGS",
    "LayoutRow",
    "component_name",
    "layout_rows",
    "name_components",
    "normalize_level",
]

IDENTIFIER_TAGS = {
    "patient": "PatientID",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "instance": "SOPInstanceUID",
}
"""The tag that identifies a resource at each level."""

LAYOUT_TAGS: Mapping[str, tuple[str, ...]] = {
    "patient": ("PatientID", "PatientName"),
    "study": ("StudyDate", "StudyDescription"),
    "series": ("SeriesNumber", "Modality", "SeriesDescription"),
    "instance": ("InstanceNumber",),
}
"""The tags a folder or file name is made of, per level, joined by ``" - "``."""

IDENTIFIER_CHUNK = 200
"""Identifiers per ``/tools/find`` filter (keeps the server's SQL small)."""


def normalize_level(level: str) -> str:
    """``"Patient"``, ``"patients"``... -> ``"patient"``; see :meth:`Level.parse`."""
    return level_name(level)


def route_of(level: str) -> str:
    """The REST collection of a level: ``"study"`` -> ``"studies"``."""
    return Level.parse(level).route


def component_name(level: str, tags: Mapping[str, Any], fallback: str) -> str:
    """The sanitized folder or file name (without extension) of one resource.

    Parameters
    ----------
    level : str
        ``"patient"``, ``"study"``, ``"series"`` or ``"instance"``.
    tags : mapping
        DICOM keyword to Orthanc's text value (at least :data:`LAYOUT_TAGS`).
    fallback : str
        Used when the tags give nothing (a UID or the Orthanc ID).

    Examples
    --------
    >>> component_name("series", {"SeriesNumber": "2", "Modality": "MR",
    ...                           "SeriesDescription": "T1/axial"}, "x")
    '2 - MR - T1_axial'
    >>> component_name("instance", {"InstanceNumber": "7"}, "x")
    '0007'
    """
    values = []
    for keyword in LAYOUT_TAGS[level]:
        value = str(tags.get(keyword) or "").strip()
        if keyword == "PatientName":
            value = value.replace("^", " ").strip()
        if keyword == "InstanceNumber" and value.isdigit():
            value = value.zfill(4)
        if value:
            values.append(value)
    return safe_component(" - ".join(values), fallback=fallback)


@dataclass
class LayoutRow:
    """One resource to write, with the resources above it and their tags.

    Attributes
    ----------
    source : str
        The selected resource (Orthanc ID) this row was found under.
    ids : dict
        Level to Orthanc ID, from the patient down to the row's level.
    tags : dict
        DICOM keyword to text value (the layout tags of every level).
    file_size : int or None
        Orthanc's size of the stored DICOM file (instance rows).
    """

    source: str
    ids: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    file_size: int | None = None


def layout_rows(
    client: Any,
    level: str,
    selected: Mapping[str, Mapping[str, Any]],
    target: str,
    *,
    page_size: int | None = None,
) -> list[LayoutRow]:
    """Every resource at level ``target`` under the selected resources.

    Parameters
    ----------
    client : Orthanc
        The client.
    level : str
        Level of the selection.
    selected : mapping
        Selected ID to its bulk-content description (see
        :func:`orthanc_frames.resources.lookup.bulk_content`).
    target : str
        Level of the rows (``"instance"`` or ``"series"``), at or below ``level``.

    Returns
    -------
    list of LayoutRow
        In the server's order, each row once.
    """
    if LEVELS.index(target) < LEVELS.index(level):
        raise ValueError(f"Cannot list {target} rows under a {level} selection.")
    identifier = IDENTIFIER_TAGS[level]
    values = sorted(
        {
            str(resource.get("MainDicomTags", {}).get(identifier, ""))
            for resource in selected.values()
        }
    )
    capabilities = client.capabilities
    if capabilities.at_least("1.11.0"):
        rows: Iterable[LayoutRow] = _rows_with_requested_tags(
            client, identifier, values, target, page_size
        )
    else:
        rows = _rows_level_by_level(client, identifier, values, target, page_size)
    kept: dict[str, LayoutRow] = {}
    for row in rows:
        source = row.ids.get(level, "")
        if source in selected and row.ids[target] not in kept:
            row.source = source
            kept[row.ids[target]] = row
    return list(kept.values())


def _queries(identifier: str, values: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The find queries that together match every resource named by ``values``.

    Identifiers a DICOM list match cannot name exactly (empty, or holding a
    backslash or a wildcard) are found by one query without that filter;
    rows are then kept by their computed ancestor (see :func:`layout_rows`).
    """
    exact = [value for value in values if list_matchable(value)]
    for start in range(0, len(exact), IDENTIFIER_CHUNK):
        yield {identifier: list(exact[start : start + IDENTIFIER_CHUNK])}
    if len(exact) < len(values):
        yield {}


def _layout_tags_down_to(target: str) -> list[str]:
    tags: list[str] = []
    for level in LEVELS[: LEVELS.index(target) + 1]:
        tags.append(IDENTIFIER_TAGS[level])
        tags.extend(tag for tag in LAYOUT_TAGS[level] if tag not in tags)
    return tags


def _response_content(target: str) -> list[str]:
    # Only what the layout needs (Orthanc 1.12.5+; older servers answer Expand rows).
    return ["MainDicomTags", "Parent"] + (["Attachments"] if target == "instance" else [])


def _rows_with_requested_tags(
    client: Any,
    identifier: str,
    values: Sequence[str],
    target: str,
    page_size: int | None,
) -> Iterator[LayoutRow]:
    requested = _layout_tags_down_to(target)
    for query in _queries(identifier, values):
        for page in iter_find_pages(
            client,
            target,
            query=query,
            response_content=_response_content(target),
            requested_tags=requested,
            page_size=page_size,
        ):
            for answer in page:
                tags = {**answer.get("MainDicomTags", {}), **answer.get("RequestedTags", {})}
                yield LayoutRow(
                    source="",
                    ids=_ids_from_tags(tags, target, answer["ID"]),
                    tags={key: value for key, value in tags.items() if isinstance(value, str)},
                    file_size=_file_size(answer),
                )


def _ids_from_tags(tags: Mapping[str, Any], target: str, own_id: str) -> dict[str, str]:
    identifiers: list[str] = []
    ids: dict[str, str] = {}
    for level in LEVELS[: LEVELS.index(target)]:
        identifiers.append(str(tags.get(IDENTIFIER_TAGS[level], "")))
        ids[level] = orthanc_id(*identifiers)
    ids[target] = own_id
    return ids


def _file_size(answer: Mapping[str, Any]) -> int | None:
    if "FileSize" in answer:
        return int(answer["FileSize"])
    for attachment in answer.get("Attachments") or []:
        if attachment.get("ContentType") == 1:  # the DICOM file itself
            return int(attachment["UncompressedSize"])
    return None


def _rows_level_by_level(
    client: Any, identifier: str, values: Sequence[str], target: str, page_size: int | None
) -> Iterator[LayoutRow]:
    levels = LEVELS[: LEVELS.index(target) + 1]
    # Orthanc 1.10 cannot filter a level on a lower level's tag: the levels
    # above the identifier's are read whole (they are the small ones).
    own_level = next(lv for lv, tag in IDENTIFIER_TAGS.items() if tag == identifier)
    whole = {
        level: {answer["ID"]: answer for answer in find_all(client, level, page_size=page_size)}
        for level in levels
        if LEVELS.index(level) < LEVELS.index(own_level)
    }
    for query in _queries(identifier, values):
        by_level = {
            level: whole.get(level)
            or {
                answer["ID"]: answer
                for answer in find_all(
                    client,
                    level,
                    query=query,
                    response_content=_response_content(level),
                    page_size=page_size,
                )
            }
            for level in levels
        }
        for own_id, answer in by_level[target].items():
            ids = {target: own_id}
            tags = dict(answer.get("MainDicomTags", {}))
            current = answer
            for level in reversed(levels[:-1]):
                parent_id = current.get(f"Parent{level.capitalize()}")
                parent = by_level[level].get(parent_id or "")
                if parent is None:
                    raise OrthancError(
                        f"The server listed {target} {own_id} without its parent {level} "
                        f"{parent_id}; it may be changing under the download. Try again."
                    )
                ids[level] = str(parent_id)
                tags.update(parent.get("MainDicomTags", {}))
                current = parent
            yield LayoutRow(source="", ids=ids, tags=tags, file_size=_file_size(answer))


def name_components(rows: Sequence[LayoutRow], target: str) -> dict[str, tuple[str, ...]]:
    """The sanitized path components of every row, unique within each folder.

    Two resources whose names collide in one folder (same study date and
    description, say) both get a short piece of their Orthanc ID appended;
    the naming depends only on the rows, so a re-run names files the same.

    Returns
    -------
    dict
        Row ID (at level ``target``) to its components, patient first.
    """
    parents: dict[str, tuple[str, ...]] = {row.ids[target]: () for row in rows}
    for level in LEVELS[: LEVELS.index(target) + 1]:
        proposals: dict[tuple[str, ...], dict[str, str]] = {}
        for row in rows:
            resource_id = row.ids[level]
            parent = parents[row.ids[target]]
            fallback = row.tags.get(IDENTIFIER_TAGS[level]) or resource_id
            proposals.setdefault(parent, {})[resource_id] = component_name(
                level, row.tags, fallback
            )
        names: dict[tuple[tuple[str, ...], str], str] = {}
        for parent, proposed in proposals.items():
            suffixes = {resource_id: resource_id[:8] for resource_id in proposed}
            for resource_id, name in unique_names(proposed, suffixes).items():
                names[(parent, resource_id)] = name
        for row in rows:
            key = row.ids[target]
            parents[key] = (*parents[key], names[(parents[key], row.ids[level])])
    return parents
