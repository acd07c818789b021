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

Files are named exactly as Orthanc names them (see
:func:`~orthanc_frames.orthanc_ids.dataset_identifiers`): files with no
preamble or no file meta header are read, a ``PatientID`` missing from the
file is the empty string, a value written with VR ``UN`` keeps its
padding, values are decoded with the file's character set.

Every file below the folder is accounted for: it is an instance row, or a
row of ``problems`` with level ``"file"`` (``id`` and ``value``: the path;
``reason``: why). A file that is not DICOM, that is truncated (Orthanc
refuses it too), that lacks ``StudyInstanceUID``, ``SeriesInstanceUID`` or
``SOPInstanceUID`` (Orthanc refuses it), or that is a second copy of an
instance already read from another file, is such a row; nothing is
skipped silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from .._parallel import DEFAULT_WORKERS, check_workers, run_each
from ..dicom_tags import DEFAULT_MAIN_TAGS, LEVELS
from ..orthanc_ids import OrthancIds, dataset_identifiers, orthanc_ids
from .container import Frames
from .load import CHILDREN_COUNT, LINKS, PARENT, build_frame
from .schema import Problem, problems_frame

__all__ = [
    "FILE_LEVEL",
    "FileHeader",
    "UnstorableFileError",
    "frames_from_folder",
    "read_headers",
]

FILE_LEVEL = "file"
"""The ``level`` of problems about a whole file (unreadable, not storable, duplicate)."""

_UNDEFINED_LENGTH = 0xFFFFFFFF
# Values above this size are not read (their place in the file is checked).
_DEFER_SIZE = 4096
_PREAMBLE = 132  # 128 bytes, then "DICM"
_IMPLICIT_VR = "1.2.840.10008.1.2"
_DEFLATED = "1.2.840.10008.1.2.1.99"


class UnstorableFileError(ValueError):
    """A file that Orthanc would refuse to store (the message says why)."""


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
    unreadable : dict
        Main DICOM tag -> why pydicom could not read its value (the tag
        is then missing, and a row of ``problems``).
    """

    path: Path
    ids: OrthancIds
    tags: dict[str, dict[str, str | None]]
    size: int
    unreadable: dict[str, str] = field(default_factory=dict)


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


def _main_tags(ds: Dataset, level: str, unreadable: dict[str, str]) -> dict[str, str | None]:
    tags: dict[str, str | None] = {}
    for keyword in DEFAULT_MAIN_TAGS[level]:
        try:
            element = ds.get(keyword)
        except Exception as error:  # a value pydicom cannot convert
            unreadable[keyword] = f"pydicom cannot read the value: {type(error).__name__}: {error}"
            continue
        if element is not None:
            tags[keyword] = _text(element)
    return tags


def _truncation(ds: Dataset, size: int) -> str | None:
    """Why the file is shorter than its elements say, or None."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax == _DEFLATED:
        return None  # offsets are in the inflated data set, not in the file
    for tag in ds.keys():  # noqa: SIM118 - iterating a Dataset would convert raw values
        try:
            element = ds.get_item(tag, keep_deferred=True)  # pydicom 3
        except TypeError:  # pragma: no cover - pydicom 2 reads a deferred value here
            element = ds.get_item(tag)
        length = getattr(element, "length", None)
        start = getattr(element, "value_tell", None)
        if length is None or start is None or length == _UNDEFINED_LENGTH:
            continue
        if start + length > size:
            return (
                f"truncated: element {tag} needs {length} bytes from offset {start}, the "
                f"file has {size} bytes (Orthanc refuses it: invalid DICOM file)"
            )
    return None


