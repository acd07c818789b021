"""Orthanc's text values as Python values: the one set of parsing rules.

Orthanc sends every DICOM value as text (multi-valued ones joined by a
backslash), and its own time stamps (``LastUpdate``, job times) as
``YYYYMMDDTHHMMSS``. The rules that turn such text into values live here,
once, and both the resource objects (typed properties, through
:func:`parse_value`) and the frames (whole columns at once, in Arrow, in
:mod:`orthanc_frames.frames.schema`) follow them: the patterns below are
the ones both use, so a text gives the same value in both, or is invalid
in both.

What a value becomes is decided by its VR's kind
(:data:`orthanc_frames.dicom_tags.VALUE_KINDS`):

- **text** is kept exactly as the server sends it (the server already
  dropped the padding of the values it read with their VR); a value of
  blanks only is missing;
- **numbers** (DS, FL, FD, OF, OD; IS, US, UL, SS, SL, SV, UV, OL, OV) are
  written as DICOM writes them (``-1.5``, ``2e-3``, blanks around
  allowed); ``inf`` and ``nan`` are not numbers. An integer VR takes whole
  numbers only (``3`` or ``3.0``, not ``3.5``);
- **dates** (DA) are ``YYYYMMDD`` (the old ``YYYY.MM.DD`` too), real
  calendar days;
- **times** (TM) are ``HH``, ``HHMM``, ``HHMMSS`` or ``HHMMSS.FFFFFF``
  (colons allowed); a leap second (60) reads as 59;
- **date-times** (DT) are ``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` with trailing
  parts optional; the value is the local date-time as written, without its
  UTC offset (a frame column holds one time zone, so the offset is checked
  and dropped on resources too);
- a **multi-valued** tag (:attr:`~orthanc_frames.dicom_tags.TagInfo.splits`)
  is a list, each item by these rules (an empty item is ``None``); one
  invalid item makes the whole value invalid. A backslash in a number, date
  or time of a single-valued tag makes the value invalid.

An invalid value is missing in a frame and has a row in ``f.problems``;
on a resource, the typed property raises ``ValueError`` naming the
resource and the raw text, and ``typed_main_dicom_tags`` keeps the raw
text (``main_dicom_tags`` always has it).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from .dicom_tags import ValueKind, tag_info, value_kind

__all__ = [
    "DATE_PATTERN",
    "EXACT_INTEGER_PATTERN",
    "INT64_LIMIT",
    "NUMBER_PATTERN",
    "ORTHANC_TIMESTAMP_PATTERN",
    "ORTHANC_TIMESTAMP_REASON",
    "TIME_PATTERN",
    "parse_date",
    "parse_datetime",
    "parse_float",
    "parse_integer",
    "parse_one",
    "parse_orthanc_timestamp",
    "parse_time",
    "parse_value",
    "reason",
    "typed_tags",
]

NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
"""A DICOM number (DS, IS), blanks trimmed: decimal or scientific notation."""

EXACT_INTEGER_PATTERN = r"^[+-]?\d{1,18}$"
"""An integer read exactly (any longer integer goes through a float)."""

INT64_LIMIT = 2**63
"""Whole numbers must lie in ``(-INT64_LIMIT, INT64_LIMIT)`` (a frame column is int64)."""

DATE_PATTERN = r"^\d{8}$"
"""A DA value once blanks and dots (``YYYY.MM.DD``) are removed."""

TIME_PATTERN = r"^(?P<hour>\d{2})(?P<minute>\d{2})?(?P<second>\d{2})?(?:\.(?P<fraction>\d{1,6}))?$"
"""A TM value once blanks and colons are removed."""

LEAP_SECOND = 60
"""The one second past 59 that a time may hold; it reads as 59."""

ORTHANC_TIMESTAMP_PATTERN = r"^(?P<date>\d{8})T(?P<time>\d{6})(?:\.(?P<fraction>\d{1,6}))?$"
"""Orthanc's own time stamps: ``LastUpdate``, job creation and completion times."""

ORTHANC_TIMESTAMP_REASON = "not an Orthanc time stamp (YYYYMMDDTHHMMSS)"

