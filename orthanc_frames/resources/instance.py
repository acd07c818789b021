"""An instance (one DICOM file) on an Orthanc server."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import route
from ..client.errors import OrthancError
from ..dicom_tags import tag_info
from .base import Resource, main_tag_property
from .job import Job
from .modification import Modification, modification_options

if TYPE_CHECKING:
    import pydicom

    from .patient import Patient
    from .series import Series
    from .study import Study

__all__ = ["Instance"]


class Instance(Resource):
    """An instance (one stored DICOM file) on an Orthanc server.

    Parameters
    ----------
    id : str
        The Orthanc ID of the instance.
    client : Orthanc
        The client of the server.
    lock_children : bool
        Accepted for symmetry with the other levels; an instance has no children.

    Notes
    -----
    Orthanc anonymizes and modifies a single instance by returning new DICOM
    bytes and storing nothing. :meth:`anonymize` and :meth:`modify` store
    those bytes and return the new :class:`Instance`;
    :meth:`anonymized_bytes` and :meth:`modified_bytes` return the bytes only.
    """

    level = "instance"

    @property
    def uid(self) -> str | None:
        """``SOPInstanceUID``."""
        return self._typed_main_tag("SOPInstanceUID")

    @property
    def instance_number(self) -> int | None:
        """``InstanceNumber``."""
        return self._typed_main_tag("InstanceNumber")

    @property
    def creation_date(self) -> dt.date | None:
        """``InstanceCreationDate``."""
        return self._typed_main_tag("InstanceCreationDate")

    @property
    def creation_time(self) -> dt.time | None:
        """``InstanceCreationTime``."""
        return self._typed_main_tag("InstanceCreationTime")

    @property
    def image_position_patient(self) -> list[float] | None:
        """``ImagePositionPatient``: x, y, z of the first voxel, in mm."""
        return self._typed_main_tag("ImagePositionPatient")

    @property
    def image_orientation_patient(self) -> list[float] | None:
        """``ImageOrientationPatient``: six direction cosines."""
        return self._typed_main_tag("ImageOrientationPatient")

    acquisition_number = main_tag_property("AcquisitionNumber", "Acquisition number")
    image_index = main_tag_property("ImageIndex", "Image index")
    image_comments = main_tag_property("ImageComments", "Image comments")
    number_of_frames = main_tag_property("NumberOfFrames", "Number of frames")
    temporal_position_identifier = main_tag_property(
        "TemporalPositionIdentifier", "Temporal position"
    )

    @property
    def file_size(self) -> int:
        """Size of the stored DICOM file, in bytes."""
        return int(self._info("FileSize") or 0)

    @property
    def index_in_series(self) -> int | None:
        """Orthanc's position of the instance in its series (from the tags), if known."""
        value = self._info("IndexInSeries")
        return None if value is None else int(value)

    @property
    def series_identifier(self) -> str:
        """The Orthanc ID of the parent series."""
        return str(self._info("ParentSeries"))

    @property
    def parent_series(self) -> Series:
        """The series of this instance."""
        from .series import Series

        return self._parent_resource(Series)

    @property
    def parent_study(self) -> Study:
        """The study of this instance."""
        return self.parent_series.parent_study

    @property
    def parent_patient(self) -> Patient:
        """The patient of this instance."""
        return self.parent_series.parent_patient

    # -- content ---------------------------------------------------------------

    @property
    def tags(self) -> dict[str, Any]:
        """Every tag of the file in Orthanc's full form (``{"0010,0010": {"Name": ...}}``)."""
        return dict(self._client.GET(self._path("tags")))

    @property
    def simplified_tags(self) -> dict[str, Any]:
        """Every tag of the file, keyword to value (``{"PatientName": "..."}``)."""
        return dict(self._client.GET(self._path("tags"), params={"simplify": ""}))

    def get_dicom_file_content(self) -> bytes:
        """The DICOM file, in memory."""
        data = self._client.GET(self._path("file"))
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def get_pydicom(self) -> pydicom.FileDataset:
        """The DICOM file read by pydicom."""
        import pydicom

        return pydicom.dcmread(io.BytesIO(self.get_dicom_file_content()))

    def get_content_by_tag(self, tag: str) -> Any:
        """The raw value of one tag, or the items of a sequence.

        Parameters
        ----------
        tag : str
            A keyword (``"PatientName"``), a tag (``"0010,0010"`` or
            ``"0010-0010"``) or a path into sequences
            (``"ReferencedSeriesSequence/0/SeriesInstanceUID"``).

        Returns
        -------
        str, bytes or list
            Text values decoded as UTF-8 (trailing padding removed) when
            they are valid UTF-8, else the bytes; for a sequence, the list
            Orthanc returns.
        """
        if not isinstance(tag, str):
            raise TypeError(
                f"tag must be a keyword, a tag or a path as a string, not {type(tag).__name__} "
                f"{tag!r}."
            )
        parts = [_content_part(part) for part in tag.strip("/").split("/")]
        result = self._client.GET(self._path("content", *parts))
        if isinstance(result, bytes):
            try:
                return result.decode("utf-8").rstrip(" \x00")
            except UnicodeDecodeError:
                return result
        if isinstance(result, str):
            return result.rstrip(" \x00")
        return result

    def get_zip(self) -> bytes:
        """The instance in a ZIP archive (``/tools/create-archive``), in memory."""
        data = self._client.POST("/tools/create-archive", json={"Resources": [self._id]})
        return bytes(data)

    def _stream_file(self, file: str | os.PathLike[str], on_bytes: Any) -> Path:
        """The R form of :meth:`download`: the DICOM file itself."""
        return self._client.stream(self._path("file"), file, on_bytes=on_bytes)

    def _stream_zip(self, file: str | os.PathLike[str], on_bytes: Any) -> Path:
        body = {"Resources": [self._id]}
        return self._client.stream(
            "/tools/create-archive", file, method="POST", json=body, on_bytes=on_bytes
        )

    def get_nifti(self, compress: bool = False) -> bytes:
        """The instance as NIfTI, in memory (needs Orthanc's ``neuro`` plugin)."""
        return self._get_nifti(compress)

    def download_nifti(self, path: str | os.PathLike[str], compress: bool = False) -> Path:
        """Write the instance as NIfTI to a file or into an existing folder (``{uid}.nii``)."""
        return self._download_nifti(path, compress)

    # -- anonymize / modify ------------------------------------------------------

    @modification_options("anonymize", r_positional=True, stored=False)
    def anonymized_bytes(self, change: Modification) -> bytes:
        """An anonymized copy of the file, as DICOM bytes; nothing is stored.

        Parameters
        ----------
        {options}
        """
        return self._changed_bytes(change)

    @modification_options("modify", r_positional=True, stored=False)
    def modified_bytes(self, change: Modification) -> bytes:
        """A modified copy of the file, as DICOM bytes; nothing is stored.

        Parameters
        ----------
        {options}
        """
        return self._changed_bytes(change)

    def start_modification_job(self, change: Modification) -> Job:
        """Start the request as a ``/tools/bulk-anonymize`` or ``/tools/bulk-modify`` job.

        The job stores the new instance; its content lists it under ``"Resources"``.
        """
        body = change.body(self, job=True)
        body.update({"Resources": [self._id], "Level": "Instance"})
        answer = self._client.POST(route("tools", f"bulk-{change.operation}"), json=body)
        return Job(str(answer["ID"]), self._client)

    def _changed_bytes(self, change: Modification) -> bytes:
        body = change.body(self, job=False)
        return bytes(self._client.POST(self._path(change.operation), json=body))

    def _modified_copy_id(
        self, change: Modification, wait: float | None, progress: bool | None
    ) -> str:
        """Store the bytes Orthanc answers with; drop the original after, if asked.

        The original is never deleted when the copy has its ID (``keep``
        held the ``SOPInstanceUID`` and the server overwrote it).
        """
        answer = self._client.POST("/instances", data=self._changed_bytes(change))
        new_id = answer.get("ID") if isinstance(answer, Mapping) else None
        if not new_id:
            raise OrthancError(
                f"Orthanc did not store the {change.participle} copy of {self!r} "
                f"(answer: {answer!r}); the original was kept."
            )
        if not change.keep_source and new_id != self._id:
            self.delete()
        return str(new_id)


def _content_part(part: str) -> str:
    """A path component of ``/instances/{id}/content``: tags as ``gggg-eeee``, indexes as is."""
    if part.isdigit():
        return part
    return tag_info(part).tag.replace(",", "-")