def _encoding_mismatch(file: Path, ds: Dataset) -> str | None:
    """Why the data set is not in the VR encoding its file meta header declares, or None.

    pydicom reads such a file anyway (it warns); Orthanc's parser trusts
    the header and refuses the file.
    """
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or syntax == _DEFLATED:
        return None
    with open(file, "rb") as handle:
        head = handle.read(_PREAMBLE + 12)
        if head[_PREAMBLE - 4 : _PREAMBLE] != b"DICM" or head[_PREAMBLE : _PREAMBLE + 6] != (
            b"\x02\x00\x00\x00UL"
        ):
            return None  # no group length to find the data set by: nothing to check
        group_length = int.from_bytes(head[_PREAMBLE + 8 : _PREAMBLE + 12], "little")
        handle.seek(_PREAMBLE + 12 + group_length)
        first = handle.read(6)
    if len(first) < 6:
        return None
    found_implicit = not (0x40 < first[4] < 0x5B and 0x40 < first[5] < 0x5B)
    if found_implicit == (syntax == _IMPLICIT_VR):
        return None
    found = "implicit" if found_implicit else "explicit"
    return (
        f"the file meta header declares transfer syntax {syntax} but the data set is written "
        f"in {found} VR (Orthanc refuses it: invalid DICOM file)"
    )


def read_headers(path: str | os.PathLike[str]) -> FileHeader:
    """Read one file's header into what the frames need, as Orthanc would read it.

    Parameters
    ----------
    path : str or Path
        A DICOM file, with or without the 128-byte preamble and the file
        meta header.

    Returns
    -------
    FileHeader

    Raises
    ------
    UnstorableFileError
        When Orthanc would refuse the file: not DICOM, truncated, or an
        identifier it needs is missing (the message says which).
    Exception
        Whatever pydicom raises for a file it cannot parse at all.
    """
    file = Path(path)
    size = file.stat().st_size
    ds = pydicom.dcmread(file, force=True, defer_size=_DEFER_SIZE)
    identifiers = dataset_identifiers(ds)
    if not any(identifiers[1:]) and "SOPClassUID" not in ds:
        raise UnstorableFileError(
            "not DICOM, or a DICOMDIR: no StudyInstanceUID, SeriesInstanceUID or "
            "SOPInstanceUID found (Orthanc refuses it too)"
        )
    refused = _truncation(ds, size) or _encoding_mismatch(file, ds)
    if refused:
        raise UnstorableFileError(refused)
    try:
        ids = orthanc_ids(*identifiers)
    except ValueError as error:
        raise UnstorableFileError(str(error)) from None
    unreadable: dict[str, str] = {}
    tags = {level: _main_tags(ds, level, unreadable) for level in LEVELS}
    return FileHeader(file, ids, tags, size, unreadable)


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
    if isinstance(error, UnstorableFileError):
        return str(error)
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
    """Records per level (as :func:`build_frame` wants them), paths by instance, problems."""
    first: dict[str, dict[str, dict[str, Any]]] = {level: {} for level in LEVELS}
    children: dict[str, dict[str, set[str]]] = {level: {} for level in LEVELS}
    paths: dict[str, str] = {}
    problems: list[Problem] = []
    for header in headers:
        instance_id = header.ids.instance
        if instance_id in paths:
            kept = paths[instance_id]
            problems.append(
                _file_problem(
                    header.path,
                    f"duplicate of {kept}, instance {instance_id} (same PatientID, StudyInstanceUID, "
                    "SeriesInstanceUID and SOPInstanceUID: Orthanc stores it once)",
                )
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
            for keyword, reason in header.unreadable.items():
                if keyword in DEFAULT_MAIN_TAGS[level]:
                    problems.append(Problem(level, own_id, keyword, "", reason))
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
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    recursive: bool = True,
) -> Frames:
    """Build the four frames from local DICOM files, with the server's Orthanc IDs.

    Parameters
    ----------
    path : str or Path
        A folder (every file below it) or one file.
    workers : int
        Files read at once.
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
        frames do, plus one row per file that is not an instance row
        (level ``"file"``, ``id`` and ``value`` = the path, ``reason``):
        not DICOM, truncated, missing a UID Orthanc needs, or a duplicate.
        So ``len(instances) + (problems.level == "file").sum()`` is the
        number of files read.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    """
    check_workers(workers)
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
