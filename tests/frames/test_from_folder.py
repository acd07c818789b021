"""``Frames.from_folder``: local frames keyed and typed like server frames; upload what is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import PASSWORD, USERNAME, load_into

import orthanc_frames as of
from orthanc_frames.frames.container import Frames
from orthanc_frames.frames.from_folder import FILE_LEVEL
from orthanc_frames.synthetic import INVALID_BIRTH_DATE, write_cohort

LEVELS = ("patient", "study", "series", "instance")
# Fields only a server knows; everything else must be equal.
SERVER_ONLY = {"labels", "last_update", "is_stable"}


@pytest.fixture(scope="module")
def local_cohort(cohort_dir: Any) -> Frames:
    return Frames.from_folder(cohort_dir.outdir)


@pytest.fixture(scope="module")
def server_cohort(cohort_server: Any) -> Iterator[Frames]:
    with of.Orthanc(cohort_server.url, username=USERNAME, password=PASSWORD) as client:
        yield Frames.load(client)


@pytest.mark.parametrize("level", LEVELS)
def test_local_frames_equal_server_frames(
    local_cohort: Frames, server_cohort: Frames, level: str
) -> None:
    local = local_cohort.frame(level).sort_index()
    server = server_cohort.frame(level).sort_index()

    assert local.index.name == level
    assert list(local.index) == list(server.index)
    expected_columns = [*server.columns, "path"] if level == "instance" else list(server.columns)
    assert list(local.columns) == expected_columns
    for column in server.columns:
        assert local[column].dtype == server[column].dtype, column
        if column not in SERVER_ONLY:
            pd.testing.assert_series_equal(local[column], server[column], check_names=True)


def test_instances_carry_their_file(local_cohort: Frames, cohort_dir: Any) -> None:
    paths = local_cohort.instances["path"]
    assert sorted(paths) == sorted(str(path) for path in cohort_dir.files)
    assert local_cohort.client is None


def test_unparseable_values_are_reported_like_the_server_does(
    local_cohort: Frames, server_cohort: Frames
) -> None:
    local = local_cohort.problems.sort_values(["level", "id", "column"]).reset_index(drop=True)
    server = server_cohort.problems.sort_values(["level", "id", "column"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(local, server)
    assert INVALID_BIRTH_DATE in set(local["value"])


def test_unreadable_and_duplicate_files_are_reported_not_fatal(tmp_path: Path) -> None:
    summary = write_cohort(tmp_path / "in", patients=1, studies=1, series=1, instances=2, size=8)
    (tmp_path / "in" / "notes.txt").write_text("not DICOM at all")
    (tmp_path / "in" / "empty.dcm").write_bytes(b"")
    duplicate = tmp_path / "in" / "zz-copy.dcm"
    shutil.copy(summary.files[0], duplicate)

    local = Frames.from_folder(tmp_path / "in")

    assert len(local.instances) == 2
    file_problems = local.problems[local.problems["level"] == FILE_LEVEL]
    by_file = dict(zip(file_problems["id"], file_problems["reason"], strict=True))
    assert set(by_file) == {
        str(tmp_path / "in" / "notes.txt"),
        str(tmp_path / "in" / "empty.dcm"),
        str(duplicate),
    }
    assert by_file[str(tmp_path / "in" / "notes.txt")].startswith("not DICOM")
    assert "duplicate" in by_file[str(duplicate)]
    assert str(summary.files[0]) in by_file[str(duplicate)]


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder"):
        Frames.from_folder(tmp_path / "nowhere")


def test_difference_then_upload_completes_the_server(empty_server: Any, tmp_path: Path) -> None:
    summary = write_cohort(tmp_path / "all", patients=2, studies=1, series=2, instances=2, size=8)
    already = tmp_path / "already"
    first_patient = summary.outdir / "p0"
    shutil.copytree(first_patient, already / "p0")
    load_into(empty_server, already)

    with of.Orthanc(empty_server.url, username=USERNAME, password=PASSWORD) as client:
        local = Frames.from_folder(summary.outdir)
        server = Frames.load(client)
        missing = local.series.index.difference(server.series.index)
        assert len(missing) == 2
        selection = local.series.loc[missing]

        result = selection.orthanc.upload(client)

        assert result.index.name == "series"
        assert list(result.index) == list(selection.index)
        assert list(result.columns) == ["status", "error"]
        assert (result["status"] == "ok").all(), result["error"].tolist()
        after = Frames.load(client)
        assert set(after.series.index) == set(local.series.index)
        assert set(after.instances.index) == set(local.instances.index)

        again = local.series.orthanc.upload(client)

        assert (again["status"] == "skipped").all()
        assert again["error"].str.contains("already stored").all()


def test_upload_reports_a_rejected_file_on_its_row(empty_server: Any, tmp_path: Path) -> None:
    summary = write_cohort(tmp_path / "in", patients=1, studies=1, series=2, instances=1, size=8)
    local = Frames.from_folder(summary.outdir)
    broken = local.instances.iloc[0]
    Path(broken["path"]).write_bytes(Path(broken["path"]).read_bytes()[:300])

    with of.Orthanc(empty_server.url, username=USERNAME, password=PASSWORD) as client:
        result = local.series.orthanc.upload(client)

    assert result.loc[broken["series"], "status"] == "failed"
    assert broken["path"] in result.loc[broken["series"], "error"]
    assert (result.drop(index=broken["series"])["status"] == "ok").all()


def test_local_frames_refuse_server_actions(local_cohort: Frames) -> None:
    with pytest.raises(ValueError, match="read from local files"):
        local_cohort.series.head(1).orthanc.delete(confirm=True)
