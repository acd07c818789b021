"""Read-only lookups of many resources at once: which exist, and which are copies of which.

- :func:`bulk_content`: the selected resources, many per
  ``/tools/bulk-content`` request, split into found and missing (the one
  place that reads bulk content, for downloads and bulk deletes);
- :func:`copies_made_since`: the anonymized or modified copies of a
  resource created since a point of the server's change log, from the
  ``AnonymizedFrom`` / ``ModifiedFrom`` metadata Orthanc puts on every
  copy. This is how the result of a job is found when the job itself has
  dropped out of Orthanc's job history (``JobsHistorySize``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..client import route
from ..client.errors import NotFound
from ..levels import Level

__all__ = [
    "BULK_CHUNK",
    "bulk_content",
    "copies_made_since",
    "instance_count",
    "last_change",
    "not_found_text",
]

BULK_CHUNK = 500
"""Resources per ``/tools/bulk-content`` request."""

_CHANGES_PAGE = 1000
_SOURCE_METADATA = {"anonymize": "AnonymizedFrom", "modify": "ModifiedFrom"}


def bulk_content(
    client: Any, level: str, ids: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Read the resources ``ids`` of ``level`` with ``/tools/bulk-content``.

    Parameters
    ----------
    client : Orthanc
        The client.
    level : {"patient", "study", "series", "instance"}
        The level the IDs are meant at.
    ids : sequence of str
        Orthanc IDs (500 per request).

    Returns
    -------
    (found, missing)
        ``found`` maps each existing ID to Orthanc's description of it
        (``MainDicomTags``, ``PatientMainDicomTags``...); ``missing`` lists
        the IDs the server does not have at this level, in input order (an
        ID of another level is missing: bulk-content walks up or down to
        the asked level, and what it reaches that way is not kept).
    """
    wanted = set(ids)
    found: dict[str, dict[str, Any]] = {}
    orthanc_level = Level.parse(level).orthanc
    for start in range(0, len(ids), BULK_CHUNK):
        chunk = list(ids[start : start + BULK_CHUNK])
        answer = client.POST(
            "/tools/bulk-content",
            json={"Resources": chunk, "Level": orthanc_level, "Metadata": False},
        )
        for resource in answer or []:
            resource_id = resource.get("ID")
            if resource_id in wanted and resource.get("Type") == orthanc_level:
                found[resource_id] = resource
    return found, [resource_id for resource_id in ids if resource_id not in found]


def not_found_text(level: str, identifier: str) -> str:
    """The one ``error`` text of a row whose resource the server does not have.

    Written as :func:`orthanc_frames._parallel.describe_error` writes a
    :class:`~orthanc_frames.NotFound`, so every bulk action says it alike.
    """
    return (
        f"NotFound: {level} {identifier} does not exist on the server (deleted in the "
        "meantime, or an ID of another level)."
    )


def instance_count(client: Any, level: str, identifier: str) -> int:
    """How many instances the resource holds (``/statistics``; an instance is read: 1)."""
    if level == "instance":
        client.GET(route(Level.parse(level).route, identifier))
        return 1
    return int(
        client.GET(route(Level.parse(level).route, identifier, "statistics"))["CountInstances"]
    )


def last_change(client: Any) -> int:
    """The sequence number of the server's last change (0 on a new server)."""
    answer = client.GET("/changes", params={"last": ""})
    return int(answer.get("Last", 0) or 0)


def copies_made_since(
    client: Any, level: str, source_id: str, operation: str, since: int
) -> list[str]:
    """The copies of ``source_id`` that ``operation`` created after change ``since``.

    Every resource of ``level`` that the change log shows as new after
    ``since`` is asked for its ``AnonymizedFrom`` (anonymize) or
    ``ModifiedFrom`` (modify) metadata; those that name ``source_id`` are
    its copies. Works on every Orthanc version and index.

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    source_id : str
        The Orthanc ID of the original.
    operation : {"anonymize", "modify"}
    since : int
        A change sequence number read before the operation started
        (:func:`last_change`).

    Returns
    -------
    list of str
        The copies' Orthanc IDs, in the order they were created.
    """
    metadata = _SOURCE_METADATA[operation]
    new_kind = f"New{level.capitalize()}"
    candidates: list[str] = []
    while True:
        page = client.GET("/changes", params={"since": since, "limit": _CHANGES_PAGE})
        for change in page.get("Changes") or []:
            if change.get("ChangeType") == new_kind and change.get("ID") not in candidates:
                candidates.append(str(change["ID"]))
        last = int(page.get("Last", since) or since)
        if page.get("Done", True) or last <= since:
            break
        since = last
    copies = []
    for candidate in candidates:
        try:
            origin = client.GET(route(Level.parse(level).route, candidate, "metadata", metadata))
        except NotFound:  # not a copy of anything, or deleted since
            continue
        if _text(origin) == source_id:
            copies.append(candidate)
    return copies


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip()
