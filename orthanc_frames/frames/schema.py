"""Column types of the frames: DICOM VR -> Arrow-backed pandas dtype, and vectorized parsing.

The VR, its kind and the multiplicity of every tag come from
:mod:`orthanc_frames.dicom_tags` (pydicom's dictionary), the rules of each
value from :mod:`orthanc_frames.dicom_values` (the same patterns the
resource objects use); this module only maps kinds to dtypes and applies
the rules to whole columns of Orthanc's text at once.

========================  =====================================
VR                        dtype
========================  =====================================
DA                        ``date32[pyarrow]``
TM                        ``time64[us][pyarrow]``
DT                        ``timestamp[us][pyarrow]`` (naive; offsets dropped)
DS, FL, FD, OF, OD        ``double[pyarrow]``
IS, US, UL, SS, SL, ...   ``int64[pyarrow]`` (nullable)
anything else             ``string[pyarrow]`` (the server's text as sent)
multi-valued tag (VM>1)   ``list<...>[pyarrow]`` of the above
========================  =====================================

Columns are parsed in Arrow, never value by value in Python (DT values
excepted: :func:`orthanc_frames.dicom_values.parse_datetime` reads each). A
value that does not parse becomes missing, and one row is added to the
problems table: ``level``, ``id``, ``column``, ``value`` (raw text),
``reason``. Orthanc's own time stamps (``last_update``) follow the same
way (:func:`parse_orthanc_time_column`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..dicom_tags import ValueKind, tag_info, value_kind
from ..dicom_values import (
    DATE_PATTERN,
    EXACT_INTEGER_PATTERN,
    INT64_LIMIT,
    LEAP_SECOND,
    NUMBER_PATTERN,
    ORTHANC_TIMESTAMP_PATTERN,
    ORTHANC_TIMESTAMP_REASON,
    TIME_PATTERN,
    parse_datetime,
)
from ..dicom_values import reason as reason_for_vr

__all__ = [
    "ORTHANC_FIELDS",
    "PROBLEM_COLUMNS",
    "Problem",
    "arrow_type_for_vr",
    "dtype_for_tag",
    "empty_problems",
    "orthanc_field_dtype",
    "parse_orthanc_time_column",
    "parse_tag_column",
    "parse_tag_columns",
    "problems_frame",
]

PROBLEM_COLUMNS = ("level", "id", "column", "value", "reason")

_ARROW_TYPES: Mapping[ValueKind, pa.DataType] = {
    ValueKind.DATE: pa.date32(),
    ValueKind.TIME: pa.time64("us"),
    ValueKind.DATETIME: pa.timestamp("us"),
    ValueKind.FLOAT: pa.float64(),
    ValueKind.INT: pa.int64(),
    ValueKind.TEXT: pa.string(),
}

STRING = pd.ArrowDtype(pa.string())
LIST_OF_STRINGS = pd.ArrowDtype(pa.list_(pa.string()))
INT64 = pd.ArrowDtype(pa.int64())
BOOL = pd.ArrowDtype(pa.bool_())
TIMESTAMP = pd.ArrowDtype(pa.timestamp("us"))  # Parquet has no second unit

ORTHANC_FIELDS: Mapping[str, pd.ArrowDtype] = {
    "patient": STRING,
    "study": STRING,
    "series": STRING,
    "labels": LIST_OF_STRINGS,
    "last_update": TIMESTAMP,
    "is_stable": BOOL,
    "status": STRING,
    "num_studies": INT64,
    "num_series": INT64,
    "num_instances": INT64,
    "file_size": INT64,
    "index_in_series": INT64,
}
"""Orthanc's own fields (snake_case) and link columns, with their dtypes."""


@dataclass(frozen=True)
class Problem:
    """One value that could not be typed."""

    level: str
    id: str
    column: str
    value: str
    reason: str


def orthanc_field_dtype(name: str) -> pd.ArrowDtype:
    """The dtype of one of Orthanc's own fields (``labels``, ``file_size``, ...)."""
    return ORTHANC_FIELDS[name]


def arrow_type_for_vr(vr: str) -> pa.DataType:
    """The Arrow type of ONE value of a VR (not the list type of multi-valued tags)."""
    return _ARROW_TYPES[value_kind(vr)]


def dtype_for_tag(name: str) -> pd.ArrowDtype:
    """The pandas dtype of a tag's column, from its VR and multiplicity.

    Parameters
    ----------
    name : str
        A DICOM keyword (``"StudyDate"``) or ``"gggg,eeee"``. Unknown tags
        are text.

    Returns
    -------
    pandas.ArrowDtype
    """
    try:
        info = tag_info(name)
    except KeyError:
        return STRING
    scalar = arrow_type_for_vr(info.vr)
    if info.splits:
        return pd.ArrowDtype(pa.list_(scalar))
    return pd.ArrowDtype(scalar)


