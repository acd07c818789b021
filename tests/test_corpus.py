"""Every DICOM file that pydicom ships, on a real server: the frames equal the server.

The corpus is ``pydicom.data.get_testdata_files()`` and
``get_charset_files()``: files from scanners and toolkits and pydicom's own
edge cases (no preamble, no file meta header, values written with VR
``UN``, big endian, deflated, truncated files, DICOMDIRs, files that are not
DICOM at all, names in a dozen character sets). Nobody here wrote them. Each file is
offered to the server once; what the server refuses is counted and listed
with the server's reason, never skipped silently.

The server comes from the ``corpus_server`` fixture (one per module), so
the same checks can run on other kinds of servers by overriding it.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import PASSWORD, USERNAME

import orthanc_frames as of
from orthanc_frames.dicom_tags import DEFAULT_MAIN_TAGS
from orthanc_frames.frames.from_folder import FILE_LEVEL
from orthanc_frames.frames.schema import parse_tag_columns

LEVELS = ("patient", "study", "series", "instance")
ROUTES = {"patient": "patients", "study": "studies", "series": "series", "instance": "instances"}
COUNTS = {
    "patient": "CountPatients",
    "study": "CountStudies",
    "series": "CountSeries",
    "instance": "CountInstances",
}


@dataclass
class Corpus:
    """The files offered, what the server did with them, and its own view of itself."""

    client: of.Orthanc
    folder: Path
    files: list[Path]
    report: Any
    listings: dict[str, dict[str, dict[str, Any]]]
    frames: of.Frames


@pytest.fixture(scope="module")
def corpus_server(make_server: Any) -> Any:
    return make_server("CORPUS")


@pytest.fixture(scope="module")
def corpus(corpus_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    from pydicom.data import get_charset_files, get_testdata_files

    # The test files, and the character set files (names in Greek, Japanese...).
    found = [*get_testdata_files(), *get_charset_files()]
    sources = sorted(Path(p) for p in found if Path(p).is_file())
    folder = tmp_path_factory.mktemp("corpus")
    files = []
    for number, source in enumerate(sources):
        # Several files share a name (DICOMDIR, README): number them.
        copy = folder / f"{number:03d}-{source.name}"
        shutil.copyfile(source, copy)
        files.append(copy)
    with of.Orthanc(corpus_server.url, username=USERNAME, password=PASSWORD) as client:
        report = of.upload(client, files, workers=2, progress=False)
        listings = {
            level: {
                row["ID"]: row for row in client.GET(f"/{ROUTES[level]}", params={"expand": ""})
            }
            for level in LEVELS
        }
        frames = client.frames(progress=False)
        yield Corpus(client, folder, files, report, listings, frames)


def test_every_file_is_stored_or_rejected_with_the_servers_reason(corpus: Corpus) -> None:
    sources = Counter(item.source for item in corpus.report.stored)
    rejected = {item.source: item.reason for item in corpus.report.rejected}
    assert all(count == 1 for count in sources.values())
    assert set(sources) | set(rejected) == {str(path) for path in corpus.files}
    assert not set(sources) & set(rejected)
    assert all(reason for reason in rejected.values())
    assert len(corpus.files) > 150
    assert len(corpus.report.stored) > 100


def test_counts_per_level_equal_the_servers_statistics(corpus: Corpus) -> None:
    statistics = corpus.client.GET("/statistics")
    for level in LEVELS:
        assert len(corpus.frames.frame(level)) == statistics[COUNTS[level]], level
        assert set(corpus.frames.frame(level).index) == set(corpus.listings[level]), level


@pytest.mark.parametrize("alone", [False, True], ids=["all-levels", "instances-alone"])
def test_every_link_equals_the_servers_parent_chain(corpus: Corpus, alone: bool) -> None:
    series, studies = corpus.listings["series"], corpus.listings["study"]
    # Alone, the links above the parent are computed from the UIDs the server
    # returned; with the levels above, they follow the server's parents.
    frames = corpus.client.frames(levels=("instance",), progress=False) if alone else None
    instances = frames.instances if frames else corpus.frames.instances
    for instance_id, row in corpus.listings["instance"].items():
        series_id = row["ParentSeries"]
        study_id = series[series_id]["ParentStudy"]
        patient_id = studies[study_id]["ParentPatient"]
        got = instances.loc[instance_id, ["series", "study", "patient"]].tolist()
        assert got == [series_id, study_id, patient_id], instance_id
    if alone:
        return
    for series_id, row in series.items():
        got = corpus.frames.series.loc[series_id, ["study", "patient"]].tolist()
        assert got == [row["ParentStudy"], studies[row["ParentStudy"]]["ParentPatient"]]
    for study_id, row in studies.items():
        assert corpus.frames.studies.loc[study_id, "patient"] == row["ParentPatient"]


@pytest.mark.parametrize("level", LEVELS)
def test_every_main_tag_cell_equals_the_server_or_is_a_problem(corpus: Corpus, level: str) -> None:
    frame = corpus.frames.frame(level)
    listing = corpus.listings[level]
    index = pd.Index(list(listing), name=level)
    columns = [name for name in DEFAULT_MAIN_TAGS[level] if name in frame.columns]
    raw = {name: [listing[i]["MainDicomTags"].get(name) for i in index] for name in columns}
    expected = parse_tag_columns(raw, index, level=level)
    problems = corpus.frames.problems
    reported = set(zip(problems["level"], problems["id"], problems["column"], strict=True))
    for name in columns:
        got = frame[name].reindex(index)
        for row_id, value, server_value in zip(
            index, got.tolist(), expected[name].tolist(), strict=True
        ):
            if _missing(value) and not _missing(server_value):
                pytest.fail(f"{level} {row_id} {name}: missing, the server has {server_value!r}")
            if _missing(value):
                text = listing[row_id]["MainDicomTags"].get(name)
                assert not str(text or "").strip() or (level, row_id, name) in reported, (
                    f"{level} {row_id} {name}: {text!r} is missing without a problem row"
                )
            else:
                assert value == server_value, (level, row_id, name)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def test_retrieve_and_write_patients_writes_every_instance_once(
    corpus: Corpus, tmp_path: Path
) -> None:
    patients = of.find_patients(corpus.client)
    report = of.retrieve_and_write_patients(patients, tmp_path, workers=2, progress=False)

    assert report.failed == []
    written = [item.path for item in report.ok]
    assert len(written) == len(set(written)) == len(corpus.listings["instance"])
    assert sorted(item.id for item in report.ok) == sorted(corpus.listings["instance"])
    assert sum(1 for path in tmp_path.rglob("*") if path.is_file()) == len(written)


def test_from_folder_names_every_stored_file_and_reports_the_rest(corpus: Corpus) -> None:
    local = of.Frames.from_folder(corpus.folder, workers=2, progress=False)
    named = dict(zip(local.instances["path"], local.instances.index, strict=True))
    reported = local.problems[local.problems["level"] == FILE_LEVEL]
    reasons = dict(zip(reported["id"], reported["reason"], strict=True))
    stored = {item.source: item.id for item in corpus.report.stored}

    assert len(named) + len(reasons) == len(corpus.files)
    for path in map(str, corpus.files):
        if path in named:
            assert stored.get(path) == named[path], path
        elif path in stored:
            # A second copy of an instance read from another file: same ID.
            assert f"instance {stored[path]} " in reasons[path], reasons[path]
        else:
            assert reasons[path], path
            assert not reasons[path].startswith("duplicate"), (path, reasons[path])
    for level in LEVELS:
        assert set(local.frame(level).index) == set(corpus.listings[level]), level
    assert local.instances[["series", "study", "patient"]].equals(
        corpus.frames.instances.loc[local.instances.index, ["series", "study", "patient"]]
    )


def test_parquet_round_trip_gives_the_same_frames(corpus: Corpus, tmp_path: Path) -> None:
    corpus.frames.to_parquet(tmp_path / "frames")
    back = of.Frames.read_parquet(tmp_path / "frames")
    for level in LEVELS:
        pd.testing.assert_frame_equal(back.frame(level), corpus.frames.frame(level))
    pd.testing.assert_frame_equal(
        back.problems.reset_index(drop=True), corpus.frames.problems.reset_index(drop=True)
    )


def test_anonymize_every_series_gives_one_row_per_series(corpus: Corpus) -> None:
    # Last: it stores new resources on the server the other tests read.
    series = corpus.frames.series
    result = series.orthanc.anonymize(workers=2, progress=False)

    assert list(result.index) == list(series.index)
    assert set(result["status"]) <= {"ok", "failed"}
    failed = result[result["status"] == "failed"]
    assert failed["error"].notna().all()
    assert failed.empty, failed["error"].to_dict()
    assert result["new_id"].notna().all()
    assert result["new_id"].nunique() == len(series)
