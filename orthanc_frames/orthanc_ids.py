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

The text hashed is exactly the text Orthanc keeps, padding included: a
``PatientID`` that Orthanc read with VR ``UN`` keeps its trailing space
(``"id11111 "``), a missing ``PatientID`` is the empty string. So
:func:`orthanc_id` hashes what it is given, unchanged, and
:func:`dataset_identifiers` reads a pydicom dataset the way Orthanc reads
the file.

Examples
--------
>>> orthanc_id("PAT-1")
'2bdf1953-b11cb027-e09d36d3-19068ab0-8979b8f5'
>>> len(orthanc_id("PAT-1", "1.2.3"))
44
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from .levels import LEVEL_NAMES, Level

__all__ = ["LEVELS", "OrthancIds", "dataset_identifiers", "orthanc_id", "orthanc_ids"]

LEVELS = LEVEL_NAMES
_UID_NAMES = tuple(level.identifier_tag for level in Level)[1:]


class OrthancIds(NamedTuple):
    """The Orthanc IDs of one instance and of its parents."""

    patient: str
    study: str
    series: str
    instance: str


IDENTIFIER_KEYWORDS = tuple(level.identifier_tag for level in Level)
"""The four identifiers an instance's Orthanc IDs are made of, top-down."""


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

    Every identifier is hashed exactly as given, spaces included: pass
    the text the server returned (its ``MainDicomTags``), or for a local
    file what :func:`dataset_identifiers` reads.

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
    parts = ["" if patient_id is None else str(patient_id)]
    for name, uid in zip(names, uids, strict=False):
        text = "" if uid is None else str(uid)
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
        if uid is None or not str(uid):
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


def dataset_identifiers(dataset: Any) -> tuple[str | None, ...]:
    """The four identifiers of a pydicom dataset, as Orthanc reads them from the file.

    Orthanc (DCMTK) ends a value at its first NUL byte, decodes it with the
    file's ``SpecificCharacterSet`` (Latin-1 when absent) and drops the
    trailing spaces of a value whose VR is known; UIDs lose their leading
    spaces too. A value whose VR is ``UN`` in the file (explicit VR files
    written by some converters) keeps its spaces, and Orthanc hashes it
    with them.

    Parameters
    ----------
    dataset : pydicom.Dataset
        Read with :func:`pydicom.dcmread` (raw elements are not converted
        by this function).

    Returns
    -------
    tuple
        ``(PatientID, StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID)``;
        a missing element is None (pass the tuple to :func:`orthanc_ids`).
    """
    from pydicom.charset import decode_bytes
    from pydicom.datadict import tag_for_keyword

    encodings = _encodings_of(dataset)
    found: list[str | None] = []
    for keyword in IDENTIFIER_KEYWORDS:
        tag = tag_for_keyword(keyword)
        if tag is None or tag not in dataset:
            found.append(None)
            continue
        element = dataset.get_item(tag)
        value = element.value
        vr = element.VR
        if isinstance(value, (bytes, bytearray)):
            data = bytes(value).split(b"\x00", 1)[0]
            text = decode_bytes(data, encodings, set()) if data else ""
        elif value is None:
            text = ""
        else:
            many = isinstance(value, Sequence) and not isinstance(value, str)
            text = "\\".join(map(str, value)) if many else str(value)
            text = text.split("\x00", 1)[0]
        if vr != "UN":
            text = text.rstrip(" ")
            if keyword != "PatientID":
                text = text.lstrip(" ")
        found.append(text)
    return tuple(found)


def _encodings_of(dataset: Any) -> list[str]:
    from pydicom.charset import convert_encodings

    try:
        value = dataset.get("SpecificCharacterSet")
    except Exception:  # an unreadable character set: Orthanc's default applies
        value = None
    names = [] if value in (None, "") else [value] if isinstance(value, str) else list(value)
    try:
        return list(convert_encodings([n for n in names if n] or ["ISO_IR 100"]))
    except LookupError:
        return ["iso8859"]
