"""VR -> dtype mapping and vectorized column parsing (no server needed)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from orthanc_frames.frames.schema import Problem, dtype_for_tag, parse_tag_column, problems_frame


@pytest.mark.parametrize(
    ("tag", "arrow_type"),
    [
        ("StudyDate", pa.date32()),
        ("StudyTime", pa.time64("us")),
        ("AcquisitionDateTime", pa.timestamp("us")),
        ("SliceThickness", pa.float64()),
        ("SeriesNumber", pa.int64()),
        ("Rows", pa.int64()),
        ("PatientName", pa.string()),
        ("ImagePositionPatient", pa.list_(pa.float64())),
        ("ImageType", pa.list_(pa.string())),
        ("0009,0010", pa.string()),
    ],
)
def test_dtype_follows_vr_and_multiplicity(tag: str, arrow_type: pa.DataType) -> None:
    assert dtype_for_tag(tag) == pd.ArrowDtype(arrow_type)


def _parse(tag: str, values: list[object]) -> tuple[pd.Series, list[Problem]]:
    problems: list[Problem] = []
    index = pd.Index([f"id{i}" for i in range(len(values))], name="series")
    column = parse_tag_column(
        pd.Series(values, index=index), tag, level="series", problems=problems
    )
    return column, problems


def test_dates_times_and_bad_values() -> None:
    dates, problems = _parse("PatientBirthDate", ["19991399", "20000101", None, "", "1999.01.02"])
    assert dates.tolist()[1] == dt.date(2000, 1, 1)
    assert dates.tolist()[4] == dt.date(1999, 1, 2)
    assert dates.isna().tolist() == [True, False, True, True, False]
    assert [(p.id, p.value) for p in problems] == [("id0", "19991399")]
    times, problems = _parse("StudyTime", ["101010.5", "1010", "25", "0930"])
    assert times.tolist()[:2] == [dt.time(10, 10, 10, 500000), dt.time(10, 10)]
    assert pd.isna(times.iloc[2]) and [p.value for p in problems] == ["25"]


def test_numbers_and_lists() -> None:
    thickness, problems = _parse("SliceThickness", ["thick", "2.5", " 1 "])
    assert thickness.tolist()[1:] == [2.5, 1.0]
    assert problems[0].value == "thick" and "not a number" in problems[0].reason
    numbers, problems = _parse("SeriesNumber", ["3", "3.5"])
    assert numbers.tolist()[0] == 3 and pd.isna(numbers.iloc[1]) and len(problems) == 1
    positions, problems = _parse("ImagePositionPatient", ["1\\2\\3", "1\\x\\3", None])
    assert positions.iloc[0] == [1.0, 2.0, 3.0]
    assert pd.isna(positions.iloc[1]) and problems[0].value == "1\\x\\3"
    kinds, problems = _parse("ImageType", ["ORIGINAL\\PRIMARY", "DERIVED"])
    assert kinds.tolist() == [["ORIGINAL", "PRIMARY"], ["DERIVED"]] and not problems


def test_problems_frame_has_the_binding_columns() -> None:
    frame = problems_frame([Problem("patient", "x", "PatientBirthDate", "19991399", "bad")])
    assert list(frame.columns) == ["level", "id", "column", "value", "reason"]
    assert frame["value"].tolist() == ["19991399"]


def test_numbers_that_are_not_dicom_numbers_are_reported() -> None:
    values, problems = _parse("SliceThickness", ["1e-3", "+2", ".5", "inf", "nan", "1e400"])
    assert values.tolist()[:3] == [0.001, 2.0, 0.5]
    assert values.isna().tolist() == [False, False, False, True, True, True]
    assert [p.value for p in problems] == ["inf", "nan", "1e400"]


def test_times_with_colons_fractions_and_leap_seconds() -> None:
    times, problems = _parse("StudyTime", ["10:20:30.25", "235960", "12", "1234567", None])
    assert times.tolist()[:3] == [dt.time(10, 20, 30, 250000), dt.time(23, 59, 59), dt.time(12)]
    assert times.isna().tolist() == [False, False, False, True, True]
    assert [p.value for p in problems] == ["1234567"]
