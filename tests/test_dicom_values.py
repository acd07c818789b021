"""One set of value rules: a resource's typed value equals the frame's cell, for every VR.

The same raw text (as Orthanc sends it) is typed twice: by a resource
object (``typed_main_dicom_tags``, the typed properties, ``last_update``)
and by the frames' column parser (Arrow, whole columns at once). For every
VR of pydicom's dictionary, on a single-valued and a multi-valued tag, the
two agree: the same value, or invalid in both (missing with a row in
``problems`` in the frame; the raw text kept in ``typed_main_dicom_tags``
and a ``ValueError`` from the typed accessor on the resource). No server is
needed: the resources are built from an answer and send nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from pydicom.datadict import DicomDictionary
from transports import RecordingTransport

import orthanc_frames as of
from orthanc_frames.dicom_tags import VALUE_KINDS, ValueKind, tag_info
from orthanc_frames.dicom_values import parse_orthanc_timestamp, parse_value
from orthanc_frames.frames.load import build_frame
from orthanc_frames.frames.schema import (
    Problem,
    dtype_for_tag,
    parse_orthanc_time_column,
    parse_tag_column,
)

TEXTS: dict[ValueKind, list[Any]] = {
    ValueKind.DATE: [
        "20240131",
        "2024.01.31",
        " 20240131 ",
        "20240229",
        "20230229",
        "20240230",
        "00000101",
        "2024013",
        "202401311",
        "x",
        "",
        "  ",
        None,
        "20240131\\20240201",
        "20240131\\2024",
    ],
    ValueKind.TIME: [
        "101010",
        "1010",
        "10",
        "101010.5",
        "10:10:10.123456",
        "235960",
        "235961",
        "246000",
        "106000",
        "101010.1234567",
        "101010.",
        "1",
        "",
        None,
        "1010\\1111",
        "1010\\99",
    ],
    ValueKind.DATETIME: [
        "20240131101010",
        "2024",
        "202401",
        "20240131101010.5",
        "20240131101010.5+0100",
        "20240131101010-0530",
        "20240131101010+99",
        "20241331",
        "2024013110101",
        "20240131101060",
        "20240131101061",
        "\u0662\u0660\u0662\u0664",
        "",
        None,
        "2024\\2025",
    ],
    ValueKind.FLOAT: [
        "1.5",
        " -2e-3 ",
        "+2",
        ".5",
        "3.",
        "1E5",
        "inf",
        "nan",
        "1e400",
        "1,5",
        "1_0",
        "0x10",
        "",
        None,
        "1.5\\2.5",
        "1.5\\\\2.5",
        "1.5\\x",
    ],
    ValueKind.INT: [
        "3",
        " -3 ",
        "+3",
        "3.0",
        "3e2",
        "3.5",
        "9007199254740993",
        "99999999999999999999",
        "1e30",
        "x",
        "1_0",
        "\u0663",
        "",
        None,
        "1\\2",
        "1\\2.5",
    ],
    ValueKind.TEXT: ["CT", " padded ", "  lead", "A\\B", "A\\\\B", "", "   ", None, "Ä^ö"],
}


def _tags_of_vr(vr: str) -> Iterator[str]:
    """A single-valued and a multi-valued keyword of ``vr``, where the dictionary has them."""
    found: dict[bool, str] = {}
    for _tag, (entry_vr, vm, _name, retired, keyword) in sorted(DicomDictionary.items()):
        if entry_vr == vr and keyword and not retired:
            found.setdefault(vm != "1", keyword)
    yield from found.values()


SERIES_ID = "0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c"

CASES = [
    (vr, keyword)
    for vr in sorted(VALUE_KINDS)
    if " " not in vr and vr != "SQ"
    for keyword in _tags_of_vr(vr)
]


@pytest.fixture(scope="module")
def offline() -> Iterator[tuple[of.Orthanc, RecordingTransport]]:
    """A client of no server: the resources built from answers must send nothing."""
    transport = RecordingTransport()
    with of.Orthanc("http://127.0.0.1:9", transport=transport) as client:
        yield client, transport
    assert transport.requests == []


def _resource(client: of.Orthanc, tags: dict[str, Any], **fields: Any) -> of.Series:
    return of.Series._from_information(
        client, {"ID": SERIES_ID, "MainDicomTags": tags, **fields}, complete=True
    )


def _cells(column: pd.Series) -> list[Any]:
    return pa.array(column.array).to_pylist()


def test_every_vr_is_covered() -> None:
    vrs = {vr for vr, _ in CASES}
    assert vrs >= {"OF", "OD", "DS", "IS", "FL", "FD", "US", "DA", "TM", "DT", "PN", "CS"}
    assert {tag_info(k).splits for vr, k in CASES if vr in ("IS", "DS")} == {True, False}


@pytest.mark.parametrize(("vr", "keyword"), CASES, ids=[f"{vr}-{k}" for vr, k in CASES])
def test_the_resource_value_equals_the_frame_cell(
    offline: tuple[of.Orthanc, RecordingTransport], vr: str, keyword: str
) -> None:
    client, transport = offline
    texts = TEXTS[VALUE_KINDS[vr]]
    problems: list[Problem] = []
    index = pd.Index([f"s{i}" for i in range(len(texts))], name="series")
    column = parse_tag_column(
        pd.Series(texts, index=index, dtype=object), keyword, level="series", problems=problems
    )
    assert column.dtype == dtype_for_tag(keyword)
    reported = {p.id: p for p in problems}
    info = tag_info(keyword)
    for row_id, raw, cell in zip(index, texts, _cells(column), strict=True):
        resource = _resource(client, {keyword: raw})
        typed = resource.typed_main_dicom_tags[keyword]
        if row_id in reported:
            assert cell is None and reported[row_id].value == raw, (keyword, raw)
            assert typed == raw, (keyword, raw)  # the resource keeps the raw text
            with pytest.raises(ValueError, match="not a"):
                parse_value(info.vr, raw, info.splits)
        else:
            assert typed == cell, (keyword, raw, typed, cell)
            assert raw is None or cell is not None or not raw.strip(), (keyword, raw)
    assert transport.requests == []


def test_one_rule_per_kind_on_chosen_values() -> None:
    def typed(keyword: str, raw: str) -> Any:
        info = tag_info(keyword)
        return parse_value(info.vr, raw, info.splits)

    assert typed("StudyDate", "2024.01.31") == dt.date(2024, 1, 31)
    assert typed("StudyTime", "235960") == dt.time(23, 59, 59)
    assert typed("AcquisitionDateTime", "20240131101010.5+0100") == dt.datetime(
        2024, 1, 31, 10, 10, 10, 500000
    )
    assert typed("PointCoordinatesData", "1.5") == 1.5  # OF: a float, on resources too
    assert typed("SliceThickness", " 2.5 ") == 2.5
    assert typed("SeriesNumber", "3.0") == 3
    assert typed("ReferencedFrameNumber", "1\\2") == [1, 2]  # multi-valued IS
    assert typed("PixelSpacing", "0.5\\\\0.7") == [0.5, None, 0.7]
    assert typed("PatientID", "  lead") == "  lead"  # text as the server sent it
    assert typed("PatientID", "PID\\TWO") == "PID\\TWO"  # LO is single-valued: not split
    for keyword, raw in [
        ("StudyDate", "20230229"),
        ("StudyTime", "235961"),
        ("SliceThickness", "1.5\\2.5"),  # several values in a single-valued tag
        ("SeriesNumber", "3.5"),
        ("SliceThickness", "inf"),
    ]:
        with pytest.raises(ValueError):
            typed(keyword, raw)


def test_a_sequence_stays_a_list_on_resources_and_json_text_in_frames(
    offline: tuple[of.Orthanc, RecordingTransport],
) -> None:
    sequence = [{"CodeValue": "1"}, {"CodeValue": "2"}]
    column = parse_tag_column(
        pd.Series([sequence], index=pd.Index(["s1"], name="series")),
        "RequestAttributesSequence",
        level="series",
    )
    assert json.loads(_cells(column)[0]) == sequence
    resource = _resource(offline[0], {"RequestAttributesSequence": sequence})
    assert resource.typed_main_dicom_tags["RequestAttributesSequence"] == sequence


STAMPS = [
    "20240131T101500",
    "20240131T101500.25",
    " 20240131T101500 ",
    "20240230T101500",
    "20240131T246000",
    "20240131T101560",
    "20240131 101500",
    "garbage",
    "",
    None,
]


def test_last_update_is_typed_alike_and_a_bad_one_is_a_problem(
    offline: tuple[of.Orthanc, RecordingTransport],
) -> None:
    problems: list[Problem] = []
    index = pd.Index([f"s{i}" for i in range(len(STAMPS))], name="series")
    column = parse_orthanc_time_column(
        pd.Series(STAMPS, index=index, dtype=object),
        "last_update",
        level="series",
        problems=problems,
    )
    reported = {p.id: p for p in problems}
    assert {p.column for p in problems} == {"last_update"}
    for row_id, raw, cell in zip(index, STAMPS, _cells(column), strict=True):
        resource = _resource(offline[0], {}, LastUpdate=raw)
        if row_id in reported:
            assert cell is None and reported[row_id].value == raw
            with pytest.raises(ValueError, match="LastUpdate"):
                resource.last_update  # noqa: B018
        else:
            assert resource.last_update == cell == parse_orthanc_timestamp(raw), raw
    assert len(reported) == 5
    assert _cells(column)[1] == dt.datetime(2024, 1, 31, 10, 15, 0, 250000)


def test_a_frame_built_from_rows_reports_a_bad_last_update() -> None:
    rows = [
        {"ID": SERIES_ID, "study": None, "patient": None, "last_update": "20240131T101500"},
        {"ID": SERIES_ID[::-1], "study": None, "patient": None, "last_update": "20240132T101500"},
    ]
    problems: list[Problem] = []
    frame = build_frame("series", rows, (), problems)
    assert frame["last_update"].tolist()[0] == pd.Timestamp("2024-01-31 10:15:00")
    assert pd.isna(frame["last_update"].iloc[1])
    assert [(p.id, p.column, p.value) for p in problems] == [
        (SERIES_ID[::-1], "last_update", "20240132T101500")
    ]
