"""Column types of the frames: DICOM VR -> Arrow-backed pandas dtype, and vectorized parsing.

The VR and multiplicity of every tag come from
:mod:`orthanc_frames.dicom_tags` (pydicom's dictionary); this module only
maps them to dtypes and parses whole columns of Orthanc's text at once.

========================  =====================================
VR                        dtype
========================  =====================================
DA                        ``date32[pyarrow]``
TM                        ``time64[us][pyarrow]``
DT                        ``timestamp[us][pyarrow]`` (naive; offsets dropped)
DS, FL, FD                ``double[pyarrow]``
IS, US, UL, SS, SL, ...   ``int64[pyarrow]`` (nullable)
anything else             ``string[pyarrow]``
multi-valued tag (VM>1)   ``list<...>[pyarrow]`` of the above
========================  =====================================

Columns are parsed in Arrow, never value by value in Python. A number
must be written as DICOM writes numbers (``-1.5``, ``2e-3``); ``inf`` or
``nan`` are not. A value that does not parse becomes missing, and one row is added to the
problems table: ``level``, ``id``, ``column``, ``value`` (raw text),
``reason``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..dicom_tags import parse_datetime, tag_info

__all__ = [
    "ORTHANC_FIELDS",
    "PROBLEM_COLUMNS",
    "Problem",
    "arrow_type_for_vr",
    "dtype_for_tag",
    "empty_problems",
    "orthanc_field_dtype",
    "parse_tag_column",
    "parse_tag_columns",
    "problems_frame",
]

PROBLEM_COLUMNS = ("level", "id", "column", "value", "reason")

_FLOAT_VRS = frozenset({"DS", "FL", "FD", "OF", "OD"})
_INT_VRS = frozenset({"IS", "US", "UL", "SS", "SL", "SV", "UV"})
_TEXT_VRS_NEVER_SPLIT = frozenset({"LT", "ST", "UT", "UR", "UN", "SQ", "OB", "OW", "OL", "OV"})

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
    if vr == "DA":
        return pa.date32()
    if vr == "TM":
        return pa.time64("us")
    if vr == "DT":
        return pa.timestamp("us")
    if vr in _FLOAT_VRS:
        return pa.float64()
    if vr in _INT_VRS:
        return pa.int64()
    return pa.string()


def _is_list_tag(vr: str, vm_multi: bool) -> bool:
    return vm_multi and vr not in _TEXT_VRS_NEVER_SPLIT


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
    if _is_list_tag(info.vr, info.vm_multi):
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


def _parse_scalars(text: pa.Array, vr: str) -> tuple[pa.Array, str]:
    """Parse a string array by VR. Returns the typed array and the failure reason text."""
    text = pc.utf8_trim_whitespace(text)
    empty = pc.equal(text, "")
    text = pc.if_else(empty, pa.scalar(None, pa.string()), text)
    if vr == "DA":
        digits = pc.replace_substring(text, ".", "")
        ok_shape = pc.match_substring_regex(digits, r"^\d{8}$")
        digits = pc.if_else(ok_shape, digits, pa.scalar(None, pa.string()))
        stamps = pc.strptime(digits, format="%Y%m%d", unit="s", error_is_null=True)
        return pc.cast(stamps, pa.date32()), "not a valid DICOM date (YYYYMMDD)"
    if vr == "TM":
        return _parse_times(text), "not a valid DICOM time (HHMMSS.FFFFFF)"
    if vr == "DT":
        values = []
        for item in text.to_pylist():
            try:
                values.append(None if item is None else parse_datetime(item).replace(tzinfo=None))
            except ValueError:
                values.append(None)
        return pa.array(values, type=pa.timestamp("us")), "not a valid DICOM date-time"
    if vr in _FLOAT_VRS or vr in _INT_VRS:
        as_float = _parse_numbers(text)
        if vr in _FLOAT_VRS:
            return as_float, f"not a number ({vr})"
        whole = pc.and_(pc.is_finite(as_float), pc.equal(pc.floor(as_float), as_float))
        ints = pc.cast(pc.if_else(whole, as_float, pa.scalar(None, pa.float64())), pa.int64())
        return ints, f"not a whole number ({vr})"
    return text, ""


# Decimal and scientific notation, as DS and IS allow (after trimming blanks).
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _parse_numbers(text: pa.Array) -> pa.Array:
    """Text -> float64 in Arrow (no Python per value); anything else is null."""
    looks_numeric = pc.fill_null(pc.match_substring_regex(text, _NUMBER_RE), False)
    numeric_text = pc.if_else(looks_numeric, text, pa.scalar(None, pa.string()))
    as_float = pc.cast(numeric_text, pa.float64())
    return pc.if_else(pc.is_finite(as_float), as_float, pa.scalar(None, pa.float64()))


_TIME_RE = r"^(?P<hour>\d{2})(?P<minute>\d{2})?(?P<second>\d{2})?(?:\.(?P<fraction>\d{1,6}))?$"


def _time_part(parts: pa.StructArray, name: str) -> pa.Array:
    """One field of the matched time as int64; a part left out (empty match) is 0."""
    text = pc.struct_field(parts, name)
    text = pc.if_else(pc.equal(text, ""), pa.scalar("0"), text)
    return pc.cast(text, pa.int64())


def _parse_times(text: pa.Array) -> pa.Array:
    cleaned = pc.replace_substring(text, ":", "")
    parts = pc.extract_regex(cleaned, _TIME_RE)  # null where the text does not match
    hour, minute = _time_part(parts, "hour"), _time_part(parts, "minute")
    second = pc.min_element_wise(_time_part(parts, "second"), 59)  # a leap second 60 reads as 59
    fraction_text = pc.utf8_rpad(pc.struct_field(parts, "fraction"), width=6, padding="0")
    micros_of_second = pc.cast(fraction_text, pa.int64())
    valid = pc.and_(pc.less(hour, 24), pc.less(minute, 60))
    seconds = pc.add(pc.add(pc.multiply(hour, 3600), pc.multiply(minute, 60)), second)
    micros = pc.add(pc.multiply(seconds, 1_000_000), micros_of_second)
    micros = pc.if_else(valid, micros, pa.scalar(None, pa.int64()))
    return pc.cast(micros, pa.time64("us"))


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
    values = raw.tolist()
    typed, bad, texts, reason = _parse_text(values, vr, is_list)
    if problems is not None and pc.any(bad).as_py():
        mask = np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)
        bad_texts = [text for text, is_bad in zip(texts, mask, strict=True) if is_bad]
        for index_value, value in zip(raw.index[mask], bad_texts, strict=True):
            problems.append(Problem(level, str(index_value), name, str(value), reason))
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
        typed, bad, texts, reason = _parse_text(values, vr, is_list)
        for position, name in enumerate(names):
            typed_of[name] = typed.slice(position * rows, rows)
        if problems is not None and pc.any(bad).as_py():
            mask = np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)
            for flat in np.flatnonzero(mask):
                name = names[flat // rows]
                row_id = str(index[flat % rows])
                found.setdefault(name, []).append(
                    Problem(level, row_id, name, str(texts[flat]), reason)
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
    return info.vr, _is_list_tag(info.vr, info.vm_multi)


def _parse_text(
    values: list[Any], vr: str, is_list: bool
) -> tuple[pa.Array, pa.Array, list[Any], str]:
    """Typed values, which did not parse, the texts they came from, and why."""
    try:
        source = pa.array(values, type=pa.string())  # Orthanc's values are text already
        texts: list[Any] = values
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        texts = [_text_of(v) for v in values]
        source = pa.array(texts, type=pa.string())
    if is_list:
        typed, bad = _parse_lists(source, vr)
        return typed, bad, texts, _reason_for(vr)
    typed, reason = _parse_scalars(source, vr)
    return typed, pc.and_(pc.is_null(typed), _has_text(source)), texts, reason


def _text_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN from a missing key
        return None
    if isinstance(value, list):
        return "\\".join(str(v) for v in value)
    return str(value)


def _has_text(source: pa.Array) -> pa.Array:
    return pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(source)), 0), False)


def _reason_for(vr: str) -> str:
    return {
        "DA": "not a valid DICOM date (YYYYMMDD)",
        "TM": "not a valid DICOM time (HHMMSS.FFFFFF)",
        "DT": "not a valid DICOM date-time",
    }.get(vr, f"not a number ({vr})" if vr in _FLOAT_VRS | _INT_VRS else "unreadable value")


def _parse_lists(source: pa.Array, vr: str) -> tuple[pa.Array, pa.Array]:
    """Split on backslashes, parse every item at once, rebuild lists.

    A cell with any unparseable item becomes missing (and is reported).
    """
    present = _has_text(source)
    split = pc.split_pattern(pc.fill_null(source, ""), "\\")
    flat = pc.list_flatten(split)
    parsed, _ = _parse_scalars(flat, vr)
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