def empty_problems() -> pd.DataFrame:
    """A problems table with no rows and the right columns."""
    return problems_frame([])


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """The problems table (columns level, id, column, value, reason; all strings)."""
    frame = pd.DataFrame(
        [(p.level, p.id, p.column, p.value, p.reason) for p in problems],
        columns=list(PROBLEM_COLUMNS),
    )
    return frame.astype(dict.fromkeys(PROBLEM_COLUMNS, STRING))


def _parse_scalars(text: pa.Array, vr: str) -> pa.Array:
    """Parse a string array by the rules of ``vr``'s kind; what does not parse is null."""
    kind = value_kind(vr)
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), False)
    if kind is ValueKind.TEXT:  # the server's text as sent; blanks only are missing
        return pc.if_else(blank, pa.scalar(None, pa.string()), text)
    text = pc.if_else(blank, pa.scalar(None, pa.string()), pc.utf8_trim_whitespace(text))
    if kind is ValueKind.DATE:
        return _parse_dates(text)
    if kind is ValueKind.TIME:
        return _parse_times(text)
    if kind is ValueKind.DATETIME:
        return _parse_datetimes(text)
    if kind is ValueKind.FLOAT:
        return _parse_numbers(text)
    return _parse_integers(text)


def _parse_dates(text: pa.Array) -> pa.Array:
    digits = pc.replace_substring(text, ".", "")
    digits = pc.if_else(_matches(digits, DATE_PATTERN), digits, pa.scalar(None, pa.string()))
    stamps = pc.strptime(digits, format="%Y%m%d", unit="s", error_is_null=True)
    return pc.if_else(
        _is_real_day(stamps, digits), pc.cast(stamps, pa.date32()), pa.scalar(None, pa.date32())
    )


def _is_real_day(stamps: pa.Array, digits: pa.Array) -> pa.Array:
    """Whether each ``YYYYMMDD`` is a calendar day (year 1 on), as Python's ``date`` has it.

    Arrow's strptime rolls a day past the month's end over (20230230 is
    March 2): a real day keeps the day it was written with.
    """
    written_day = pc.cast(pc.utf8_slice_codeunits(digits, 6, 8), pa.int64())
    real = pc.and_(pc.equal(pc.day(stamps), written_day), pc.greater_equal(pc.year(stamps), 1))
    return pc.fill_null(real, False)


def _parse_datetimes(text: pa.Array) -> pa.Array:
    values = []
    for item in text.to_pylist():
        try:
            values.append(None if item is None else parse_datetime(item))
        except ValueError:
            values.append(None)
    return pa.array(values, type=pa.timestamp("us"))


def _matches(text: pa.Array, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(text, pattern), False)


def _parse_numbers(text: pa.Array) -> pa.Array:
    """Text -> float64 in Arrow (no Python per value); anything else is null."""
    numeric_text = pc.if_else(_matches(text, NUMBER_PATTERN), text, pa.scalar(None, pa.string()))
    as_float = pc.cast(numeric_text, pa.float64())
    return pc.if_else(pc.is_finite(as_float), as_float, pa.scalar(None, pa.float64()))


def _parse_integers(text: pa.Array) -> pa.Array:
    """Whole numbers -> int64: exact for plain integers, through a float for the rest."""
    exact = _matches(text, EXACT_INTEGER_PATTERN)
    unsigned = pc.replace_substring_regex(text, r"^\+", "")  # Arrow reads no "+3"
    exact_ints = pc.cast(pc.if_else(exact, unsigned, pa.scalar(None, pa.string())), pa.int64())
    as_float = _parse_numbers(pc.if_else(exact, pa.scalar(None, pa.string()), text))
    whole = pc.and_(
        pc.equal(pc.floor(as_float), as_float), pc.less(pc.abs(as_float), float(INT64_LIMIT))
    )
    float_ints = pc.cast(pc.if_else(whole, as_float, pa.scalar(None, pa.float64())), pa.int64())
    return pc.if_else(exact, exact_ints, float_ints)


def _time_part(parts: pa.StructArray, name: str) -> pa.Array:
    """One field of the matched time as int64; a part left out (empty match) is 0."""
    text = pc.struct_field(parts, name)
    text = pc.if_else(pc.equal(text, ""), pa.scalar("0"), text)
    return pc.cast(text, pa.int64())


