"""Orthanc IDs computed locally, exactly as Orthanc computes them.

Orthanc names every resource by the SHA-1 of the DICOM identifiers that
lead to it, joined by ``|``:

========  ===============================================================
level     hashed text
========  ===============================================================
patient   ``PatientID``
study     ``PatientID|StudyInstanceUID``
series    ``PatientID|StudyInstanceUID|SeriesInstanceUID``
instance  ``PatientID|StudyInstanceUID|SeriesInstanceUID|SOPInstanceUID``
========  ===============================================================

The 40 hexadecimal digits are written as five groups of eight joined by
``-``. Local files and server resources therefore share keys without a
single request: a parent's ID is computed, never fetched.

Examples
--------
>>> orthanc_id("PAT-1")
'2bdf1953-b11cb027-e09d36d3-19068ab0-8979b8f5'
>>> len(orthanc_id("PAT-1", "1.2.3"))
44
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

__all__ = ["LEVELS", "OrthancIds", "orthanc_id", "orthanc_ids"]

LEVELS = ("patient", "study", "series", "instance")
_UID_NAMES = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


class OrthancIds(NamedTuple):
    """The Orthanc IDs of one instance and of its parents."""

    patient: str
    study: str
    series: str
    instance: str


def _clean(value: object) -> str:
    # Orthanc reads identifiers without their DICOM padding (trailing
    # spaces, or NUL for UIDs); pydicom's raw values may still carry it.
    return str(value).rstrip(" \x00").lstrip(" ")


def orthanc_id(
    patient_id: str | None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> str:
    """Return the Orthanc ID of a patient, study, series or instance.

    The level is given by how many identifiers are passed: ``patient_id``
    alone is a patient, with ``study_uid`` a study, and so on.

    Parameters
    ----------
    patient_id : str or None
        ``PatientID`` (0010,0020). Orthanc accepts an empty or missing
        PatientID and hashes the empty string; so does this function.
    study_uid, series_uid, sop_uid : str, optional
        ``StudyInstanceUID``, ``SeriesInstanceUID``, ``SOPInstanceUID``.
        Each needs the ones before it.

    Returns
    -------
    str
        The ID as Orthanc writes it: 40 lowercase hex digits in five
        groups of eight joined by ``-``.

    Raises
    ------
    ValueError
        When a UID is given without the UIDs above it, or is empty
        (Orthanc refuses such files as well).
    """
    uids = [study_uid, series_uid, sop_uid]
    while uids and uids[-1] is None:
        uids.pop()
    names = _UID_NAMES
    parts = ["" if patient_id is None else _clean(patient_id)]
    for name, uid in zip(names, uids, strict=False):
        text = "" if uid is None else _clean(uid)
        if not text:
            raise ValueError(
                f"{name} is missing or empty (identifiers given: patient_id={patient_id!r}, "
                f"study_uid={study_uid!r}, series_uid={series_uid!r}, sop_uid={sop_uid!r}); "
                "Orthanc cannot name, and does not store, a resource without it."
            )
        parts.append(text)
    digest = hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()
    return "-".join(digest[start : start + 8] for start in range(0, 40, 8))


def orthanc_ids(
    patient_id: str | None, study_uid: str | None, series_uid: str | None, sop_uid: str | None
) -> OrthancIds:
    """Return the Orthanc IDs of an instance and of its series, study and patient.

    Parameters
    ----------
    patient_id, study_uid, series_uid, sop_uid : str or None
        The four identifiers of the instance (see :func:`orthanc_id`); only
        ``patient_id`` may be missing.

    Returns
    -------
    OrthancIds
        Named tuple ``(patient, study, series, instance)``.

    Raises
    ------
    ValueError
        When a UID is missing or empty.
    """
    for name, uid in zip(_UID_NAMES, (study_uid, series_uid, sop_uid), strict=True):
        if uid is None or not _clean(uid):
            raise ValueError(
                f"{name} is missing or empty: Orthanc cannot name, and does not store, an "
                "instance without it."
            )
    return OrthancIds(
        patient=orthanc_id(patient_id),
        study=orthanc_id(patient_id, study_uid),
        series=orthanc_id(patient_id, study_uid, series_uid),
        instance=orthanc_id(patient_id, study_uid, series_uid, sop_uid),
    )
