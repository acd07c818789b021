"""Send DICOM data to Orthanc: files, folders, ZIP archives, pydicom datasets."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._html import html_card
from .._parallel import DEFAULT_WORKERS, check_workers, run_each
from ..client.errors import HTTPError, OrthancError
from ._listing import capped_listing

__all__ = ["RejectedFile", "StoredInstance", "UploadReport", "upload"]

_DICOM_MAGIC_OFFSET = 128
_REJECTIONS_SHOWN = 3
"""Rejected files named in an :class:`UploadReport`'s repr (then "and N more")."""


@dataclass(frozen=True)
class StoredInstance:
    """One instance the server accepted.

    Attributes
    ----------
    source : str
        Where it came from: a file path, ``archive.zip!member/name`` or
        ``<Dataset 3: 1.2.3...>``.
    id : str
        The instance's Orthanc ID.
    patient, study, series : str
        Orthanc IDs of its parents.
    status : str
        Orthanc's ``Status``: ``"Success"`` (stored now) or ``"AlreadyStored"``.
    """

    source: str
    id: str
    patient: str
    study: str
    series: str
    status: str


@dataclass(frozen=True)
class RejectedFile:
    """One file that was not stored, and why.

    Attributes
    ----------
    source : str
        As in :class:`StoredInstance`.
    reason : str
        The server's explanation (Orthanc's details when it gave some), or
        the local error (unreadable file, connection failure).
    status : int or None
        The HTTP status of the refusal, None for a local or network error.
    """

    source: str
    reason: str
    status: int | None = None