def _micros_of_day(
    hour: pa.Array, minute: pa.Array, second: pa.Array, fraction: pa.Array
) -> pa.Array:
    """Microseconds since midnight; null where the time is not a real one."""
    valid = pc.and_(
        pc.and_(pc.less(hour, 24), pc.less(minute, 60)), pc.less_equal(second, LEAP_SECOND)
    )
    second = pc.min_element_wise(second, 59)  # a leap second reads as 59
    micros_of_second = pc.cast(pc.utf8_rpad(fraction, width=6, padding="0"), pa.int64())
    seconds = pc.add(pc.add(pc.multiply(hour, 3600), pc.multiply(minute, 60)), second)
    micros = pc.add(pc.multiply(seconds, 1_000_000), micros_of_second)
    return pc.if_else(valid, micros, pa.scalar(None, pa.int64()))


def _parse_times(text: pa.Array) -> pa.Array:
    parts = pc.extract_regex(pc.replace_substring(text, ":", ""), TIME_PATTERN)
    hour, minute = _time_part(parts, "hour"), _time_part(parts, "minute")
    micros = _micros_of_day(
        hour, minute, _time_part(parts, "second"), pc.struct_field(parts, "fraction")
    )
    return pc.cast(micros, pa.time64("us"))


def parse_orthanc_time_column(
    raw: pd.Series, name: str, *, level: str, problems: list[Problem] | None = None
) -> pd.Series:
    """A column of Orthanc's own time stamps (``last_update``) as ``timestamp[us]``.

    The rule is :func:`orthanc_frames.dicom_values.parse_orthanc_timestamp`'s;
    a value that does not follow it is missing and reported in ``problems``.
    """
    source, texts = _text_array(raw.tolist())
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(source), ""), False)
    text = pc.if_else(blank, pa.scalar(None, pa.string()), pc.utf8_trim_whitespace(source))
    parts = pc.extract_regex(text, ORTHANC_TIMESTAMP_PATTERN)
    digits = pc.struct_field(parts, "date")
    dates = pc.strptime(digits, format="%Y%m%d", unit="us", error_is_null=True)
    day_ok = _is_real_day(dates, digits)
    clock = pc.struct_field(parts, "time")
    hour, minute, second = (
        pc.cast(pc.utf8_slice_codeunits(clock, start, start + 2), pa.int64()) for start in (0, 2, 4)
    )
    micros = _micros_of_day(hour, minute, second, pc.struct_field(parts, "fraction"))
    micros = pc.if_else(pc.less(second, LEAP_SECOND), micros, pa.scalar(None, pa.int64()))
    stamps = pc.add(pc.cast(dates, pa.int64()), micros)
    stamps = pc.if_else(day_ok, stamps, pa.scalar(None, pa.int64()))
    typed = pc.cast(stamps, pa.timestamp("us"))
    _report(
        problems,
        pc.and_(pc.is_null(typed), _has_text(source)),
        texts,
        raw.index,
        level,
        name,
        ORTHANC_TIMESTAMP_REASON,
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(typed), index=raw.index, name=name)


def _report(
    problems: list[Problem] | None,
    bad: pa.Array,
    texts: Sequence[Any],
    index: pd.Index,
    level: str,
    name: str,
    why: str,
) -> None:
    """Append one :class:`Problem` per flagged row."""
    if problems is None or not pc.any(bad).as_py():
        return
    mask = np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)
    bad_texts = [text for text, is_bad in zip(texts, mask, strict=True) if is_bad]
    for row_id, text in zip(index[mask].tolist(), bad_texts, strict=True):
        problems.append(Problem(level, str(row_id), name, str(text), why))


def parse_tag_column(
    raw: pd.Series, name: str, *, level: str, problems: list[Problem] | None = None
) -> pd.Series:
    """Turn a column of Orthanc's text values into its typed, Arrow-backed column.

    Parameters
    ----------
    raw : pandas.Series
        Text as Orthanc sends it (multi-valued: joined by ``\\``); missing
        values may be None. The index holds the Orthanc IDs.
    name : str
        The tag (keyword or ``gggg,eeee``): gives VR and multiplicity.
    level : str
        For the problems table.
    problems : list, optional
        Unparseable values are appended here as :class:`Problem`.

    Returns
    -------
    pandas.Series
        Same index, dtype :func:`dtype_for_tag` ``(name)``. Values that did
        not parse are missing.
    """
    vr, is_list = _parsing_of(name)
    typed, bad, texts = _parse_text(raw.tolist(), vr, is_list)
    _report(problems, bad, texts, raw.index, level, name, reason_for_vr(vr))
    return pd.Series(pd.arrays.ArrowExtensionArray(typed), index=raw.index, name=name)


GROUPED_PARSE_MAX_ROWS = 256
"""Up to this many rows, :func:`parse_tag_columns` parses the columns of one VR together."""


