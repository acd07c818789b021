"""DICOM tag knowledge in one place: keywords, VRs, multiplicity, typed values.

Everything here reads pydicom's data dictionary; no other module keeps its
own table of VRs. Orthanc sends tag values as text (multi-valued ones
joined by a backslash); :func:`parse_value` turns such text into the
Python value its VR calls for.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydicom import datadict

__all__ = [
    "DEFAULT_MAIN_TAGS",
    "LEVELS",
    "TagInfo",
    "UnknownKeywordError",
    "check_keyword",
    "is_multi_valued",
    "main_tags",
    "parse_date",
    "parse_datetime",
    "parse_time",
    "parse_value",
    "tag_info",
    "typed_tags",
]

LEVELS = ("patient", "study", "series", "instance")

# Orthanc 1.12's main DICOM tags per level (kept in its index, free to query).
# A server may add more (``ExtraMainDicomTags``): Capabilities.main_dicom_tags
# reads the live list from /system.
DEFAULT_MAIN_TAGS: Mapping[str, tuple[str, ...]] = {
    "patient": ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "OtherPatientIDs"),
    "study": (
        "StudyDate",
        "StudyTime",
        "StudyID",
        "StudyDescription",
        "AccessionNumber",
        "StudyInstanceUID",
        "RequestedProcedureDescription",
        "InstitutionName",
        "RequestingPhysician",
        "ReferringPhysicianName",
    ),
    "series": (
        "SeriesDate",
        "SeriesTime",
        "Modality",
        "Manufacturer",
        "StationName",
        "SeriesDescription",
        "BodyPartExamined",
        "SequenceName",
        "ProtocolName",
        "SeriesNumber",
        "CardiacNumberOfImages",
        "ImagesInAcquisition",
        "NumberOfTemporalPositions",
        "NumberOfSlices",
        "NumberOfTimeSlices",
        "SeriesInstanceUID",
        "ImageOrientationPatient",
        "SeriesType",
        "OperatorsName",
        "PerformedProcedureStepDescription",
        "AcquisitionDeviceProcessingDescription",
        "ContrastBolusAgent",
    ),
    "instance": (
        "InstanceCreationDate",
        "InstanceCreationTime",
        "AcquisitionNumber",
        "ImageIndex",
        "InstanceNumber",
        "NumberOfFrames",
        "TemporalPositionIdentifier",
        "SOPInstanceUID",
        "ImagePositionPatient",
        "ImageComments",
        "ImageOrientationPatient",
    ),
}

_SINGLE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UR", "OB", "OW", "OF", "OD", "OL", "OV", "UN"})
_TAG_RE = re.compile(r"^\(?([0-9A-Fa-f]{4})[,|-]?([0-9A-Fa-f]{4})\)?$")


@dataclass(frozen=True)
class TagInfo:
    """What the DICOM dictionary says of one tag.

    Attributes
    ----------
    keyword : str
        The DICOM keyword (``"PatientName"``), or ``"gggg,eeee"`` for a tag
        without one (private or unknown tags).
    tag : str
        The tag as ``"gggg,eeee"`` (lower-case hex), as Orthanc writes it.
    vr : str
        The value representation (``"PN"``, ``"DA"``...); ``"UN"`` when unknown.
    vm_multi : bool
        Whether the tag may hold several values (VM other than 1).
    """

    keyword: str
    tag: str
    vr: str
    vm_multi: bool

    @property
    def group_element(self) -> int:
        """The tag as one integer (``0x00100010``)."""
        return int(self.tag.replace(",", ""), 16)


class UnknownKeywordError(ValueError, KeyError):
    """A name that is neither a DICOM keyword nor a ``gggg,eeee`` tag number.

    A :class:`ValueError` (a wrong argument value); also a :class:`KeyError`
    for code written against earlier versions.
    """

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


def check_keyword(argument: str, name: object) -> str:
    """The keyword of ``name``, or an error naming ``argument`` and the value.

    Parameters
    ----------
    argument : str
        How the caller's argument is called (``"query"``, ``"tags['series']"``).
    name : object
        What was given: a keyword or ``gggg,eeee``.

    Returns
    -------
    str
        The keyword (``gggg,eeee`` for tags without one).

    Raises
    ------
    TypeError
        When ``name`` is not a string.
    UnknownKeywordError
        When the DICOM dictionary does not know it.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"{argument}: tag names must be strings (a DICOM keyword or 'gggg,eeee'), "
            f"not {type(name).__name__} {name!r}."
        )
    try:
        return tag_info(name).keyword
    except KeyError as error:
        raise UnknownKeywordError(f"{argument}: {error}") from None


