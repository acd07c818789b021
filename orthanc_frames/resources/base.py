"""The one base class of Patient, Study, Series and Instance.

A :class:`Resource` is a handle on one resource of one Orthanc server: an
Orthanc ID, the client that reaches it and whatever is already known of
it. What is known comes from where the object was made:

- built from an ID (``Series(id, client)``), it reads ``/{level}/{id}``
  once, on first need, and keeps the answer (:meth:`Resource.refresh`
  re-reads it);
- built from a find answer or a parent's list of children, it carries the
  main DICOM tags of that answer and never reads them again.

Main DICOM tags are returned as typed Python values, by the rules that type
the frames' columns too (:mod:`orthanc_frames.dicom_values`): dates are
``datetime.date``, numbers numbers, multi-valued tags lists, absent tags
``None``. A value that does not follow its VR's rules raises ``ValueError``
naming the resource and the raw text (a frame has it missing, with a row
in ``problems``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .._deprecation import renamed_keyword
from .._html import html_card
from .._parallel import check_workers
from .._progress import progress_bar
from ..client import route
from ..client.errors import OrthancError
from ..client.names import (
    check_attachment_name,
    check_label,
    check_metadata_name,
    check_orthanc_id,
)
from ..dicom_tags import tag_info
from ..dicom_values import parse_orthanc_timestamp, parse_value, typed_tags
from ..levels import Level
from ._handle import ServerHandle
from .job import Job, JobLost
from .lookup import copies_made_since, instance_count, last_change
from .modification import IDENTIFYING_TAG, Modification, modification_options

if TYPE_CHECKING:
    from ..client import Orthanc

__all__ = ["Resource", "main_tag_property"]

R = TypeVar("R", bound="Resource")

# Shown by repr when already known (a repr never fetches).
_CHILD_LEVEL = {level.value: level.child.value for level in Level if level.child}

_REPR_TAGS = {
    "patient": ("PatientID", "PatientName"),
    "study": ("StudyDate", "StudyDescription"),
    "series": ("Modality", "SeriesNumber", "SeriesDescription"),
    "instance": ("InstanceNumber",),
}


def main_tag_property(keyword: str, doc: str) -> property:
    """A read-only property returning the typed value of one main DICOM tag."""

    def getter(self: Resource) -> Any:
        return self._typed_main_tag(keyword)

    getter.__doc__ = f"{doc} (``{keyword}``, typed; ``None`` when absent)."
    return property(getter)


class Resource(ServerHandle):
    """One patient, study, series or instance on an Orthanc server.

    Parameters
    ----------
    id : str
        The Orthanc ID of the resource (``"0946fcb6-cf12ab43-..."``): five
        groups of 8 lowercase hex digits joined by ``-``; anything else
        raises ``ValueError`` here, before any request.
    client : Orthanc
        The client of the server that stores it.
    lock_children : bool
        Keep the children (``.studies``, ``.series``, ``.instances``) read
        the first time, instead of asking the server at every access. Locked
        children can be filtered (see ``remove_empty_*`` and
        :func:`orthanc_frames.find_and_filter_patients`); they pass the lock
        on to their own children.

    Notes
    -----
    Two resources are equal when they name the same resource of the same
    server: same server URL, level and ID. They can be set members and
    dictionary keys.
    """

    level: ClassVar[str] = ""
    """``"patient"``, ``"study"``, ``"series"`` or ``"instance"``."""
    _route: ClassVar[str] = ""
    _parent_key: ClassVar[str | None] = None
    _children_key: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.level:
            return  # an abstract base (ParentResource): no level of its own
        level = Level.parse(cls.level)
        cls._route, cls._parent_key, cls._children_key = (
            level.route,
            level.parent_key,
            level.children_key,
        )

    def __init__(self, id: str, client: Orthanc, lock_children: bool = False) -> None:
        if not isinstance(id, str):
            raise TypeError(
                f"{type(self).__name__}(id=...) needs an Orthanc ID as a string, "
                f"not {type(id).__name__} {id!r}."
            )
        check_orthanc_id(id, f"{type(self).__name__}(id=...)")
        if not isinstance(lock_children, bool):
            raise TypeError(
                f"lock_children must be True or False, not {type(lock_children).__name__} "
                f"{lock_children!r}."
            )
        self._id = id
        self._client = client
        self.lock_children = lock_children
        self._information: dict[str, Any] | None = None
        self._complete = False
        self._children: list[Resource] | None = None
        self._parent: Resource | None = None

    # -- construction from what is already known ----------------------------

    @classmethod
    def _from_information(
        cls: type[R],
        client: Orthanc,
        information: Mapping[str, Any],
        *,
        complete: bool = False,
        lock_children: bool = False,
    ) -> R:
        """A resource built from an answer that already describes it (no request).

        ``information`` is a ``/{level}/{id}`` answer (``complete=True``),
        an item of a children list or a ``/tools/find`` row; it must hold
        ``ID`` and should hold ``MainDicomTags``.
        """
        resource = cls(str(information["ID"]), client, lock_children)
        info = dict(information)
        metadata = info.get("Metadata")
        if (
            "LastUpdate" not in info
            and isinstance(metadata, Mapping)
            and metadata.get("LastUpdate")
        ):
            info["LastUpdate"] = metadata["LastUpdate"]
        resource._information = info
        resource._complete = complete
        return resource

    # -- identity ------------------------------------------------------------

    @property
    def identifier(self) -> str:
        """The Orthanc ID of the resource (alias of :attr:`id`, as in the seed)."""
        return self._id

    def _kind(self) -> str:
        return self.level

    def __repr__(self) -> str:
        known = self._known_repr_tags()
        shown = "".join(f", {name}={value!r}" for name, value in known.items())
        return f"{type(self).__name__}({self._id!r}{shown})"

    def _repr_html_(self) -> str:
        return html_card(type(self).__name__, self._id, self._known_repr_tags())

    def _known_repr_tags(self) -> dict[str, Any]:
        if self._information is None:
            return {}
        tags = self._information.get("MainDicomTags") or {}
        return {name: tags[name] for name in _REPR_TAGS[self.level] if tags.get(name)}

    # -- what the server says of the resource --------------------------------

    def _path(self, *parts: str | int) -> str:
        return route(self._route, self._id, *parts)

    def get_main_information(self) -> dict[str, Any]:
        """Read ``/{level}/{id}`` from the server again and return it.

        The answer (main DICOM tags, parent and children IDs, labels,
        status) replaces what this object knew.

        Returns
        -------
        dict
            Orthanc's JSON description of the resource.
        """
        self._information = dict(self._client.GET(self._path()))
        self._complete = True
        return dict(self._information)

    def refresh(self: R) -> R:
        """Forget what is known and read the resource again; return ``self``."""
        self.get_main_information()
        self._children = None
        return self

    def _info(self, key: str) -> Any:
        """One field of the description, read from the server only if not known yet."""
        if self._information is None or (key not in self._information and not self._complete):
            self.get_main_information()
        assert self._information is not None
        return self._information.get(key)

    @property
    def main_dicom_tags(self) -> dict[str, Any]:
        """The main DICOM tags as Orthanc sends them (text; multi-valued joined by ``\\``)."""
        return dict(self._info("MainDicomTags") or {})

    @property
    def typed_main_dicom_tags(self) -> dict[str, Any]:
        """The main DICOM tags as typed values; a value that does not parse stays text."""
        return typed_tags(self.main_dicom_tags)

    def _typed_main_tag(self, keyword: str) -> Any:
        raw = self.main_dicom_tags.get(keyword)
        if raw is None:
            return None
        info = tag_info(keyword)
        try:
            return parse_value(info.vr, raw, info.splits)
        except ValueError as exc:
            raise ValueError(
                f"{self!r} has {keyword} = {raw!r}, which is not a valid {info.vr} value "
                f"({exc}). Its raw text is in .main_dicom_tags[{keyword!r}]."
            ) from None

    @property
    def is_stable(self) -> bool:
        """Whether Orthanc considers the resource complete (no new instance for a while)."""
        return bool(self._info("IsStable"))

    @property
    def last_update(self) -> dt.datetime | None:
        """When the resource last changed on the server (server local time).

        Raises
        ------
        ValueError
            When the server's ``LastUpdate`` is not an Orthanc time stamp
            (a frame has it missing, with a row in ``problems``).
        """
        text = self._info("LastUpdate")
        try:
            return parse_orthanc_timestamp(text)
        except ValueError as exc:
            raise ValueError(f"{self!r} has LastUpdate = {text!r}: {exc}.") from None

    @property
    def legacy_viewer_url(self) -> str:
        """The URL of this resource in Orthanc Explorer."""
        return f"{self._client.url}/app/explorer.html#{self.level}?uuid={self._id}"

    @property
    def statistics(self) -> dict[str, Any]:
        """Counts and disk sizes of the resource (``/{level}/{id}/statistics``), read now."""
        return dict(self._client.GET(self._path("statistics")))

    def get_module(self, simplify: bool = False, short: bool = False) -> dict[str, Any]:
        """The DICOM module of this level (``/{level}/{id}/module``).

        Parameters
        ----------
        simplify : bool
            Keywords as keys and plain values (``{"PatientName": "..."}``).
        short : bool
            Tag numbers as keys and plain values. Not with ``simplify``.
        """
        return dict(self._client.GET(self._path("module"), params=_format(simplify, short)))

    def get_shared_tags(self, simplify: bool | None = None, short: bool = False) -> dict[str, Any]:
        """The tags whose value is the same in every instance of the resource.

        Simplified by default, as in the R package (``{"Modality": "CT"}``);
        ``simplify=False`` gives Orthanc's full form
        (``{"0008,0060": {"Name": "Modality", "Type": "String", "Value": "CT"}}``).
        Orthanc reads every instance file to answer: slow on large resources.

        Parameters
        ----------
        simplify : bool, optional
            Keywords as keys and plain values (default, unless ``short``).
        short : bool
            Tag numbers as keys and plain values. Not with ``simplify=True``.
        """
        return dict(self._client.GET(self._path("shared-tags"), params=_format(simplify, short)))

    @property
    def shared_tags(self) -> dict[str, Any]:
        """The shared tags, simplified (see :meth:`get_shared_tags`)."""
        return self.get_shared_tags()

    # -- labels --------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        """The labels of the resource, read from the server now."""
        self._client.capabilities.require_labels("Labels")
        return list(self._client.GET(self._path("labels")))

    def add_label(self, label: str) -> None:
        """Attach ``label`` to the resource (nothing happens if it is already there).

        Parameters
        ----------
        label : str
            1 to 64 letters, digits, ``_`` or ``-`` (Orthanc's rule); any
            other text raises ``ValueError`` before anything is sent.
        """
        check_label(label)
        self._client.capabilities.require_labels("Labels")
        self._client.PUT(self._path("labels", label), data=b"")

    def remove_label(self, label: str) -> None:
        """Detach ``label`` from the resource (nothing happens if it is not there).

        ``label`` is checked as in :meth:`add_label`.
        """
        check_label(label)
        self._client.capabilities.require_labels("Labels")
        self._client.DELETE(self._path("labels", label))

    # -- metadata ------------------------------------------------------------

    def metadata(self) -> dict[str, str]:
        """All metadata of the resource, name to value (``/{level}/{id}/metadata?expand``)."""
        return dict(self._client.GET(self._path("metadata"), params={"expand": ""}))

    def get_metadata(self, name: str) -> str:
        """The value of the metadata ``name``; raises ``NotFound`` when it is not set.

        ``name`` is a built-in name (``LastUpdate``, ``AnonymizedFrom``...), a
        ``UserMetadata`` name of the server's configuration or its number;
        a name that cannot be one (see
        :func:`orthanc_frames.client.names.check_metadata_name`) raises
        ``ValueError`` before anything is sent. The same holds for
        :meth:`set_metadata` and :meth:`delete_metadata`.
        """
        name = check_metadata_name(name)
        value = self._client.GET(self._path("metadata", name))
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def set_metadata(self, name: str, value: str) -> None:
        """Set the metadata ``name`` (a user metadata declared in Orthanc's configuration)."""
        name = check_metadata_name(name)
        self._client.PUT(self._path("metadata", name), data=str(value).encode("utf-8"))

    def delete_metadata(self, name: str) -> None:
        """Remove the metadata ``name``."""
        name = check_metadata_name(name)
        self._client.DELETE(self._path("metadata", name))

    # -- attachments ---------------------------------------------------------

    def attachments(self) -> list[str]:
        """The names of the attachments of the resource."""
        return list(self._client.GET(self._path("attachments")))

    def get_attachment(self, name: str) -> bytes:
        """The content of the attachment ``name`` (uncompressed).

        ``name`` is checked as in :meth:`put_attachment`.
        """
        name = check_attachment_name(name)
        data = self._client.GET(self._path("attachments", name, "data"))
        return data.encode("utf-8") if isinstance(data, str) else bytes(data or b"")

    def put_attachment(self, name: str, data: bytes | str) -> None:
        """Store ``data`` as the attachment ``name``, replacing any previous content.

        ``name`` is a content type declared in Orthanc's ``UserContentType``
        configuration, or a number from 1024 to 65535; a name that cannot be
        one (see :func:`orthanc_frames.client.names.check_attachment_name`)
        raises ``ValueError`` before anything is sent.
        """
        name = check_attachment_name(name)
        if not isinstance(data, (bytes, bytearray, str)):
            raise TypeError(
                f"data must be bytes or str, not {type(data).__name__}; read a file with "
                "Path(...).read_bytes()."
            )
        body = data.encode("utf-8") if isinstance(data, str) else data
        self._client.PUT(self._path("attachments", name), data=body)

    def delete_attachment(self, name: str) -> None:
        """Remove the attachment ``name``."""
        name = check_attachment_name(name)
        self._client.DELETE(self._path("attachments", name))

    # -- parents and children -------------------------------------------------

    def _parent_resource(self, parent_class: type[R]) -> R:
        if self._parent is None:
            assert self._parent_key is not None
            parent_id = self._info(self._parent_key)
            if not parent_id:
                raise OrthancError(
                    f"Orthanc did not name the parent of {self!r}; it may have been deleted."
                )
            self._parent = parent_class(str(parent_id), self._client)
        assert isinstance(self._parent, parent_class)
        return self._parent

    def _child_resources(self, child_class: type[R], route: str) -> list[R]:
        if self.lock_children and self._children is not None:
            return list(self._children)  # type: ignore[arg-type]
        answers = self._client.GET(self._path(route))
        children = []
        for information in answers:
            child = child_class._from_information(
                self._client, information, complete=True, lock_children=self.lock_children
            )
            child._parent = self
            children.append(child)
        if self.lock_children:
            self._children = list(children)
        return children

    def set_child_resources(self, resources: Iterable[Resource]) -> None:
        """Fix the children this resource lists (``.studies``, ``.series``, ``.instances``).

        What :func:`orthanc_frames.find_and_filter_patients` does to keep
        only the children that passed the filters. Needs ``lock_children``:
        otherwise children are read from the server at each access.

        Parameters
        ----------
        resources : iterable of Resource
            The children, one level below this resource.

        Raises
        ------
        ValueError
            When the resource was made with ``lock_children=False``.
        TypeError
            When an item is not a resource of the level below.
        """
        if not self.lock_children:
            raise ValueError(
                f"{self!r} was made with lock_children=False: its children are read from "
                "the server at each access and cannot be set. Build it with lock_children=True."
            )
        children = list(resources)
        for child in children:
            if not isinstance(child, Resource) or child.level != _CHILD_LEVEL.get(self.level):
                raise TypeError(
                    f"The children of {self!r} are {_CHILD_LEVEL.get(self.level) or 'none'} "
                    f"resources, not {child!r}."
                )
        self._children = children
        for child in self._children:
            child._parent = self

    def _remove_empty_children(self) -> None:
        """Drop locked children that have no children left (deepest first)."""
        if self._children is None:
            return
        for child in self._children:
            child._remove_empty_children()
        self._children = [c for c in self._children if c._children is None or c._children]

    # -- downloads -----------------------------------------------------------

    def get_zip(self) -> bytes:
        """The resource as a ZIP archive of DICOM files, in memory.

        For large resources prefer :meth:`download`, which streams to disk.
        """
        data = self._client.GET(self._path("archive"))
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def download(
        self,
        file: str | os.PathLike[str],
        *,
        format: str | None = None,
        workers: int | None = None,
        progress: bool | None = None,
        with_progres: bool | None = None,
    ) -> Any:
        """Write the resource to disk without holding it in memory.

        ``download(file)`` is the R package's form: it writes **one file at
        exactly** ``file`` — the ZIP archive of a patient, study or series
        (``/{level}/{id}/archive``), the DICOM file of an instance. Written
        under a temporary name, then renamed. With ``format=`` the result is
        the same at every level: ``"zip"`` one ZIP archive at ``file``;
        ``"dicom"`` (the default of every folder download, e.g.
        :func:`orthanc_frames.download` and ``df.orthanc.download``) or
        ``"nifti"`` fill the folder ``file``.

        Parameters
        ----------
        file : path-like
            Without ``format`` or with ``format="zip"``: the file to write,
            whatever its name; parent folders are created. Otherwise the
            folder to fill through :func:`orthanc_frames.transfer.download`
            (``Patient/Study/Series`` layout of sanitized names, atomic
            writes, complete files skipped on a re-run).
        format : {"zip", "dicom", "nifti"}, optional
            ``None`` (default): one file as in R (ZIP, or DICOM for an
            instance); ``"zip"``: one ZIP archive; ``"dicom"``: one DICOM
            file per instance in a folder; ``"nifti"``: one NIfTI volume per
            series in a folder (needs the ``neuro`` plugin).
        workers : int, optional
            Files fetched at once (folder downloads only; 8 by default, at most
            the client's ``pool_size``).
        progress : bool, optional
            Show a progress bar (default: in notebooks and terminals): bytes
            written for one file, files written for a folder.
        with_progres : bool, optional
            Deprecated: pyorthanc's misspelling of ``progress``; warns.

        Returns
        -------
        pathlib.Path or DownloadReport
            The file written, or the report of
            :func:`orthanc_frames.transfer.download`.

        Raises
        ------
        ValueError
            For an unknown ``format``, a single file asked at the path of an
            existing folder, or ``workers`` given for a single file.
        """
        progress = renamed_keyword("with_progres", with_progres, "progress", progress)
        if format in (None, "zip"):
            if workers is not None:
                raise ValueError(
                    f"workers={workers!r} applies to folder downloads (format='dicom' or "
                    "'nifti'); a single file is one request."
                )
            if Path(file).is_dir():
                raise ValueError(
                    f"download({str(file)!r}) writes one file at that path, and it is a "
                    f"folder: give a file name (e.g. {str(Path(file) / (self._id + '.zip'))!r}), "
                    "or format='dicom' to fill the folder with DICOM files."
                )
            with progress_bar(
                None, desc=f"{self.level} {self._id}", enabled=progress, unit="B", unit_scale=True
            ) as bar:
                if format == "zip":
                    return self._stream_zip(file, bar.update)
                return self._stream_file(file, bar.update)
        if format not in ("dicom", "nifti"):
            raise ValueError(f"format must be None, 'zip', 'dicom' or 'nifti', not {format!r}.")
        from .. import transfer

        return transfer.download(
            self._client,
            self.level,
            [self._id],
            file,
            format=format,
            workers=check_workers(workers),
            progress=progress,
        )

    def _stream_file(self, file: str | os.PathLike[str], on_bytes: Any) -> Path:
        """The R form of :meth:`download`: the ZIP archive (an instance: its DICOM file)."""
        return self._stream_zip(file, on_bytes)

    def _stream_zip(self, file: str | os.PathLike[str], on_bytes: Any) -> Path:
        return self._client.stream(self._path("archive"), file, on_bytes=on_bytes)

    def _get_nifti(self, compress: bool) -> bytes:
        self._client.capabilities.require_plugin("neuro", f"NIfTI export of {self!r}")
        params = {"compress": ""} if compress else None
        data = self._client.GET(self._path("nifti"), params=params)
        return data.encode("latin-1") if isinstance(data, str) else bytes(data)

    def _download_nifti(self, path: str | os.PathLike[str], compress: bool) -> Path:
        self._client.capabilities.require_plugin("neuro", f"NIfTI export of {self!r}")
        target = Path(path)
        if target.is_dir():
            uid = self.main_dicom_tags.get(IDENTIFYING_TAG[self.level]) or self._id
            target = target / f"{uid}.nii{'.gz' if compress else ''}"
        params = {"compress": ""} if compress else None
        return self._client.stream(self._path("nifti"), target, params=params)

    # -- deletion --------------------------------------------------------------

    def delete(self) -> None:
        """Delete the resource and everything below it from the server."""
        self._client.DELETE(self._path())
        self._information = None
        self._complete = False
        self._children = None

    # -- anonymize / modify ---------------------------------------------------

    @modification_options("anonymize", r_positional=True)
    def anonymize(
        self: R,
        change: Modification,
        *,
        wait: float | None = None,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> R:
        """Anonymize the resource on the server and return the new, anonymous resource.

        Runs as an Orthanc job and waits for it, so a large resource never
        fails on an HTTP read timeout (see :meth:`anonymize_as_job`). An
        :class:`Instance` is the exception: Orthanc answers with the new
        file, which is stored with ``POST /instances`` (``priority``,
        ``permissive``, ``wait`` and ``progress`` then do not apply; for
        the bytes alone, see :meth:`Instance.anonymized_bytes`).

        ``remove, replace, keep`` may be given by position, in the R
        package's order; the other options are keyword-only.

        Parameters
        ----------
        {options}
        wait : float, optional
            Seconds to wait for the job at most; ``None`` waits until it ends.
        progress : bool, optional
            Show a progress bar while waiting.
        timeout : float, optional
            Deprecated name of ``wait`` (``timeout`` is the HTTP timeout of
            the client); warns.

        Returns
        -------
        Resource of the same level
            The new resource.

        Raises
        ------
        JobFailed
            With Orthanc's error description and details.
        """
        wait = renamed_keyword("timeout", timeout, "wait", wait, stacklevel=4)
        return self.apply_modification(change, wait=wait, progress=progress)

    @modification_options("anonymize", r_positional=True)
    def anonymize_as_job(self, change: Modification) -> Job:
        """Start anonymizing the resource as an Orthanc job and return the :class:`Job`.

        When the job succeeds, ``job.content["ID"]`` is the new resource's
        ID (see :meth:`Job.wait_until_completion`); for an
        :class:`Instance` the job is ``/tools/bulk-anonymize`` and its
        content lists the new instance under ``"Resources"``.

        Parameters
        ----------
        {options}
        """
        return self.start_modification_job(change)

    @modification_options("modify", r_positional=True)
    def modify(
        self: R,
        change: Modification,
        *,
        wait: float | None = None,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> R:
        """Modify tags of the resource on the server and return the modified resource.

        Orthanc writes modified copies with new UIDs (a new resource) unless
        ``keep`` names the level's UID (with ``force=True``). Runs as a job
        and waits for it (see :meth:`modify_as_job`); an :class:`Instance`
        is modified as in :meth:`anonymize` (the new file is stored; with
        ``keep_source=False`` the original is deleted only when the copy
        has another ID). ``remove, replace, keep`` may be given by
        position, in the R package's order; the other options are
        keyword-only.

        Parameters
        ----------
        {options}
        wait, progress, timeout
            As in :meth:`anonymize`.

        Returns
        -------
        Resource of the same level
            The modified resource (a new one unless its UID was kept).
        """
        wait = renamed_keyword("timeout", timeout, "wait", wait, stacklevel=4)
        return self.apply_modification(change, wait=wait, progress=progress)

    @modification_options("modify", r_positional=True)
    def modify_as_job(self, change: Modification) -> Job:
        """Start modifying the resource as an Orthanc job and return the :class:`Job`.

        As :meth:`anonymize_as_job` (``/tools/bulk-modify`` for an :class:`Instance`).

        Parameters
        ----------
        {options}
        """
        return self.start_modification_job(change)

    def apply_modification(
        self: R,
        change: Modification,
        *,
        wait: float | None = None,
        progress: bool | None = None,
        timeout: float | None = None,
    ) -> R:
        """Run an anonymize or modify request and return the resource it made.

        What :meth:`anonymize` and :meth:`modify` do, for a request built
        once (:class:`~orthanc_frames.resources.modification.Modification`),
        e.g. to apply it to many resources.

        Parameters
        ----------
        change : Modification
            The request.
        wait, progress, timeout
            As in :meth:`anonymize`.

        Returns
        -------
        Resource of the same level
            The new (or, with kept UIDs, the same) resource.

        Raises
        ------
        JobFailed
            When the job failed.
        JobLost
            When the job dropped out of Orthanc's job history before its end
            was seen and its copy cannot be told for sure: none, several, or
            one that holds fewer instances than the original.
        """
        wait = renamed_keyword("timeout", timeout, "wait", wait)
        return type(self)(self._modified_copy_id(change, wait, progress), self._client)

    def start_modification_job(self, change: Modification) -> Job:
        """Start an anonymize or modify request as an Orthanc job and return the :class:`Job`.

        What :meth:`anonymize_as_job` and :meth:`modify_as_job` do, for a
        request built once.
        """
        answer = self._client.POST(self._path(change.operation), json=change.body(self, job=True))
        self._information = None
        self._complete = False
        return Job(str(answer["ID"]), self._client)

    def _modified_copy_id(
        self, change: Modification, wait: float | None, progress: bool | None
    ) -> str:
        """Make the anonymized or modified copy; return its Orthanc ID.

        The server's change log position is read first: if the job drops
        out of Orthanc's job history before its end is seen, its copy is
        found from there (:meth:`_copy_of_lost_job`).
        """
        since = last_change(self._client)
        job = self.start_modification_job(change)
        try:
            content = job.wait_until_completion(
                wait=wait, progress=progress, desc=f"{self.level} {change.noun}"
            )
        except JobLost as lost:
            return self._copy_of_lost_job(change, lost, since)
        new_id = content.get("ID")
        if not new_id:
            raise OrthancError(
                f"The {change.noun} job {job.id} of {self!r} succeeded but did not name the "
                f"new {self.level}; look for resources with metadata "
                f"ModifiedFrom/AnonymizedFrom = {self._id}."
            )
        return str(new_id)

    def _copy_of_lost_job(self, change: Modification, lost: JobLost, since: int) -> str:
        """The copy a job made, found without the job: exactly one, and complete."""
        copies = copies_made_since(self._client, self.level, self._id, change.operation, since)
        gone = (
            f"The {change.noun} job {lost.job_id} of {self!r} dropped out of Orthanc's job "
            "history (JobsHistorySize) before its end was seen"
        )
        if len(copies) != 1:
            found = ", ".join(copies) if copies else "none"
            raise JobLost(
                lost.job_id,
                f"{gone}, and the {self.level}s {change.participle} from it since it started "
                f"are not exactly one ({found}): its outcome is unknown. Check the server; "
                "raise JobsHistorySize or use fewer workers.",
            ) from lost
        copy = copies[0]
        expected = instance_count(self._client, self.level, self._id)
        stored = instance_count(self._client, self.level, copy)
        if stored != expected:
            raise JobLost(
                lost.job_id,
                f"{gone}; its copy {copy} holds {stored} instance(s) instead of {expected}: "
                "it may have failed half-way. Check the copy on the server.",
            ) from lost
        return copy


def _format(simplify: bool | None, short: bool) -> dict[str, str]:
    """Orthanc's tag-format parameter; ``simplify=None`` means simplified unless ``short``."""
    for name, value in (("simplify", simplify), ("short", short)):
        if not isinstance(value, bool) and not (name == "simplify" and value is None):
            raise TypeError(f"{name} must be True or False, not {type(value).__name__} {value!r}.")
    if simplify is None:
        simplify = not short
    if simplify and short:
        raise ValueError("simplify and short cannot both be True: pick one format.")
    if simplify:
        return {"simplify": ""}
    if short:
        return {"short": ""}
    return {}
