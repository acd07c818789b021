"""Download resources to local files: DICOM files, ZIP archives or NIfTI volumes.

One mechanism, :func:`download`, serves every level and format:

- where each file goes is worked out from a few ``/tools/find`` pages
  (see :mod:`orthanc_frames.transfer._layout`), never one request per
  resource for naming;
- every path component is sanitized and the joined path is proven to lie
  inside the download folder (:mod:`orthanc_frames.transfer.paths`);
- bodies are streamed to a temporary name beside the target and renamed
  when complete (``Orthanc.stream``), on a bounded pool of threads, with a
  progress bar;
- a re-run skips what is already complete (see :func:`download`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .._html import html_card
from .._parallel import DEFAULT_WORKERS, check_workers, describe_error, run_each
from ..client import route
from ..client.errors import OrthancError
from ..resources.job import Job
from ..resources.lookup import bulk_content, not_found_text
from ._layout import (
    IDENTIFIER_TAGS,
    component_name,
    layout_rows,
    name_components,
    normalize_level,
    route_of,
)
from ._listing import capped_listing
from .paths import join_inside, safe_component, unique_names

__all__ = [
    "DownloadFormat",
    "DownloadItem",
    "DownloadReport",
    "download",
    "retrieve_and_write_instances",
    "retrieve_and_write_patients",
    "retrieve_and_write_series",
    "retrieve_and_write_studies",
]

DownloadFormat = Literal["dicom", "zip", "nifti"]
Status = Literal["ok", "failed", "skipped"]
_EXTENSIONS = {"dicom": ".dcm", "zip": ".zip", "nifti": ".nii.gz"}


@dataclass(frozen=True)
class DownloadItem:
    """What happened to one file of a download.

    Attributes
    ----------
    source : str
        Orthanc ID of the selected resource the file belongs to.
    level : str
        Level of the resource the file holds (``"instance"`` for DICOM
        files, the selection's level for ZIP archives, ``"series"`` for NIfTI).
    id : str
        Orthanc ID of that resource.
    path : Path or None
        The local file (None when no path could be made).
    status : {"ok", "failed", "skipped"}
        ``"ok"``: written now; ``"skipped"``: already complete on disk;
        ``"failed"``: see ``error``.
    error : str or None
        What went wrong, for failed items.
    size : int or None
        Bytes of the file on disk.
    """

    source: str
    level: str
    id: str
    path: Path | None
    status: Status
    error: str | None = None
    size: int | None = None


@dataclass
class DownloadReport:
    """The account of one download: one :class:`DownloadItem` per file.

    A failure never stops the other files; check :attr:`failed` or call
    :meth:`raise_for_failures`.

    Attributes
    ----------
    path : Path
        The download folder.
    level : str
        Level of the selected resources.
    format : str
        ``"dicom"``, ``"zip"`` or ``"nifti"``.
    items : list of DownloadItem
        Every file, in the server's order.
    """

    path: Path
    level: str
    format: str
    items: list[DownloadItem] = field(default_factory=list)

    @property
    def ok(self) -> list[DownloadItem]:
        """Items written by this run."""
        return [item for item in self.items if item.status == "ok"]

    @property
    def skipped(self) -> list[DownloadItem]:
        """Items already complete on disk."""
        return [item for item in self.items if item.status == "skipped"]

    @property
    def failed(self) -> list[DownloadItem]:
        """Items that could not be written."""
        return [item for item in self.items if item.status == "failed"]

    @property
    def files_written(self) -> list[Path]:
        """Paths written by this run."""
        return [item.path for item in self.ok if item.path is not None]

    @property
    def files(self) -> list[Path]:
        """Paths that are complete on disk now (written or skipped)."""
        return [item.path for item in self.items if item.path and item.status != "failed"]

    def __bool__(self) -> bool:
        return not self.failed

    def by_source(self) -> list[dict[str, Any]]:
        """One record per selected resource: ``id``, ``status``, ``error``, ``files``.

        ``status`` is ``"failed"`` when any of its files failed, ``"skipped"``
        when all were already complete, ``"ok"`` otherwise; ``error`` joins
        the distinct errors.
        """
        grouped: dict[str, list[DownloadItem]] = {}
        for item in self.items:
            grouped.setdefault(item.source, []).append(item)
        records = []
        for source, items in grouped.items():
            errors = list(dict.fromkeys(item.error for item in items if item.error))
            if errors:
                status = "failed"
            elif all(item.status == "skipped" for item in items):
                status = "skipped"
            else:
                status = "ok"
            records.append(
                {
                    "id": source,
                    "status": status,
                    "error": "; ".join(errors) or None,
                    "files": sum(item.status != "failed" for item in items),
                }
            )
        return records

    def to_records(self) -> list[dict[str, Any]]:
        """The items as plain dicts (for a DataFrame)."""
        return [
            {
                "source": item.source,
                "level": item.level,
                "id": item.id,
                "path": None if item.path is None else str(item.path),
                "status": item.status,
                "error": item.error,
                "size": item.size,
            }
            for item in self.items
        ]

    def raise_for_failures(self) -> DownloadReport:
        """Raise :class:`OrthancError` listing the failed files; return ``self`` otherwise."""
        failed = self.failed
        if failed:
            lines = [f"{item.level} {item.id}: {item.error}" for item in failed]
            raise OrthancError(
                f"{len(failed)} of {len(self.items)} files of the download to {self.path} "
                f"failed:\n{capped_listing(lines)}\nRe-run the download to retry them; "
                "complete files are skipped."
            )
        return self

    def __repr__(self) -> str:
        return (
            f"DownloadReport({self.format} of {self.level} to {str(self.path)!r}: "
            f"{len(self.ok)} written, {len(self.skipped)} skipped, {len(self.failed)} failed)"
        )

    def _repr_html_(self, max_rows: int = 20) -> str:
        failed = self.failed
        fields = {
            "folder": self.path,
            "written": len(self.ok),
            "skipped (complete)": len(self.skipped),
            "failed": len(failed),
        }
        rows = [[item.level, item.id, item.error] for item in failed[:max_rows]]
        return html_card(
            f"Download ({self.format} of {self.level})",
            fields=fields,
            table=rows,
            headers=("level", "id", "error"),
            more=max(0, len(failed) - max_rows),
        )


@dataclass(frozen=True)
class _Task:
    source: str
    level: str
    id: str
    path: Path
    fetch: Callable[[Path], Any]
    is_complete: Callable[[Path], bool]


def download(
    client: Any,
    level: str,
    ids: Iterable[str] | str,
    path: str | os.PathLike[str],
    *,
    format: DownloadFormat | str = "dicom",
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    overwrite: bool = False,
    archive_as_job: bool = False,
) -> DownloadReport:
    """Download resources of one level into a folder.

    Parameters
    ----------
    client : Orthanc
        The server to read from.
    level : str
        Level of ``ids``: ``"patient"``, ``"study"``, ``"series"`` or ``"instance"``.
    ids : str or iterable of str
        Orthanc IDs (duplicates are downloaded once).
    path : path-like
        The download folder (created if needed). Nothing is ever written
        outside it.
    format : {"dicom", "zip", "nifti"}
        ``"dicom"``: one file per instance, in
        ``path/<PatientID - PatientName>/<StudyDate - StudyDescription>/
        <SeriesNumber - Modality - SeriesDescription>/<InstanceNumber>.dcm``.
        ``"zip"``: one archive per selected resource, ``path/<name>.zip``.
        ``"nifti"``: one compressed volume per series,
        ``path/<patient>/<study>/<series>.nii.gz`` (Orthanc's neuro plugin).
        Names come from DICOM values, sanitized; a value that gives no
        name falls back to the UID; names that collide in one folder get
        the start of their Orthanc ID appended.
    workers : int
        Files fetched at once (at most the client's ``pool_size``).
    progress : bool, optional
        Show a progress bar; default: in notebooks and terminals only.
    overwrite : bool
        Fetch every file again. By default a re-run skips complete files:
        a DICOM file is complete when its size equals the size Orthanc
        stores for the instance; a ZIP or NIfTI file is complete when it
        exists (files only ever appear under their final name once fully
        written).
    archive_as_job : bool
        ``format="zip"`` only: have Orthanc build each archive as a job
        first, then stream the finished archive (for very large resources
        behind proxies that cut long silent requests).

    Returns
    -------
    DownloadReport
        One item per file; selected resources unknown to the server are
        failed items.

    Raises
    ------
    ValueError
        For an unknown level or format.
    UnsupportedByServer
        For ``format="nifti"`` without the neuro plugin.

    Notes
    -----
    Every target path is checked with :func:`join_inside` before anything
    is written; a path that would leave ``path`` (a symbolic link inside
    it pointing out, say) becomes a failed item with an
    :class:`UnsafePathError` message instead of a file. The cost is one
    ``/tools/bulk-content`` request per 500 selected resources, the
    ``/tools/find`` pages of the rows, and one request per file.

    Examples
    --------
    >>> report = download(c, "study", [study_id], "out")
    >>> report  # doctest: +ELLIPSIS
    DownloadReport(dicom of study to '...out': ... written, 0 skipped, 0 failed)
    """
    level = normalize_level(level)
    check_workers(workers)
    if format not in _EXTENSIONS:
        raise ValueError(f"Unknown format {format!r}; use 'dicom', 'zip' or 'nifti'.")
    if format == "nifti":
        client.capabilities.require_plugin("neuro", "Downloading NIfTI volumes")
        if level == "instance":
            raise ValueError(
                "NIfTI volumes are made per series: select series, studies or patients."
            )
    wanted = list(dict.fromkeys([ids] if isinstance(ids, str) else ids))
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    report = DownloadReport(path=root.resolve(), level=level, format=format)
    if not wanted:
        return report
    selected, missing = bulk_content(client, level, wanted)
    for resource_id in missing:
        report.items.append(
            DownloadItem(
                resource_id,
                level,
                resource_id,
                None,
                "failed",
                not_found_text(level, resource_id),
            )
        )
    if format == "zip":
        tasks, unplaced = _zip_tasks(client, level, selected, root, archive_as_job)
    else:
        tasks, unplaced = _layout_tasks(client, level, selected, root, format)
    report.items.extend(unplaced)

    def run(task: _Task) -> DownloadItem:
        if not overwrite and task.is_complete(task.path):
            return _item(task, "skipped")
        task.fetch(task.path)
        return _item(task, "ok")

    outcomes = run_each(
        run, tasks, workers=workers, client=client, progress=progress, desc="download", unit="file"
    )
    for outcome in outcomes:
        if outcome.value is not None:
            report.items.append(outcome.value)
        else:
            task = outcome.item
            report.items.append(
                DownloadItem(
                    task.source, task.level, task.id, task.path, "failed", _describe(outcome.error)
                )
            )
    return report


def _item(task: _Task, status: Status) -> DownloadItem:
    return DownloadItem(task.source, task.level, task.id, task.path, status, size=_size(task.path))


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _describe(error: BaseException | None) -> str:
    return "unknown error" if error is None else describe_error(error)


def _exists(path: Path) -> bool:
    return path.is_file()


def _layout_tasks(
    client: Any,
    level: str,
    selected: dict[str, dict[str, Any]],
    root: Path,
    format: str,
) -> tuple[list[_Task], list[DownloadItem]]:
    target = "series" if format == "nifti" else "instance"
    rows = layout_rows(client, level, selected, target)
    components = name_components(rows, target)
    extension = _EXTENSIONS[format]
    tasks: list[_Task] = []
    unplaced: list[DownloadItem] = []
    for row in rows:
        resource_id = row.ids[target]
        *folders, stem = components[resource_id]
        try:
            destination = join_inside(root, *folders, stem + extension)
        except OrthancError as error:
            unplaced.append(
                DownloadItem(row.source, target, resource_id, None, "failed", _describe(error))
            )
            continue
        if format == "nifti":
            tasks.append(
                _Task(
                    row.source,
                    target,
                    resource_id,
                    destination,
                    _streamer(
                        client, route("series", resource_id, "nifti"), params={"compress": ""}
                    ),
                    _exists,
                )
            )
        else:
            tasks.append(
                _Task(
                    row.source,
                    target,
                    resource_id,
                    destination,
                    _streamer(client, route("instances", resource_id, "file")),
                    _has_size(row.file_size),
                )
            )
    for source in selected:
        if not any(row.source == source for row in rows):
            unplaced.append(
                DownloadItem(
                    source,
                    level,
                    source,
                    None,
                    "failed",
                    f"The {level} {source} has no {target} to download "
                    "(it may be empty or changing on the server).",
                )
            )
    return tasks, unplaced


def _zip_tasks(
    client: Any,
    level: str,
    selected: dict[str, dict[str, Any]],
    root: Path,
    as_job: bool,
) -> tuple[list[_Task], list[DownloadItem]]:
    proposed = {
        resource_id: _archive_name(level, resource_id, resource)
        for resource_id, resource in selected.items()
    }
    names = unique_names(proposed, {resource_id: resource_id[:8] for resource_id in proposed})
    tasks: list[_Task] = []
    unplaced: list[DownloadItem] = []
    for resource_id in selected:
        try:
            destination = join_inside(root, names[resource_id] + ".zip")
        except OrthancError as error:
            unplaced.append(
                DownloadItem(resource_id, level, resource_id, None, "failed", _describe(error))
            )
            continue
        fetch = (
            _archive_job_streamer(client, resource_id)
            if as_job
            else _streamer(client, route(route_of(level), resource_id, "archive"))
            if level != "instance"
            else _streamer(
                client,
                "/tools/create-archive",
                method="POST",
                json={"Resources": [resource_id], "Synchronous": True},
            )
        )
        tasks.append(_Task(resource_id, level, resource_id, destination, fetch, _exists))
    return tasks, unplaced


def _archive_name(level: str, resource_id: str, resource: dict[str, Any]) -> str:
    tags = resource.get("MainDicomTags", {})
    name = component_name(level, tags, tags.get(IDENTIFIER_TAGS[level]) or resource_id)
    patient_tags = resource.get("PatientMainDicomTags")
    if level == "study" and patient_tags:
        patient = component_name("patient", patient_tags, patient_tags.get("PatientID") or "")
        return safe_component(f"{patient} - {name}", fallback=resource_id)
    return name


def _has_size(expected: int | None) -> Callable[[Path], bool]:
    def is_complete(path: Path) -> bool:
        return expected is not None and _size(path) == expected

    return is_complete


def _streamer(
    client: Any,
    route: str,
    *,
    method: str = "GET",
    params: dict[str, Any] | None = None,
    json: Any = None,
) -> Callable[[Path], Any]:
    def fetch(destination: Path) -> Any:
        return client.stream(route, destination, method=method, params=params, json=json)

    return fetch


def _archive_job_streamer(client: Any, resource_id: str) -> Callable[[Path], Any]:
    def fetch(destination: Path) -> Any:
        job = client.POST(
            "/tools/create-archive", json={"Resources": [resource_id], "Asynchronous": True}
        )
        job_id = job["ID"]
        Job(job_id, client).wait_until_completion()
        try:
            return client.stream(route("jobs", job_id, "archive"), destination)
        finally:
            # Free the server's disk: the archive stays there until deleted.
            with contextlib.suppress(OrthancError):
                client.DELETE(route("jobs", job_id, "archive"))

    return fetch


# -- public wrappers taking resource objects --------------------------------


def _download_resources(
    resources: Iterable[Any] | Any,
    level: str,
    path: str | os.PathLike[str],
    format: DownloadFormat | str,
    workers: int,
    progress: bool | None,
    overwrite: bool,
) -> DownloadReport:
    items: Sequence[Any] = (
        [resources]
        if hasattr(resources, "id") and hasattr(resources, "client")
        else list(resources)
    )
    check_workers(workers)
    groups: dict[tuple[int, str], tuple[Any, list[str]]] = {}
    top_of: dict[str, str] = {}
    for resource in items:
        resource_level = getattr(resource, "level", None)
        if resource_level is not None and normalize_level(str(resource_level)) != level:
            raise ValueError(
                f"retrieve_and_write for {level} resources was given a {resource_level} "
                f"({resource.id}); use the function of that level."
            )
        for part in _kept_parts(resource):
            part_level = normalize_level(str(getattr(part, "level", level)))
            key = (id(part.client), part_level)
            groups.setdefault(key, (part.client, []))[1].append(part.id)
            top_of[part.id] = resource.id
    report = DownloadReport(path=Path(path).resolve(), level=level, format=format)
    for (_, part_level), (client, ids) in groups.items():
        written = download(
            client,
            part_level,
            ids,
            path,
            format=format,
            workers=workers,
            progress=progress,
            overwrite=overwrite,
        )
        report.items.extend(
            replace(item, source=top_of.get(item.source, item.source)) for item in written.items
        )
    return report


def _kept_parts(resource: Any) -> list[Any]:
    """What to write for ``resource``: itself, or the children it was narrowed to.

    A resource made with ``lock_children=True`` whose children were fixed
    (by :func:`~orthanc_frames.find_and_filter_patients`, say) stands for
    those children only: its files are theirs, recursively.
    """
    children = getattr(resource, "_children", None)
    if not getattr(resource, "lock_children", False) or children is None:
        return [resource]
    return [part for child in children for part in _kept_parts(child)]


def retrieve_and_write_patients(
    patients: Iterable[Any] | Any,
    path: str | os.PathLike[str],
    *,
    format: DownloadFormat | str = "dicom",
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    overwrite: bool = False,
) -> DownloadReport:
    """Write the files of patients under ``path`` (``Patient/Study/Series/file``).

    Parameters
    ----------
    patients : Patient or iterable of Patient
        Resource objects (anything with ``.id`` and ``.client``), from one
        or several servers. A resource made with ``lock_children=True``
        whose children are fixed (the result of
        :func:`~orthanc_frames.find_and_filter_patients`) writes only
        those children's files: exactly what the filters kept.
    path : path-like
        The download folder.
    format, workers, progress, overwrite
        As in :func:`download`.

    Returns
    -------
    DownloadReport
    """
    return _download_resources(patients, "patient", path, format, workers, progress, overwrite)


def retrieve_and_write_studies(
    studies: Iterable[Any] | Any,
    path: str | os.PathLike[str],
    *,
    format: DownloadFormat | str = "dicom",
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    overwrite: bool = False,
) -> DownloadReport:
    """Write the files of studies under ``path`` (``Patient/Study/Series/file``).

    Parameters and result as in :func:`retrieve_and_write_patients`.
    """
    return _download_resources(studies, "study", path, format, workers, progress, overwrite)


def retrieve_and_write_series(
    series: Iterable[Any] | Any,
    path: str | os.PathLike[str],
    *,
    format: DownloadFormat | str = "dicom",
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    overwrite: bool = False,
) -> DownloadReport:
    """Write the files of series under ``path`` (``Patient/Study/Series/file``).

    Parameters and result as in :func:`retrieve_and_write_patients`.
    """
    return _download_resources(series, "series", path, format, workers, progress, overwrite)


def retrieve_and_write_instances(
    instances: Iterable[Any] | Any,
    path: str | os.PathLike[str],
    *,
    format: DownloadFormat | str = "dicom",
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    overwrite: bool = False,
) -> DownloadReport:
    """Write instance files under ``path`` (``Patient/Study/Series/file``).

    Parameters and result as in :func:`retrieve_and_write_patients`.
    """
    return _download_resources(instances, "instance", path, format, workers, progress, overwrite)
