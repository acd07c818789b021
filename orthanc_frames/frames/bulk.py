"""Bulk actions on a selection of resources: the one place they are executed.

Every action takes a client, a level and the Orthanc IDs of the selected
resources, and returns a *result frame*: one row per source resource,
index = the source Orthanc ID (named by level), columns

``status``
    ``"ok"``, ``"failed"`` or ``"skipped"``;
``error``
    what went wrong (or why the row was skipped), missing when ``ok``;
``new_id``
    for :func:`anonymize` and :func:`modify`: the Orthanc ID of the
    resource that was created.

One failure never stops or hides the others: each row is tried on its
own (on a bounded thread pool, :func:`orthanc_frames._parallel.run_each`)
or, where Orthanc offers one request for the whole set
(``/tools/bulk-content``, ``/tools/bulk-delete``), the set is checked
first so that every row still gets its own answer. Long operations run as
Orthanc jobs, so they never die on an HTTP read timeout.

``keep_source=False`` never loses data: an original is deleted only after
its replacement was found on the server with as many instances as the
original had.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow as pa

from .. import transfer
from .._parallel import DEFAULT_WORKERS, Outcome, describe_error, run_each
from .._progress import progress_bar
from ..client import OrthancError, route
from ..client.names import check_label, check_orthanc_id
from ..levels import Level, level_name
from ..resources import RESOURCE_CLASSES, Job, Modification, modification_options
from ..resources.lookup import bulk_content, instance_count, not_found_text
from ..resources.modality import Modality, Peer

__all__ = [
    "RESULT_COLUMNS",
    "ReplacementNotProven",
    "SkipResource",
    "add_label",
    "anonymize",
    "delete",
    "download",
    "modify",
    "remove_label",
    "result_frame",
    "run_bulk",
    "run_modification",
    "send",
    "upload_files",
]

RESULT_COLUMNS = ("status", "error")
"""Columns of every result frame (``new_id`` is added by anonymize and modify)."""

_STRING = pd.ArrowDtype(pa.string())  # as every text column of the frames


class SkipResource(Exception):
    """Raised by a row's action to mark it ``"skipped"``; the message says why."""


class ReplacementNotProven(OrthancError):
    """The new resource of a modification was not found complete: the original is kept."""


# -- the mechanism ------------------------------------------------------------


