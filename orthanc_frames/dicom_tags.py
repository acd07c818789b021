"""DICOM tag knowledge in one place: keywords, VRs, multiplicity, main tags.

Everything here reads pydicom's data dictionary (``pydicom.datadict``) and
its VR sets (``pydicom.valuerep``); no other module keeps its own table of
VRs. :data:`VALUE_KINDS` says what one value of each VR becomes (a date, a
float, text...) and :attr:`TagInfo.splits` whether a tag's text is a
backslash-joined list: the resource objects and the frames both type their
values from these (with the rules of :mod:`orthanc_frames.dicom_values`).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydicom import datadict
from pydicom.valuerep import BYTES_VR, FLOAT_VR, INT_VR, LIST_VR, VR

from .levels import LEVEL_NAMES, level_name

__all__ = [
    "DEFAULT_MAIN_TAGS",
    "LEVELS",
    "MAIN_TAGS",
    "UNSPLIT_VRS",
    "VALUE_KINDS",
    "MainTags",
    "TagInfo",
    "UnknownKeywordError",
    "ValueKind",
    "check_keyword",
    "is_multi_valued",
    "main_tags",
    "tag_info",
    "value_kind",
]

LEVELS = LEVEL_NAMES

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


class ValueKind(enum.Enum):
    """What one value of a VR becomes, on a resource and in a frame column.

    ========  ===================  =========================
    kind      Python               frame column (Arrow)
    ========  ===================  =========================
    DATE      ``datetime.date``    ``date32``
    TIME      ``datetime.time``    ``time64[us]``
    DATETIME  ``datetime``         ``timestamp[us]``
    FLOAT     ``float``            ``double``
    INT       ``int``              ``int64`` (nullable)
    TEXT      ``str``              ``string``
    ========  ===================  =========================
    """

    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    FLOAT = "float"
    INT = "int"
    TEXT = "text"


def _value_kinds() -> dict[str, ValueKind]:
    kinds = {vr.value: ValueKind.TEXT for vr in VR}
    # pydicom's number VRs, and the "other" VRs that hold arrays of numbers
    # (OF/OD floats, OL/OV integers). AT is an attribute tag: Orthanc writes
    # it as text ("0010,0010").
    kinds.update({vr.value: ValueKind.FLOAT for vr in FLOAT_VR | {VR.OF, VR.OD}})
    kinds.update({vr.value: ValueKind.INT for vr in (INT_VR - {VR.AT}) | {VR.OL, VR.OV}})
    kinds.update(DA=ValueKind.DATE, TM=ValueKind.TIME, DT=ValueKind.DATETIME)
    return kinds


VALUE_KINDS: Mapping[str, ValueKind] = MappingProxyType(_value_kinds())
"""VR -> the kind of one of its values; the one VR table of the package."""

UNSPLIT_VRS = frozenset(vr.value for vr in BYTES_VR | LIST_VR | {VR.LT, VR.ST, VR.UT, VR.UR})
"""VRs whose text is never split at backslashes: a backslash is a character of
LT/ST/UT/UR text, a byte VR holds one stream, a sequence is a list already."""


def value_kind(vr: str) -> ValueKind:
    """The kind of one value of ``vr`` (:class:`ValueKind`); unknown VRs are text."""
    return VALUE_KINDS.get(vr, ValueKind.TEXT)


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
    def kind(self) -> ValueKind:
        """What one value of the tag becomes (from its VR, :data:`VALUE_KINDS`)."""
        return value_kind(self.vr)

    @property
    def splits(self) -> bool:
        """Whether the tag's text is a backslash-joined list of values.

        True when the dictionary allows several values (VM other than 1) and
        the VR is not one of :data:`UNSPLIT_VRS`.
        """
        return self.vm_multi and self.vr not in UNSPLIT_VRS

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


@dataclass(frozen=True)
class MainTags:
    """The main DICOM tags of each level: those a server keeps in its index.

    Orthanc filters on them and answers them without reading files. The
    defaults (:data:`MAIN_TAGS`) are Orthanc 1.12's; a server configured
    with ``ExtraMainDicomTags`` keeps more, and lists them in ``/system``
    (Orthanc 1.11 and later): ``client.capabilities.main_tags`` gives that
    server's own list.

    Attributes
    ----------
    by_level : mapping of str to tuple of str
        Level (``"patient"`` ... ``"instance"``) -> DICOM keywords.
    """

    by_level: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_MAIN_TAGS))

    @classmethod
    def of_server(cls, listed: Mapping[str, Iterable[str]] | None) -> MainTags:
        """The main tags a server lists (per level); Orthanc's defaults where it lists none.

        Parameters
        ----------
        listed : mapping, optional
            Level -> keywords, as read from ``/system`` (``MainDicomTags``;
            absent before Orthanc 1.11, where the defaults apply).
        """
        levels = {level_name(level): tuple(names) for level, names in (listed or {}).items()}
        return cls({level: levels.get(level) or DEFAULT_MAIN_TAGS[level] for level in LEVELS})

    def of(self, level: str) -> tuple[str, ...]:
        """The main tags of ``level``."""
        return self.by_level[level_name(level)]

    def level_of(self, keyword: str) -> str | None:
        """The highest level that keeps ``keyword`` as a main tag, or None."""
        return next((level for level in LEVELS if keyword in self.by_level.get(level, ())), None)

    def at_or_above(self, keyword: str, level: str) -> bool:
        """Whether ``keyword`` is a main tag of ``level`` or of a level above it."""
        found = self.level_of(keyword)
        return found is not None and LEVELS.index(found) <= LEVELS.index(level)

    def to_json(self) -> dict[str, list[str]]:
        """Level -> list of keywords (for the Parquet metadata)."""
        return {level: list(names) for level, names in self.by_level.items()}


MAIN_TAGS = MainTags()
"""Orthanc's default main DICOM tags (a server may keep more, see :class:`MainTags`)."""


def main_tags(level: str) -> tuple[str, ...]:
    """Orthanc's default main DICOM tags of a level (``"patient"`` ... ``"instance"``)."""
    return MAIN_TAGS.of(level)