_REASONS = {
    ValueKind.DATE: "not a valid DICOM date (YYYYMMDD)",
    ValueKind.TIME: "not a valid DICOM time (HHMMSS.FFFFFF)",
    ValueKind.DATETIME: "not a valid DICOM date-time",
    ValueKind.FLOAT: "not a number",
    ValueKind.INT: "not a whole number",
    ValueKind.TEXT: "unreadable value",
}
_NUMBER = re.compile(NUMBER_PATTERN, re.ASCII)  # as in Arrow: 0-9 only
_EXACT_INTEGER = re.compile(EXACT_INTEGER_PATTERN, re.ASCII)  # as in Arrow: 0-9 only
_DATE = re.compile(DATE_PATTERN, re.ASCII)  # as in Arrow: 0-9 only
_TIME = re.compile(TIME_PATTERN, re.ASCII)  # as in Arrow: 0-9 only
_ORTHANC_TIMESTAMP = re.compile(ORTHANC_TIMESTAMP_PATTERN, re.ASCII)  # as in Arrow: 0-9 only


def reason(vr: str) -> str:
    """Why a value of ``vr`` was refused, as ``f.problems`` and the errors say it."""
    kind = value_kind(vr)
    text = _REASONS[kind]
    return f"{text} ({vr})" if kind in (ValueKind.FLOAT, ValueKind.INT) else text


def _refuse(vr: str, text: str) -> ValueError:
    return ValueError(f"{reason(vr)}: {text!r}")


def parse_float(text: str, vr: str = "DS") -> float:
    """A DICOM number as a float (see :data:`NUMBER_PATTERN`); ``ValueError`` otherwise."""
    s = text.strip()
    if not _NUMBER.match(s):
        raise _refuse(vr, text)
    value = float(s)
    if not math.isfinite(value):
        raise _refuse(vr, text)
    return value


def parse_integer(text: str, vr: str = "IS") -> int:
    """A DICOM number that is whole (``3``, ``3.0``, ``3e2``) as an int; ``ValueError`` otherwise."""
    s = text.strip()
    if _EXACT_INTEGER.match(s):
        return int(s)
    try:
        value = parse_float(s, vr)
    except ValueError:
        raise _refuse(vr, text) from None
    if not value.is_integer() or abs(value) >= INT64_LIMIT:
        raise _refuse(vr, text)
    return int(value)


def parse_date(text: str) -> dt.date:
    """A DICOM DA value (``YYYYMMDD``; the old ``YYYY.MM.DD`` is accepted)."""
    s = text.strip().replace(".", "")
    if not _DATE.match(s):
        raise _refuse("DA", text)
    try:
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        raise _refuse("DA", text) from None


def parse_time(text: str) -> dt.time:
    """A DICOM TM value (``HH``, ``HHMM``, ``HHMMSS`` or ``HHMMSS.FFFFFF``)."""
    match = _TIME.match(text.strip().replace(":", ""))
    if match is None:
        raise _refuse("TM", text)
    hour, minute, second = (int(match.group(name) or 0) for name in ("hour", "minute", "second"))
    if hour > 23 or minute > 59 or second > LEAP_SECOND:
        raise _refuse("TM", text)
    micro = int((match.group("fraction") or "").ljust(6, "0"))
    return dt.time(hour, minute, min(second, 59), micro)


def _digits(text: str, length: int | None = None) -> bool:
    """ASCII digits only (``str.isdigit`` also takes other scripts' digits)."""
    return text.isascii() and text.isdigit() and (length is None or len(text) == length)