def result_frame(
    level: str,
    ids: Sequence[str],
    statuses: Sequence[str],
    errors: Sequence[str | None],
    new_ids: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Build a result frame (see the module docstring).

    Parameters
    ----------
    level : {"patient", "study", "series", "instance"}
        Names the index.
    ids : sequence of str
        Source Orthanc IDs, one per row.
    statuses : sequence of str
        ``"ok"``, ``"failed"`` or ``"skipped"`` per row.
    errors : sequence of str or None
        Error text per row (None when ok).
    new_ids : sequence of str or None, optional
        Adds the ``new_id`` column.

    Returns
    -------
    pandas.DataFrame
    """
    columns: dict[str, Any] = {
        "status": pd.array(list(statuses), dtype=_STRING),
        "error": pd.array(list(errors), dtype=_STRING),
    }
    if new_ids is not None:
        columns["new_id"] = pd.array(list(new_ids), dtype=_STRING)
    index = pd.Index(list(ids), name=level, dtype=_STRING)
    return pd.DataFrame(columns, index=index)


def _describe(error: BaseException) -> str:
    if isinstance(error, SkipResource):
        return str(error)
    return describe_error(error)


def _status(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    return "skipped" if isinstance(error, SkipResource) else "failed"


def _frame_from_outcomes(
    level: str, outcomes: Sequence[Outcome[str, Any]], with_new_id: bool
) -> pd.DataFrame:
    return result_frame(
        level,
        [outcome.item for outcome in outcomes],
        [_status(outcome.error) for outcome in outcomes],
        [None if outcome.error is None else _describe(outcome.error) for outcome in outcomes],
        [outcome.value for outcome in outcomes] if with_new_id else None,
    )


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(str(identifier) for identifier in ids))


def run_bulk(
    level: str,
    ids: Iterable[str],
    action: Callable[[str], str | None],
    *,
    client: Any = None,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    desc: str = "",
    with_new_id: bool = False,
) -> pd.DataFrame:
    """Run ``action(id)`` for every resource on a bounded pool; return the result frame.

    Parameters
    ----------
    level : {"patient", "study", "series", "instance"}
        Level of the resources (names the result's index).
    ids : iterable of str
        Orthanc IDs; duplicates are acted on once.
    action : callable
        Called with one ID. Returns the new resource's ID (or None); raises
        :class:`SkipResource` to mark the row skipped, anything else to
        mark it failed. An error in one row never stops the others.
    client : Orthanc, optional
        The server the actions talk to: ``workers`` is at most its ``pool_size``.
    workers : int
        Requests in flight at once (see :func:`orthanc_frames._parallel.bounded_workers`).
    progress : bool or None
        Progress bar; None shows one when interactive.
    desc : str
        Label of the progress bar.
    with_new_id : bool
        Add the ``new_id`` column (the actions' return values).

    Returns
    -------
    pandas.DataFrame
        One row per resource, in the order given.
    """
    level = level_name(level)
    outcomes = run_each(
        action,
        _unique(ids),
        workers=workers,
        client=client,
        progress=progress,
        desc=desc,
        unit=level,
    )
    return _frame_from_outcomes(level, outcomes, with_new_id)


def _route(level: str, identifier: str, *rest: str) -> str:
    return route(Level.parse(level).route, check_orthanc_id(identifier, f"{level} ID"), *rest)


def _refused_everywhere(level: str, ids: Iterable[str], error: Exception) -> pd.DataFrame:
    """Every row ``failed`` with the same error: an argument refused before anything was sent."""
    rows = _unique(ids)
    text = _describe(error)
    return result_frame(level, rows, ["failed"] * len(rows), [text] * len(rows))


# -- labels -------------------------------------------------------------------


def add_label(
    client: Any,
    level: str,
    ids: Iterable[str],
    label: str,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Add ``label`` to every resource (one ``PUT .../labels/{label}`` each, in parallel).

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    ids : iterable of str
        Orthanc IDs of the resources.
    label : str
        Orthanc accepts letters, digits, ``_`` and ``-`` (64 at most).
    workers : int
    progress : bool or None

    Returns
    -------
    pandas.DataFrame
        Result frame; a resource that does not exist is ``"failed"``. A
        label Orthanc would refuse (or that could reach another route:
        ``../x``, ``a?b``, ``a#b``, empty, too long) makes every row
        ``"failed"`` with the reason, and nothing is sent.

    Raises
    ------
    UnsupportedByServer
        When the server has no labels (Orthanc before 1.12).
    """
    try:
        check_label(label)
    except (TypeError, ValueError) as error:
        return _refused_everywhere(level, ids, error)
    client.capabilities.require_labels("adding labels")

    def put(identifier: str) -> None:
        client.PUT(_route(level, identifier, "labels", label))
        return None

    return run_bulk(
        level, ids, put, client=client, workers=workers, progress=progress, desc=f"label {label!r}"
    )


def remove_label(
    client: Any,
    level: str,
    ids: Iterable[str],
    label: str,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Remove ``label`` from every resource (one ``DELETE .../labels/{label}`` each).

    Removing a label a resource does not carry is not an error (``"ok"``).
    Parameters and result as in :func:`add_label`.
    """
    try:
        check_label(label)
    except (TypeError, ValueError) as error:
        return _refused_everywhere(level, ids, error)
    client.capabilities.require_labels("removing labels")

    def remove(identifier: str) -> None:
        client.DELETE(_route(level, identifier, "labels", label))
        return None

    return run_bulk(
        level,
        ids,
        remove,
        client=client,
        workers=workers,
        progress=progress,
        desc=f"unlabel {label!r}",
    )


# -- anonymize / modify -------------------------------------------------------


def _modify_one(client: Any, level: str, identifier: str, change: Modification) -> str:
    """Create the modified copy of one resource; delete the source if asked and proven safe."""
    expected = None if change.keep_source else instance_count(client, level, identifier)
    source = RESOURCE_CLASSES[level](identifier, client)
    # The copy is always made with the source kept: the source is deleted
    # here, and only once the copy is proven complete.
    kept = dataclasses.replace(change, keep_source=True)
    new_id = source.apply_modification(kept, progress=False).id
    if expected is not None and new_id != identifier:
        stored = instance_count(client, level, new_id)
        if stored != expected:
            raise ReplacementNotProven(
                f"The {change.participle} copy {new_id} of {level} {identifier} holds "
                f"{stored} instance(s) instead of {expected}: the original was NOT deleted. "
                "Check the copy on the server, then delete what you do not need."
            )
        client.DELETE(_route(level, identifier))
    return new_id


def run_modification(
    client: Any,
    level: str,
    ids: Iterable[str],
    change: Modification,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Apply one anonymize or modify request to every resource; return the result frame.

    What :func:`anonymize` and :func:`modify` do, for a request built once
    (:class:`~orthanc_frames.resources.Modification`).

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    ids : iterable of str
        Orthanc IDs of the source resources.
    change : Modification
        The request. With ``keep_source=False`` each original is deleted
        only after its copy was found on the server with as many instances
        (a copy with the original's own ID never causes a deletion);
        otherwise the row fails and the original stays.
    workers : int
        Resources changed in parallel.
    progress : bool or None

    Returns
    -------
    pandas.DataFrame
        Result frame with ``new_id``, the ID of each copy.
    """
    return run_bulk(
        level,
        ids,
        lambda identifier: _modify_one(client, level, identifier, change),
        client=client,
        workers=workers,
        progress=progress,
        desc=change.operation,
        with_new_id=True,
    )


@modification_options("anonymize")
def anonymize(
    client: Any,
    level: str,
    ids: Iterable[str],
    change: Modification,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Anonymize every resource; the anonymized copies are stored on the server.

    Patients, studies and series are anonymized by Orthanc jobs (no HTTP
    read timeout on large resources); an instance's anonymized file is
    stored with ``POST /instances``. Every option is keyword-only.

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    ids : iterable of str
        Orthanc IDs of the source resources.
    {options}
    workers : int
        Resources anonymized in parallel.
    progress : bool or None

    Returns
    -------
    pandas.DataFrame
        Result frame with ``new_id``, the ID of the anonymized copy.
    """
    return run_modification(client, level, ids, change, workers=workers, progress=progress)


@modification_options("modify")
def modify(
    client: Any,
    level: str,
    ids: Iterable[str],
    change: Modification,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Modify every resource; the modified copies are stored on the server.

    Every option is keyword-only.

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    ids : iterable of str
        Orthanc IDs of the source resources.
    {options}
    workers, progress
        As in :func:`anonymize`.

    Returns
    -------
    pandas.DataFrame
        Result frame with ``new_id``.
    """
    return run_modification(client, level, ids, change, workers=workers, progress=progress)


# -- delete -------------------------------------------------------------------


def delete(
    client: Any,
    level: str,
    ids: Iterable[str],
    *,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Delete the resources with two requests in all: ``bulk-content`` then ``bulk-delete``.

    ``/tools/bulk-delete`` silently ignores unknown IDs, so the IDs are
    first checked with ``/tools/bulk-content``: a resource that no longer
    exists gets its own ``"failed"`` row.

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    ids : iterable of str
    progress : bool or None

    Returns
    -------
    pandas.DataFrame
        Result frame.
    """
    level = level_name(level)
    todo = _unique(ids)
    errors: dict[str, str] = {}
    with progress_bar(len(todo), desc="delete", enabled=progress, unit=level) as bar:
        if todo:
            found, _ = bulk_content(client, level, todo)
            for identifier in todo:
                if identifier not in found:
                    errors[identifier] = not_found_text(level, identifier)
            present = [identifier for identifier in todo if identifier in found]
            if present:
                try:
                    client.POST("/tools/bulk-delete", json={"Resources": present})
                except OrthancError as error:
                    errors.update(dict.fromkeys(present, _describe(error)))
        bar.update(len(todo))
    return result_frame(
        level,
        todo,
        ["failed" if identifier in errors else "ok" for identifier in todo],
        [errors.get(identifier) for identifier in todo],
    )


# -- send ---------------------------------------------------------------------


def send(
    client: Any,
    level: str,
    ids: Iterable[str],
    *,
    modality: str | None = None,
    peer: str | None = None,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Send every resource to a DICOM modality (C-STORE) or an Orthanc peer.

    Each resource is sent by its own Orthanc job, so one failure is the
    failure of one row.

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    ids : iterable of str
    modality : str, optional
        Name of a modality known to the server (``/modalities``).
    peer : str, optional
        Name of an Orthanc peer known to the server (``/peers``).
        Exactly one of ``modality`` and ``peer`` is given.
    workers : int
        Jobs running at once.
    progress : bool or None

    Returns
    -------
    pandas.DataFrame
        Result frame.
    """
    if (modality is None) == (peer is None):
        raise ValueError("send needs exactly one target: modality='NAME' or peer='NAME'.")
    destination = Modality(client, modality) if modality is not None else Peer(client, str(peer))
    target = f"modality {modality!r}" if modality is not None else f"peer {peer!r}"

    def store(identifier: str) -> None:
        job = cast(Job, destination.store(identifier, asynchronous=True))
        job.wait_until_completion(progress=False, desc=f"send {level} {identifier} to {target}")
        return None

    return run_bulk(
        level,
        ids,
        store,
        client=client,
        workers=workers,
        progress=progress,
        desc=f"send to {target}",
    )


# -- transfer -----------------------------------------------------------------


def _grouped_frame(
    level: str, ids: Sequence[str], records: Mapping[str, tuple[str, str | None]], missing: str
) -> pd.DataFrame:
    """Result frame from per-resource ``(status, error)``; ids without a record get ``missing``."""
    rows = [records.get(identifier, ("failed", missing)) for identifier in ids]
    return result_frame(level, ids, [status for status, _ in rows], [error for _, error in rows])


def download(
    client: Any,
    level: str,
    ids: Iterable[str],
    path: str | os.PathLike[str],
    *,
    format: str = "dicom",
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Download the resources below ``path`` (:func:`orthanc_frames.transfer.download`).

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
    ids : iterable of str
    path : str or Path
        Target folder; nothing is written outside it.
    format : {"dicom", "zip", "nifti"}
        See :func:`orthanc_frames.transfer.download`.
    workers : int
    progress : bool or None

    Returns
    -------
    pandas.DataFrame
        Result frame: ``"ok"`` when the resource's files were written,
        ``"skipped"`` when they were all complete on disk already,
        ``"failed"`` with the errors otherwise. The per-file account is
        :func:`orthanc_frames.transfer.download`'s report.
    """
    level = level_name(level)
    todo = _unique(ids)
    report = transfer.download(
        client, level, todo, path, format=format, workers=workers, progress=progress
    )
    records = {
        str(record["id"]): (str(record["status"]), record["error"]) for record in report.by_source()
    }
    return _grouped_frame(level, todo, records, f"no file was written for this {level}")


def upload_files(
    client: Any,
    level: str,
    files_by_id: Mapping[str, Sequence[str | os.PathLike[str]]],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Store local DICOM files on the server, reporting per source resource.

    The files go through :func:`orthanc_frames.transfer.upload` (files,
    not resources, are the unit of parallel work); results are then
    gathered per resource, and every stored file is checked to land in the
    resource it was listed under (same Orthanc ID on both sides).

    Parameters
    ----------
    client : Orthanc
    level : {"patient", "study", "series", "instance"}
        Level of the resources the files belong to.
    files_by_id : mapping of str to sequence of path
        The local files of each resource, by its Orthanc ID.
    workers : int
    progress : bool or None

    Returns
    -------
    pandas.DataFrame
        Result frame: ``"ok"`` when every file of the resource was stored,
        ``"skipped"`` when all of them were already on the server,
        ``"failed"`` with each rejected file and why otherwise (also when
        the resource has no local file).
    """
    level = level_name(level)
    owner_of = {
        str(Path(file)): str(identifier)
        for identifier, files in files_by_id.items()
        for file in files
    }
    ids = _unique(files_by_id)
    report = (
        transfer.upload(client, list(owner_of), workers=workers, progress=progress)
        if owner_of
        else transfer.UploadReport()
    )
    statuses: dict[str, list[str]] = {identifier: [] for identifier in ids}
    failures: dict[str, list[str]] = {identifier: [] for identifier in ids}
    for stored in report.stored:
        owner = owner_of[stored.source]
        landed = stored.id if level == "instance" else getattr(stored, level)
        if landed != owner:
            failures[owner].append(
                f"{stored.source}: stored as {level} {landed}, not {owner} (the local "
                "Orthanc ID differs from the server's: please report this)"
            )
        statuses[owner].append(stored.status)
    for rejected in report.rejected:
        failures[owner_of[rejected.source]].append(f"{rejected.source}: {rejected.reason}")
    records: dict[str, tuple[str, str | None]] = {}
    for identifier in ids:
        if failures[identifier]:
            records[identifier] = ("failed", "; ".join(failures[identifier]))
        elif statuses[identifier] and all(s == "AlreadyStored" for s in statuses[identifier]):
            records[identifier] = ("skipped", "already stored on the server")
        elif statuses[identifier]:
            records[identifier] = ("ok", None)
    return _grouped_frame(level, ids, records, f"no local file for this {level}")