def parse_tag_columns(
    raw: Mapping[str, Sequence[Any]],
    index: pd.Index,
    *,
    level: str,
    problems: list[Problem] | None = None,
) -> dict[str, pd.Series]:
    """Typed columns of several tags: :func:`parse_tag_column` on each, in fewer kernel calls.

    Parameters
    ----------
    raw : mapping of str to sequence
        Tag (keyword or ``gggg,eeee``) -> Orthanc's text values, one per
        row of ``index``.
    index : pandas.Index
        The Orthanc IDs of the rows.
    level : str
        For the problems table.
    problems : list, optional
        Unparseable values are appended here as :class:`Problem`, column by
        column in the order of ``raw``.

    Returns
    -------
    dict of str to pandas.Series
        The same columns as :func:`parse_tag_column` gives one by one.

    Notes
    -----
    Parsing costs a fixed time per call, whatever the row count: with up to
    :data:`GROUPED_PARSE_MAX_ROWS` rows (a refresh's few re-read rows), the
    values of every column of one VR and multiplicity are parsed as one
    array. Larger frames are parsed column by column (each column then
    owns contiguous memory).
    """
    rows = len(index)
    if rows > GROUPED_PARSE_MAX_ROWS:
        return {
            name: parse_tag_column(
                pd.Series(list(values), index=index, dtype=object),
                name,
                level=level,
                problems=problems,
            )
            for name, values in raw.items()
        }
    groups: dict[tuple[str, bool], list[str]] = {}
    for name in raw:
        groups.setdefault(_parsing_of(name), []).append(name)
    typed_of: dict[str, pa.Array] = {}
    found: dict[str, list[Problem]] = {}
    for (vr, is_list), names in groups.items():
        values = [value for name in names for value in raw[name]]
        typed, bad, texts = _parse_text(values, vr, is_list)
        for position, name in enumerate(names):
            typed_of[name] = typed.slice(position * rows, rows)
        if problems is not None and pc.any(bad).as_py():
            mask = np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)
            for flat in np.flatnonzero(mask):
                name = names[flat // rows]
                row_id = str(index[flat % rows])
                found.setdefault(name, []).append(
                    Problem(level, row_id, name, str(texts[flat]), reason_for_vr(vr))
                )
    if problems is not None:
        for name in raw:
            problems.extend(found.get(name, ()))
    return {
        name: pd.Series(pd.arrays.ArrowExtensionArray(typed_of[name]), index=index, name=name)
        for name in raw
    }


def _parsing_of(name: str) -> tuple[str, bool]:
    """The VR of a tag and whether its values are split into lists."""
    try:
        info = tag_info(name)
    except KeyError:
        return "UN", False
    return info.vr, info.splits


def _parse_text(values: list[Any], vr: str, is_list: bool) -> tuple[pa.Array, pa.Array, list[Any]]:
    """Typed values, which did not parse, and the texts they came from."""
    source, texts = _text_array(values)
    if is_list:
        typed, bad = _parse_lists(source, vr)
        return typed, bad, texts
    typed = _parse_scalars(source, vr)
    return typed, pc.and_(pc.is_null(typed), _has_text(source)), texts


def _text_array(values: list[Any]) -> tuple[pa.Array, list[Any]]:
    """Orthanc's values as an Arrow string array, and the texts it holds."""
    try:
        return pa.array(values, type=pa.string()), values  # Orthanc's values are text already
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        texts = [_text_of(v) for v in values]
        return pa.array(texts, type=pa.string()), texts


def _text_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN from a missing key
        return None
    if isinstance(value, list):
        if any(isinstance(v, (dict, list)) for v in value):
            return json.dumps(value)  # a sequence: its JSON
        return "\\".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _has_text(source: pa.Array) -> pa.Array:
    return pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(source)), 0), False)


def _parse_lists(source: pa.Array, vr: str) -> tuple[pa.Array, pa.Array]:
    """Split on backslashes, parse every item at once, rebuild lists.

    A cell with any unparseable item becomes missing (and is reported).
    """
    present = _has_text(source)
    split = pc.split_pattern(pc.fill_null(source, ""), "\\")
    flat = pc.list_flatten(split)
    parsed = _parse_scalars(flat, vr)
    item_bad = pc.and_(pc.is_null(parsed), _has_text(flat))
    offsets = split.offsets
    rebuilt = pa.ListArray.from_arrays(offsets, parsed)
    row_bad = _any_per_list(offsets, item_bad)
    cell_bad = pc.and_(present, row_bad)
    keep = pc.and_(present, pc.invert(row_bad))
    result = pc.if_else(keep, rebuilt, pa.scalar(None, rebuilt.type))
    return result, cell_bad


def _any_per_list(offsets: pa.Array, flags: pa.Array) -> pa.Array:
    bad = np.asarray(flags.to_numpy(zero_copy_only=False), dtype=np.int64)
    cumulative = np.concatenate([[0], np.cumsum(bad)])
    offs = np.asarray(offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    return pa.array((cumulative[offs[1:]] - cumulative[offs[:-1]]) > 0)