def parse_datetime(text: str) -> dt.datetime:
    """A DICOM DT value (``YYYYMMDDHHMMSS.FFFFFF&ZZXX``, trailing parts optional).

    The result is naive: the date-time as written. A UTC offset must be
    well formed (``+HHMM`` or ``-HHMM``) and is dropped.
    """
    s = text.strip()
    for sign in ("+", "-"):
        if sign in s[4:]:
            s, _, zone = s.rpartition(sign)
            if not _digits(zone, 4) or int(zone[:2]) > 23 or int(zone[2:]) > 59:
                raise _refuse("DT", text)
            break
    whole, _, frac = s.partition(".")
    if (
        not _digits(whole)
        or len(whole) < 4
        or len(whole) % 2
        or len(whole) > 14
        or (frac and (not _digits(frac) or len(frac) > 6 or len(whole) < 14))
    ):
        raise _refuse("DT", text)
    parts = [int(whole[:4])] + [int(whole[i : i + 2]) for i in range(4, len(whole), 2)]
    defaults = [1, 1, 1, 0, 0, 0]  # a truncated DT means the start of the period
    year, month, day, hour, minute, second = parts + defaults[len(parts) :]
    if second > LEAP_SECOND:
        raise _refuse("DT", text)
    micro = int(frac.ljust(6, "0")) if frac else 0
    try:
        return dt.datetime(year, month, day, hour, minute, min(second, 59), micro)
    except ValueError:
        raise _refuse("DT", text) from None


def parse_orthanc_timestamp(text: str | None) -> dt.datetime | None:
    """One of Orthanc's own time stamps (``20240131T101500``, optionally ``.ffffff``).

    Returns a naive datetime (the server's local time), ``None`` for an
    empty value; raises ``ValueError`` for anything else.
    """
    if text is None or not str(text).strip():
        return None
    match = _ORTHANC_TIMESTAMP.match(str(text).strip())
    if match is None:
        raise ValueError(f"{ORTHANC_TIMESTAMP_REASON}: {text!r}")
    stamp = match.group("date") + match.group("time")
    micro = int((match.group("fraction") or "").ljust(6, "0"))
    try:
        return dt.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(microsecond=micro)
    except ValueError:
        raise ValueError(f"{ORTHANC_TIMESTAMP_REASON}: {text!r}") from None


_PARSERS = {
    ValueKind.DATE: parse_date,
    ValueKind.TIME: parse_time,
    ValueKind.DATETIME: parse_datetime,
}


def parse_one(vr: str, text: str) -> Any:
    """One value (never a list) of ``vr`` from its text; ``None`` for blanks.

    Raises
    ------
    ValueError
        When the text is not a value of ``vr`` (see the module's rules).
    """
    if not text.strip():
        return None
    kind = value_kind(vr)
    if kind is ValueKind.FLOAT:
        return parse_float(text, vr)
    if kind is ValueKind.INT:
        return parse_integer(text, vr)
    parser = _PARSERS.get(kind)
    return text if parser is None else parser(text)


def parse_value(vr: str, raw: Any, multi: bool = False) -> Any:
    """Turn one tag value as Orthanc sends it into a typed Python value.

    Parameters
    ----------
    vr : str
        The value representation (see :func:`~orthanc_frames.dicom_tags.tag_info`).
    raw : str, list, dict or None
        The value from Orthanc's JSON (``simplify``/``short`` form).
    multi : bool
        The tag's text is a backslash-joined list
        (:attr:`~orthanc_frames.dicom_tags.TagInfo.splits`): the result is a list.

    Returns
    -------
    ``datetime.date`` (DA), ``datetime.time`` (TM), ``datetime.datetime`` (DT),
    ``float``, ``int``, ``str`` (text), a list of these for multi-valued
    tags, ``None`` for an absent or blank value; sequences (lists of dicts)
    and JSON numbers are returned unchanged.

    Raises
    ------
    ValueError
        When a value does not parse as its VR says (e.g. a date ``19991399``).
    """
    if raw is None:
        return None
    if isinstance(raw, (list, dict, int, float)):
        return raw
    text = str(raw)
    if not text.strip():
        return None
    if not multi:
        return parse_one(vr, text)
    try:
        return [parse_one(vr, piece) for piece in text.split("\\")]
    except ValueError:
        raise _refuse(vr, text) from None


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
            out[name] = parse_value(info.vr, value, info.splits)
        except ValueError as exc:
            out[name] = value
            if problems is not None:
                problems.append((name, value, str(exc)))
    return out
