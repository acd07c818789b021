"""The four frames computed from local DICOM files, keyed like the server's.

:func:`frames_from_folder` reads the headers of every file below a folder
(pydicom, ``stop_before_pixels=True``, on a thread pool), computes each
resource's Orthanc ID locally (:mod:`orthanc_frames.orthanc_ids`) and
builds the frames with the same columns and dtypes as frames loaded from a
server (the same :func:`~orthanc_frames.frames.load.build_frame`), plus a
``path`` column on instances. Local and server frames therefore share
their keys::

    local = of.Frames.from_folder("incoming/")
    server = c.frames()
    missing = local.series.index.difference(server.series.index)
    local.series.loc[missing].orthanc.upload(c)      # result frame per series

Files that cannot be read, or that Orthanc could not store (no
``StudyInstanceUID``, ``SeriesInstanceUID`` or ``SOPInstanceUID``), are
reported in ``problems`` with level ``"file"``, never fatal. So are second
copies of an instance already read from another file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from .._parallel import run_each
from ..dicom_tags import DEFAULT_MAIN_TAGS, LEVELS
from ..orthanc_ids import OrthancIds, orthanc_ids
from .container import Frames
from .load import CHILDREN_COUNT, LINKS, PARENT, build_frame
from .schema import Problem, problems_frame

__all__ = ["FILE_LEVEL", "FileHeader", "frames_from_folder", "read_headers"]

FILE_LEVEL = "file"
"""The ``level`` of problems about a whole file (unreadable, not storable, duplicate)."""

_IDENTIFIERS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@dataclass(frozen=True)
class FileHeader:
    """What one file contributes to the frames.

    Attributes
    ----------
    path : Path
        The file.
    ids : OrthancIds
        Orthanc IDs of its instance, series, study and patient.
    tags : dict
        Level -> main DICOM tags of that level, as Orthanc's text.
    size : int
        Bytes on disk.
    """

    path: Path
    ids: OrthancIds
    tags: dict[str, dict[str, str | None]]
    size: int


def _text(value: Any) -> str | None:
    """A pydicom value as Orthanc writes it in JSON (multi-valued: joined by ``\\``)."""
    if value is None:
        return ""
    if isinstance(value, (MultiValue, list, tuple)):
        return "\\".join("" if item is None else str(item) for item in value)
    if isinstance(value, bytes):
        return None
    if isinstance(value, pydicom.Sequence):
        return None
    return str(value)


def _main_tags(ds: Dataset, level: str) -> dict[str, str | None]:
    tags: dict[str, str | None] = {}
    for keyword in DEFAULT_MAIN_TAGS[level]:
        element = ds.get(keyword)
        if element is not None:
            tags[keyword] = _text(element)
    return tags


def read_headers(path: str | os.PathLike[str]) -> FileHeader:
    """Read one file's header (no pixel data) into what the frames need.

    Parameters
    ----------
    path : str or Path
        A DICOM file (with or without the 128-byte preamble).

    Returns
    -------
    FileHeader

    Raises
    ------
    Exception
        Whatever pydicom raises for a file it cannot read;
        :class:`ValueError` when an identifier Orthanc needs is missing.
    """
    file = Path(path)
    ds = pydicom.dcmread(file, stop_before_pixels=True)
    values = [ds.get(keyword) for keyword in _IDENTIFIERS]
    if values[1] is None and values[3] is None and "SOPClassUID" not in ds:
        raise ValueError("not a DICOM file (no UID found in it)")
    ids = orthanc_ids(*(None if value is None else str(value) for value in values))
    tags = {level: _main_tags(ds, level) for level in LEVELS}
    return FileHeader(file, ids, tags, file.stat().st_size)


def _index_in_series(tags: dict[str, str | None]) -> str | None:
    """Orthanc's ``IndexInSeries``: InstanceNumber, else ImageIndex."""
    for keyword in ("InstanceNumber", "ImageIndex"):
        text = (tags.get(keyword) or "").strip()
        if text:
            return text
    return None