@functools.lru_cache(maxsize=4096)
def tag_info(name: str) -> TagInfo:
    """Look up a tag by keyword (``"SliceThickness"``) or number (``"0018,0050"``).

    Raises
    ------
    UnknownKeywordError
        For a keyword the DICOM dictionary does not know, with a hint (a
        :class:`ValueError` and a :class:`KeyError`).
    """
    match = _TAG_RE.match(name.strip())
    if match:
        number = int(match.group(1) + match.group(2), 16)
        keyword = datadict.keyword_for_tag(number) or ""
    else:
        number_or_none = datadict.tag_for_keyword(name.strip())
        if number_or_none is None:
            raise UnknownKeywordError(
                f"{name!r} is not a DICOM keyword. Use a keyword from the DICOM dictionary "
                "(e.g. 'SliceThickness') or a tag number written 'gggg,eeee' (e.g. '0018,0050')."
            )
        number, keyword = number_or_none, name.strip()
    tag = f"{number >> 16:04x},{number & 0xFFFF:04x}"
    vr, vm = "UN", "1"
    if datadict.dictionary_has_tag(number):
        vr = datadict.dictionary_VR(number).split(" ")[0]
        vm = datadict.dictionary_VM(number)
    return TagInfo(keyword=keyword or tag, tag=tag, vr=vr, vm_multi=vm not in ("1", ""))


def is_multi_valued(name: str) -> bool:
    """Whether the tag ``name`` may hold several values (False for unknown tags)."""
    try:
        return tag_info(name).vm_multi
    except KeyError:
        return False


def main_tags(level: str) -> tuple[str, ...]:
    """Orthanc's default main DICOM tags of a level (``"patient"`` ... ``"instance"``)."""
    try:
        return DEFAULT_MAIN_TAGS[level]
    except KeyError:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}") from None


def parse_date(text: str) -> dt.date:
    """A DICOM DA value (``YYYYMMDD``; the old ``YYYY.MM.DD`` is accepted)."""
    s = text.strip().replace(".", "")
    if len(s) != 8 or not s.isdigit():
        raise ValueError(f"not a DICOM date (YYYYMMDD): {text!r}")
    try:
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))
    except ValueError as exc:
        raise ValueError(f"not a valid date: {text!r} ({exc})") from None


def parse_time(text: str) -> dt.time:
    """A DICOM TM value (``HH``, ``HHMM``, ``HHMMSS`` or ``HHMMSS.FFFFFF``)."""
    s = text.strip().replace(":", "")
    whole, _, frac = s.partition(".")
    if len(whole) not in (2, 4, 6) or not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a DICOM time (HHMMSS.FFFFFF): {text!r}")
    hour = int(whole[:2])
    minute = int(whole[2:4] or 0)
    second = min(int(whole[4:6] or 0), 59)  # leap second 60 -> 59
    micro = int((frac + "000000")[:6]) if frac else 0
    try:
        return dt.time(hour, minute, second, micro)
    except ValueError as exc:
        raise ValueError(f"not a valid time: {text!r} ({exc})") from None


