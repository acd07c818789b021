"""A study on an Orthanc server."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .base import _format, main_tag_property
from .parent import ParentResource
from .series import Series

if TYPE_CHECKING:
    from .patient import Patient

__all__ = ["Study"]


class Study(ParentResource):
    """A study on an Orthanc server.

    Parameters
    ----------
    id : str
        The Orthanc ID of the study.
    client : Orthanc
        The client of the server.
    lock_children : bool
        Keep the series read the first time (see :class:`Resource`).
    """

    level = "study"
    _child_class = Series

    @property
    def uid(self) -> str | None:
        """``StudyInstanceUID``."""
        return self._typed_main_tag("StudyInstanceUID")

    @property
    def date(self) -> dt.date | None:
        """``StudyDate``."""
        return self._typed_main_tag("StudyDate")

    @property
    def time(self) -> dt.time | None:
        """``StudyTime``."""
        return self._typed_main_tag("StudyTime")

    @property
    def description(self) -> str | None:
        """``StudyDescription``."""
        return self._typed_main_tag("StudyDescription")

    @property
    def accession_number(self) -> str | None:
        """``AccessionNumber``."""
        return self._typed_main_tag("AccessionNumber")

    @property
    def study_id(self) -> str | None:
        """The DICOM ``StudyID`` (:attr:`id` is Orthanc's ID)."""
        return self._typed_main_tag("StudyID")

    referring_physician_name = main_tag_property("ReferringPhysicianName", "Referring physician")
    requesting_physician = main_tag_property("RequestingPhysician", "Requesting physician")
    institution_name = main_tag_property("InstitutionName", "Institution")
    requested_procedure_description = main_tag_property(
        "RequestedProcedureDescription", "Requested procedure"
    )

    @property
    def patient_identifier(self) -> str:
        """The Orthanc ID of the parent patient."""
        return str(self._info("ParentPatient"))

    @property
    def patient_information(self) -> dict[str, Any]:
        """The parent patient's main DICOM tags, as Orthanc sends them with the study."""
        return dict(self._info("PatientMainDicomTags") or {})

    @property
    def parent_patient(self) -> Patient:
        """The patient of this study (its main tags come with the study: no request)."""
        from .patient import Patient

        if self._parent is None and self._information is not None:
            known = self._information.get("PatientMainDicomTags")
            parent_id = self._information.get("ParentPatient")
            if known is not None and parent_id:
                self._parent = Patient._from_information(
                    self._client, {"ID": parent_id, "MainDicomTags": known}
                )
        return self._parent_resource(Patient)

    @property
    def series(self) -> list[Series]:
        """The study's series, with their main tags, in one request."""
        return self._resources_below(Series)

    @property
    def series_ids(self) -> list[str]:
        """The Orthanc IDs of the study's series."""
        return [series.id for series in self.series]

    def get_patient_module(
        self, simplify: bool | None = None, short: bool = False
    ) -> dict[str, Any]:
        """The DICOM patient module of the study's patient (``/studies/{id}/module-patient``).

        Simplified by default, as the R package's patient module;
        ``simplify=False`` gives Orthanc's full form.
        """
        return dict(self._client.GET(self._path("module-patient"), params=_format(simplify, short)))

    def remove_empty_series(self) -> None:
        """Drop, from the locked children, the series left without instances."""
        self._remove_empty_children()