def _files_below(path: Path, recursive: bool) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(
            f"Cannot read DICOM files from {os.fspath(path)!r}: no such folder."
        )
    pattern = path.rglob("*") if recursive else path.glob("*")
    return sorted(candidate for candidate in pattern if candidate.is_file())


def _unreadable_reason(error: BaseException) -> str:
    if isinstance(error, InvalidDicomError):
        return (
            "not a DICOM file: no 'DICM' prefix or File Meta Information (Orthanc refuses it too)"
        )
    return f"cannot be read as DICOM: {type(error).__name__}: {error}"


def _file_problem(path: Path, reason: str) -> Problem:
    return Problem(FILE_LEVEL, str(path), "path", str(path), reason)


def _records(
    headers: Iterable[FileHeader],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], list[Problem]]:
    """Records per level (as :func:`build_frame` wants them), paths by instance, duplicates."""
    first: dict[str, dict[str, dict[str, Any]]] = {level: {} for level in LEVELS}
    children: dict[str, dict[str, set[str]]] = {level: {} for level in LEVELS}
    paths: dict[str, str] = {}
    problems: list[Problem] = []
    for header in headers:
        instance_id = header.ids.instance
        if instance_id in paths:
            kept = paths[instance_id]
            problems.append(
                _file_problem(header.path, f"duplicate of {kept} (same SOPInstanceUID)")
            )
            continue
        for level in LEVELS:
            own_id = getattr(header.ids, level)
            parent = PARENT[level]
            if parent is not None:
                children[parent].setdefault(getattr(header.ids, parent), set()).add(own_id)
            if own_id in first[level]:
                continue
            record: dict[str, Any] = {"ID": own_id, **header.tags[level]}
            for link in LINKS[level]:
                record[link] = getattr(header.ids, link)
            record["labels"] = None
            if level == "instance":
                record["file_size"] = header.size
                record["index_in_series"] = _index_in_series(header.tags["instance"])
                paths[own_id] = str(header.path)
            first[level][own_id] = record
    for level, count_column in CHILDREN_COUNT.items():
        for own_id, record in first[level].items():
            record[count_column] = len(children[level].get(own_id, ()))
    return {level: list(first[level].values()) for level in LEVELS}, paths, problems


def frames_from_folder(
    path: str | os.PathLike[str],
    *,
    workers: int = 4,
    progress: bool | None = None,
    recursive: bool = True,
) -> Frames:
    """Build the four frames from local DICOM files, with the server's Orthanc IDs.

    Parameters
    ----------
    path : str or Path
        A folder (every file below it) or one file.
    workers : int
        Files read in parallel.
    progress : bool, optional
        Progress bar; by default shown when interactive.
    recursive : bool
        Descend into sub-folders.

    Returns
    -------
    Frames
        ``client`` is None. The index of every frame is the Orthanc ID the
        server gives (or would give) the resource; columns and dtypes are
        those of server frames (Orthanc-only fields such as ``labels``,
        ``last_update`` and ``is_stable`` are missing); ``instances`` has a
        ``path`` column. ``problems`` lists unparseable values like server
        frames do, plus one row per unreadable, unstorable or duplicate
        file (level ``"file"``, id = the path, reason).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    """
    files = _files_below(Path(path), recursive)
    outcomes = run_each(
        read_headers, files, workers=workers, progress=progress, desc="read headers", unit="file"
    )
    problems: list[Problem] = [
        _file_problem(outcome.item, _unreadable_reason(outcome.error))
        for outcome in outcomes
        if outcome.error is not None
    ]
    headers = [outcome.value for outcome in outcomes if outcome.value is not None]
    records, paths, duplicates = _records(headers)
    problems += duplicates
    frames: dict[str, pd.DataFrame] = {}
    for level in LEVELS:
        frame = build_frame(level, records[level], (), problems)
        if level == "instance":
            frame["path"] = pd.Series(
                [paths[identifier] for identifier in frame.index],
                index=frame.index,
                dtype=pd.ArrowDtype(pa.string()),
            )
        frames[level] = frame
    return Frames(frames, problems=problems_frame(problems), client=None)