def parse_datetime(text: str) -> dt.datetime:
    """A DICOM DT value (``YYYYMMDDHHMMSS.FFFFFF&ZZXX``, trailing parts optional)."""
    s = text.strip()
    offset = None
    for sign in ("+", "-"):
        if sign in s[4:]:
            s, _, zone = s.rpartition(sign)
            if len(zone) != 4 or not zone.isdigit():
                raise ValueError(f"not a DICOM date-time offset: {text!r}")
            delta = dt.timedelta(hours=int(zone[:2]), minutes=int(zone[2:]))
            offset = dt.timezone(delta if sign == "+" else -delta)
            break
    whole, _, frac = s.partition(".")
    if len(whole) < 4 or not whole.isdigit() or len(whole) % 2 or len(whole) > 14:
        raise ValueError(f"not a DICOM date-time (YYYYMMDDHHMMSS): {text!r}")
    parts = [int(whole[:4])] + [int(whole[i : i + 2]) for i in range(4, len(whole), 2)]
    defaults = [1, 1, 1, 0, 0, 0]  # a truncated DT means the start of the period
    year, month, day, hour, minute, second = parts + defaults[len(parts) :]
    micro = int((frac + "000000")[:6]) if frac else 0
    try:
        return dt.datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=offset)
    except ValueError as exc:
        raise ValueError(f"not a valid date-time: {text!r} ({exc})") from None


def _parse_number(vr: str, text: str) -> int | float:
    s = text.strip()
    if vr in ("DS", "FL", "FD", "OF", "OD"):
        return float(s)
    return int(s)


_PARSERS = {
    "DA": parse_date,
    "TM": parse_time,
    "DT": parse_datetime,
}
_NUMERIC_VRS = frozenset({"DS", "FL", "FD", "IS", "US", "UL", "SS", "SL", "SV", "UV"})


def _parse_one(vr: str, text: str) -> Any:
    if text.strip() == "":
        return None
    parser = _PARSERS.get(vr)
    if parser is not None:
        return parser(text)
    if vr in _NUMERIC_VRS:
        try:
            return _parse_number(vr, text)
        except ValueError:
            raise ValueError(f"not a number ({vr}): {text!r}") from None
    return text


def parse_value(vr: str, raw: Any, multi: bool = False) -> Any:
    """Turn one tag value as Orthanc sends it into a typed Python value.

    Parameters
    ----------
    vr : str
        The value representation (see :func:`tag_info`).
    raw : str, list, dict or None
        The value from Orthanc's JSON (``simplify``/``short`` form).
    multi : bool
        The tag may hold several values: the result is then always a list
        (backslash-separated text is split).

    Returns
    -------
    ``datetime.date`` (DA), ``datetime.time`` (TM), ``datetime.datetime`` (DT),
    ``float`` (DS, FL, FD), ``int`` (IS, US, UL, SS, SL), ``str`` (text), a
    list of these for multi-valued tags, ``None`` for an empty value;
    sequences (lists of dicts) are returned unchanged.

    Raises
    ------
    ValueError
        When a value does not parse as its VR says (e.g. a date ``19991399``).
    """
    if raw is None:
        return [] if multi else None
    if isinstance(raw, (list, dict)):
        return raw
    if isinstance(raw, (int, float)):
        return [raw] if multi else raw
    text = str(raw)
    if multi and vr not in _SINGLE_TEXT_VRS:
        if text == "":
            return []
        return [_parse_one(vr, piece) for piece in text.split("\\")]
    if "\\" in text and vr in _NUMERIC_VRS | _PARSERS.keys():
        # A multi-valued answer for a tag the dictionary calls single-valued.
        return [_parse_one(vr, piece) for piece in text.split("\\")]
    return _parse_one(vr, text)


def typed_tags(
    raw: Mapping[str, Any], problems: list[tuple[str, Any, str]] | None = None
) -> dict[str, Any]:
    """Parse every value of a ``{keyword: text}`` mapping by its VR.

    A value that does not parse is kept as its raw text (so nothing is
    lost) and, when ``problems`` is a list, ``(keyword, raw, reason)`` is
    appended to it. Tags unknown to the dictionary are kept as they are.
    """
    out: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            info = tag_info(name)
        except KeyError:
            out[name] = value
            continue
        try:
            out[name] = parse_value(info.vr, value, info.vm_multi)
        except ValueError as exc:
            out[name] = value
            if problems is not None:
                problems.append((name, value, str(exc)))
    return out
