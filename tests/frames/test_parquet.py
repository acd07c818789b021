"""Frames.to_parquet / Frames.read_parquet: exact round trip, no secrets, refresh continues."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from helpers import load_into

import orthanc_frames as of
from orthanc_frames.synthetic import write_cohort


def test_round_trip_is_equal_with_dtypes(client: Any, tmp_path: Any) -> None:
    f = client.frames(tags={"series": ["SliceThickness"]}, query={"StudyDate": "20190101-20201231"})
    f.to_parquet(tmp_path / "snap")
    back = of.Frames.read_parquet(tmp_path / "snap", client=client)
    assert back.loaded_levels == f.loaded_levels
    for level in f.loaded_levels:
        pd.testing.assert_frame_equal(back.frame(level), f.frame(level))
        assert back.frame(level).index.name == level
    pd.testing.assert_frame_equal(back.problems, f.problems)
    assert back.spec == f.spec
    assert back.last_change_seq == f.last_change_seq
    # the link travels with the read frames too
    from orthanc_frames.frames import lookup

    assert lookup(back.series.head(2))[2] is back


def test_no_secret_in_the_files(cohort_server: Any, tmp_path: Any) -> None:
    url = cohort_server.url.replace("http://", "http://orthanc:s3cr3t-pw@")
    with of.Orthanc(url.replace("s3cr3t-pw", "orthanc")) as c:
        f = c.frames(levels=["patient"])
        f.server_url = url  # as if the URL had carried a secret
        f.to_parquet(tmp_path / "snap")
    meta = json.loads((tmp_path / "snap" / "frames.json").read_text())
    assert meta["server_url"] == cohort_server.url
    for path in (tmp_path / "snap").iterdir():
        assert b"s3cr3t-pw" not in path.read_bytes()
        assert b"Authorization" not in path.read_bytes()


def test_refresh_continues_from_a_snapshot(empty_server: Any, tmp_path: Any) -> None:
    first = write_cohort(tmp_path / "a", patients=2, studies=1, series=2, instances=5, seed=5)
    more = write_cohort(tmp_path / "b", patients=1, studies=1, series=1, instances=2, seed=6)
    load_into(empty_server, first.outdir)
    with of.Orthanc(empty_server.url, username="orthanc", password="orthanc") as c:
        c.frames().to_parquet(tmp_path / "snap")
        for path in more.files:
            c.post_instances(data=path.read_bytes())
        c.delete_series_id(sorted(c.get_series())[0])
        back = of.Frames.read_parquet(tmp_path / "snap", client=c).refresh()
        assert back.last_refresh["instances"] == "incremental"
        fresh = c.frames()
        for level in fresh.loaded_levels:
            pd.testing.assert_frame_equal(
                back.frame(level).sort_index(), fresh.frame(level).sort_index()
            )


def _as_python_lists(column: pd.Series) -> list[Any]:
    """List cells as Python lists (None when missing), whatever the reader gave."""
    return [None if value is None or value is pd.NA else list(value) for value in column]


def test_plain_pandas_reads_each_level_file(client: Any, tmp_path: Any) -> None:
    f = client.frames(tags={"series": ["SliceThickness", "ImageType"]})
    f.to_parquet(tmp_path / "snap")
    ours = of.Frames.read_parquet(tmp_path / "snap")
    for level in f.loaded_levels:
        plain = pd.read_parquet(tmp_path / "snap" / f"{level}.parquet")
        expected = ours.frame(level)
        assert list(plain.columns) == list(expected.columns)
        # pyarrow rebuilds an index without pandas' dtype record: pandas' default strings.
        assert plain.index.name == level
        assert plain.index.tolist() == expected.index.tolist()
        list_columns = [
            c for c in expected.columns if pa.types.is_list(expected[c].dtype.pyarrow_dtype)
        ]
        assert "labels" in list_columns
        for column in expected.columns:
            if column in list_columns:
                # A pandas dtype string cannot name an Arrow list: plain pandas gives objects.
                assert _as_python_lists(plain[column]) == _as_python_lists(expected[column])
            else:
                pd.testing.assert_series_equal(
                    plain[column], expected[column], check_index_type=False
                )
        arrow_table = pq.read_table(tmp_path / "snap" / f"{level}.parquet")
        pd.testing.assert_frame_equal(arrow_table.to_pandas(types_mapper=pd.ArrowDtype), expected)
    plain_problems = pd.read_parquet(tmp_path / "snap" / "problems.parquet")
    pd.testing.assert_frame_equal(plain_problems, f.problems)
    assert len(f.problems)  # the cohort has invalid values: the problems file is not empty