@dataclass
class UploadReport:
    """What :func:`upload` stored and what was rejected.

    Attributes
    ----------
    stored : list of StoredInstance
        Accepted instances (new and already stored), in input order.
    rejected : list of RejectedFile
        Everything that was not stored, with the reason.

    Its repr and str give the counts and name the first rejected files with
    the reason (then "and N more").
    """

    stored: list[StoredInstance] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)

    @property
    def instance_ids(self) -> list[str]:
        """Orthanc IDs of the stored instances, without duplicates."""
        return list(dict.fromkeys(item.id for item in self.stored))

    @property
    def new(self) -> list[StoredInstance]:
        """Instances that were not on the server before (``Status == "Success"``)."""
        return [item for item in self.stored if item.status == "Success"]

    def __bool__(self) -> bool:
        return not self.rejected

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per source (stored or rejected), for a DataFrame."""
        records: list[dict[str, Any]] = [
            {
                "source": item.source,
                "status": "ok",
                "orthanc_status": item.status,
                "instance": item.id,
                "series": item.series,
                "study": item.study,
                "patient": item.patient,
                "error": None,
            }
            for item in self.stored
        ]
        records += [
            {"source": item.source, "status": "failed", "error": item.reason}
            for item in self.rejected
        ]
        return records

    def raise_for_rejections(self) -> UploadReport:
        """Raise :class:`OrthancError` listing the rejected files; return ``self`` otherwise."""
        if self.rejected:
            lines = [f"{item.source}: {item.reason}" for item in self.rejected]
            raise OrthancError(
                f"{len(self.rejected)} file(s) were not stored:\n{capped_listing(lines)}"
            )
        return self

    def __repr__(self) -> str:
        counts = (
            f"{len(self.new)} new, {len(self.stored) - len(self.new)} already stored, "
            f"{len(self.rejected)} rejected"
        )
        if not self.rejected:
            return f"UploadReport({counts})"
        shown = [f"{item.source}: {item.reason}" for item in self.rejected[:_REJECTIONS_SHOWN]]
        more = len(self.rejected) - len(shown)
        listing = "; ".join(shown) + (f"; and {more} more" if more else "")
        return f"UploadReport({counts}: {listing})"

    __str__ = __repr__

    def _repr_html_(self, max_rows: int = 20) -> str:
        fields = {
            "new": len(self.new),
            "already stored": len(self.stored) - len(self.new),
            "rejected": len(self.rejected),
        }
        rows = [[item.source, item.reason] for item in self.rejected[:max_rows]]
        return html_card(
            "Upload",
            fields=fields,
            table=rows,
            headers=("file", "why it was rejected"),
            more=max(0, len(self.rejected) - max_rows),
        )


@dataclass(frozen=True)
class _Part:
    """One body to POST: a label for the report and how to read its bytes."""

    source: str
    read: Callable[[], bytes]


def upload(
    client: Any,
    source: Any,
    recursive: bool = True,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
) -> UploadReport:
    """Store DICOM data in the server (``POST /instances``).

    Parameters
    ----------
    client : Orthanc
        The server to store into.
    source : path-like, pydicom.Dataset, bytes, or a list of these
        A DICOM file; a folder (every file in it, and in its sub-folders
        when ``recursive``); a ZIP archive (each member is sent and
        reported on its own); a pydicom ``Dataset`` (written as a DICOM
        file in memory); raw DICOM ``bytes``.
    recursive : bool
        Descend into sub-folders.
    workers : int
        Uploads in flight at once (at most the client's ``pool_size``); each holds
        one file in memory.
    progress : bool, optional
        Show a progress bar; default: in notebooks and terminals only.

    Returns
    -------
    UploadReport
        ``stored`` (with Orthanc's IDs and ``Status``) and ``rejected``
        (with the server's reason, e.g. ``"Cannot parse an invalid DICOM
        file"``). A rejection never stops the other files.

    Raises
    ------
    FileNotFoundError
        When a path given in ``source`` does not exist (nothing is sent).
    TypeError
        For a source of another type.

    Examples
    --------
    >>> report = upload(c, "cohort/")
    >>> report  # doctest: +ELLIPSIS
    UploadReport(... new, ... already stored, 0 rejected)
    >>> report.rejected
    []
    """
    check_workers(workers)
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    for item in sources:
        if isinstance(item, (str, os.PathLike)) and not Path(item).exists():
            raise FileNotFoundError(
                f"Cannot upload {os.fspath(item)!r}: no such file or folder. Nothing was sent."
            )
    parts = _parts(sources, recursive)

    def send(part: _Part) -> Any:
        return client.POST("/instances", data=part.read())

    report = UploadReport()
    outcomes = run_each(
        send, parts, workers=workers, client=client, progress=progress, desc="upload", unit="file"
    )
    for outcome in outcomes:
        part = outcome.item
        if outcome.error is not None:
            report.rejected.append(_rejection(part.source, outcome.error))
            continue
        answers: list[Any] = outcome.value if isinstance(outcome.value, list) else [outcome.value]
        for answer in answers:
            report.stored.append(
                StoredInstance(
                    source=part.source,
                    id=answer["ID"],
                    patient=answer.get("ParentPatient", ""),
                    study=answer.get("ParentStudy", ""),
                    series=answer.get("ParentSeries", ""),
                    status=answer.get("Status", ""),
                )
            )
    return report


def _rejection(source: str, error: BaseException) -> RejectedFile:
    if isinstance(error, HTTPError):
        said = [text for text in (error.message, error.details) if isinstance(text, str) and text]
        reason = "; ".join(dict.fromkeys(said)) or str(error)
        return RejectedFile(source, f"{reason} (HTTP {error.status})", error.status)
    if isinstance(error, OrthancError):
        return RejectedFile(source, str(error))
    return RejectedFile(source, f"{type(error).__name__}: {error}")


def _parts(sources: Iterable[Any], recursive: bool) -> list[_Part]:
    parts: list[_Part] = []
    for position, item in enumerate(sources):
        parts.extend(_parts_of(item, position, recursive))
    return parts


def _parts_of(item: Any, position: int, recursive: bool) -> Iterator[_Part]:
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if path.is_dir():
            pattern = path.rglob("*") if recursive else path.glob("*")
            for file in sorted(candidate for candidate in pattern if candidate.is_file()):
                yield from _parts_of_file(file)
        else:
            yield from _parts_of_file(path)
    elif isinstance(item, (bytes, bytearray)):
        data = bytes(item)
        yield _Part(f"<bytes #{position}: {len(data)} bytes>", lambda: data)
    elif _is_dataset(item):
        uid = getattr(item, "SOPInstanceUID", "no SOPInstanceUID")
        yield _Part(f"<Dataset #{position}: {uid}>", lambda: _dataset_bytes(item))
    else:
        raise TypeError(
            f"Cannot upload {type(item).__name__} {item!r:.80}: give a file or folder path, "
            "a ZIP archive, a pydicom Dataset, DICOM bytes, or a list of these."
        )


def _parts_of_file(path: Path) -> Iterator[_Part]:
    if _is_zip(path):
        with zipfile.ZipFile(path) as archive:
            members = [info.filename for info in archive.infolist() if not info.is_dir()]
        for member in members:
            yield _Part(f"{path}!{member}", _zip_member_reader(path, member))
    else:
        yield _Part(str(path), path.read_bytes)


def _zip_member_reader(path: Path, member: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(path) as archive:
            return archive.read(member)

    return read


def _is_zip(path: Path) -> bool:
    # A DICOM file's 128-byte preamble may hold anything, even "PK": a file
    # with the DICM marker is DICOM whatever its preamble says.
    try:
        with open(path, "rb") as handle:
            head = handle.read(_DICOM_MAGIC_OFFSET + 4)
    except OSError:
        return False
    if head[_DICOM_MAGIC_OFFSET:] == b"DICM":
        return False
    return head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path)


def _is_dataset(item: Any) -> bool:
    try:
        from pydicom.dataset import Dataset
    except ImportError:  # pragma: no cover - pydicom is a dependency
        return False
    return isinstance(item, Dataset)


def _dataset_bytes(dataset: Any) -> bytes:
    from pydicom import dcmwrite
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = getattr(dataset, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        # A dataset built in memory has no transfer syntax yet: write it with
        # DICOM's default for files, on a copy (the caller's stays untouched).
        dataset = Dataset(dataset)
        dataset.file_meta = FileMetaDataset(meta or {})
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()
