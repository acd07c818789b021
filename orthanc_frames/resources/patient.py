"""A patient on an Orthanc server."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .base import _format
from .parent import ParentResource
from .series import Series
from .study import Study

__all__ = ["Patient"]


class Patient(ParentResource):
    """A patient on an Orthanc server.

    Parameters
    ----------
    id : str
        The Orthanc ID of the patient.
    client : Orthanc
        The client of the server.
    lock_children : bool
        Keep the studies read the first time (see :class:`Resource`).

    Examples
    --------
    The first patient of the synthetic cohort (:func:`~orthanc_frames.synthetic.write_cohort`):

    >>> patient = of.Patient("1149c93f-04d9e305-8d585565-8dce7c84-2a5ba276", c)
    >>> patient.name, patient.birth_date
    ('Müller^Jürgen', datetime.date(1940, 1, 1))
    >>> [study.date for study in patient.studies]
    [datetime.date(2019, 1, 15)]
    """

    level = "patient"
    _child_class = Study

    @property
    def patient_id(self) -> str | None:
        """The DICOM ``PatientID`` (not unique across sites; :attr:`id` is Orthanc's ID)."""
        return self._typed_main_tag("PatientID")

    @property
    def name(self) -> str | None:
        """``PatientName``, decoded (``"Family^Given"``)."""
        return self._typed_main_tag("PatientName")

    @property
    def birth_date(self) -> dt.date | None:
        """``PatientBirthDate``; raises ``ValueError`` naming the raw text if it is no date."""
        return self._typed_main_tag("PatientBirthDate")

    @property
    def sex(self) -> str | None:
        """``PatientSex`` (``"M"``, ``"F"``, ``"O"``)."""
        return self._typed_main_tag("PatientSex")

    @property
    def other_patient_ids(self) -> list[str]:
        """``OtherPatientIDs`` as a list (empty when absent)."""
        return self._typed_main_tag("OtherPatientIDs") or []

    @property
    def protected(self) -> bool:
        """Whether the patient is protected from recycling (settable: ``p.protected = True``)."""
        answer = self._client.GET(self._path("protected"))
        if isinstance(answer, bytes):
            answer = answer.decode("ascii", "replace")
        return str(answer).strip() == "1"

    @protected.setter
    def protected(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(
                f"protected must be True or False, not {type(value).__name__} {value!r}."
            )
        self._client.PUT(self._path("protected"), data=b"1" if value else b"0")

    @property
    def studies(self) -> list[Study]:
        """The patient's studies, with their main tags, in one request."""
        return self._resources_below(Study)

    @property
    def studies_ids(self) -> list[str]:
        """The Orthanc IDs of the patient's studies."""
        return [study.id for study in self.studies]

    @property
    def series(self) -> list[Series]:
        """Every series of the patient, with its main tags, in one request."""
        return self._resources_below(Series)

    @property
    def series_ids(self) -> list[str]:
        """The Orthanc IDs of every series of the patient."""
        return [series.id for series in self.series]

    def get_patient_module(
        self, simplify: bool | None = None, short: bool = False
    ) -> dict[str, Any]:
        """The DICOM patient module (``/patients/{id}/module``).

        Simplified by default, as in the R package; ``simplify=False`` gives
        Orthanc's full form (see :meth:`Resource.get_module`).
        """
        return dict(self._client.GET(self._path("module"), params=_format(simplify, short)))

    def remove_empty_studies(self) -> None:
        """Drop, from the locked children, the studies left without series (and so on down)."""
        self._remove_empty_children()
