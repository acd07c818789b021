"""One Level: its facts, its one parser, and every entry point reading levels through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import orthanc_frames as of
from orthanc_frames.levels import LEVEL_NAMES, Level, level_name
from orthanc_frames.resources.modality import Modality
from orthanc_frames.transfer import download

SPELLINGS = ("study", "studies", "Study", "STUDIES", " Studies ", Level.STUDY)


def test_the_four_levels_top_down() -> None:
    assert LEVEL_NAMES == ("patient", "study", "series", "instance")
    assert [level.route for level in Level] == ["patients", "studies", "series", "instances"]
    assert [level.orthanc for level in Level] == ["Patient", "Study", "Series", "Instance"]
    assert [level.identifier_tag for level in Level] == [
        "PatientID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
    ]
    assert [level.parent for level in Level] == [None, Level.PATIENT, Level.STUDY, Level.SERIES]
    assert [level.child for level in Level] == [Level.STUDY, Level.SERIES, Level.INSTANCE, None]
    assert Level.INSTANCE.ancestors == (Level.SERIES, Level.STUDY, Level.PATIENT)
    assert Level.STUDY.descendants == (Level.SERIES, Level.INSTANCE)
    assert Level.SERIES.parent_key == "ParentStudy" and Level.PATIENT.parent_key is None
    assert Level.PATIENT.children_key == "Studies" and Level.INSTANCE.children_key is None


def test_a_member_is_its_name() -> None:
    assert Level.STUDY == "study" and {"study": 1}[Level.STUDY] == 1
    assert f"{Level.SERIES}" == str(Level.SERIES) == "series"


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_parse_reads_every_spelling(spelling: Any) -> None:
    assert Level.parse(spelling) is Level.STUDY
    assert level_name(spelling) == "study"


def test_parse_refuses_with_the_argument_the_value_and_the_spellings() -> None:
    with pytest.raises(ValueError, match=r"levels: unknown level 'studdy'; use one of 'patient', "):
        Level.parse("studdy", "levels")
    with pytest.raises(TypeError, match=r"level must be a level name \(str\), not int: 2"):
        Level.parse(2)


# -- every entry point reads levels the same way ---------------------------------


@pytest.fixture
def frames(client: of.Orthanc) -> of.Frames:
    return client.frames(levels=["Patients", "studies"], progress=False)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_frames_accept_every_spelling(client: of.Orthanc, frames: of.Frames, spelling: Any) -> None:
    assert frames.loaded_levels == ("patient", "study")
    assert frames.frame(spelling) is frames.studies
    assert frames.flat(spelling).index.name == "study"
    assert frames.attach(frames.studies.copy(), spelling).orthanc.resources()
    tagged = client.frames(levels=[spelling], tags={spelling: ["StudyID"]}, progress=False)
    assert tagged.loaded_levels == ("study",) and "StudyID" in tagged.studies.columns


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_find_accepts_every_spelling(client: of.Orthanc, spelling: Any) -> None:
    assert of.query_orthanc(client, spelling) == of.find_studies(client)


def test_download_accepts_every_spelling(client: of.Orthanc, tmp_path: Path) -> None:
    study = of.find_studies(client)[0]
    reports = [
        download(client, spelling, [study.id], tmp_path / str(n), progress=False)
        for n, spelling in enumerate(SPELLINGS)
    ]
    assert {report.level for report in reports} == {"study"}
    assert len({len(report.items) for report in reports}) == 1 and reports[0].items


def test_modality_find_accepts_every_spelling(
    server_pair: tuple[Any, Any],
) -> None:
    a, _ = server_pair
    with of.Orthanc(a.url, username="orthanc", password="orthanc") as client:
        remote = Modality(client, "B")
        for spelling in SPELLINGS:
            found = remote.find(spelling, {"PatientID": "nobody-here"})
            assert len(found) == 0 and found.level == "Study"
            body = {"Level": spelling, "Query": {"PatientID": "nobody-here"}}
            assert len(remote.find(body)["answers"]) == 0


ENTRY_POINTS = {
    "frames(levels=)": lambda c, f, p: c.frames(levels=["studdy"], progress=False),
    "frames(tags=)": lambda c, f, p: c.frames(tags={"studdy": ["StudyID"]}, progress=False),
    "frames(labels_level=)": lambda c, f, p: c.frames(labels_level="studdy", progress=False),
    "f.frame()": lambda c, f, p: f.frame("studdy"),
    "f.flat()": lambda c, f, p: f.flat("studdy"),
    "query_orthanc()": lambda c, f, p: of.query_orthanc(c, "studdy"),
    "download()": lambda c, f, p: download(c, "studdy", [], p),
    "Modality.find()": lambda c, f, p: Modality(c, "B").find("studdy", {}),
    "Modality.find(data)": lambda c, f, p: Modality(c, "B").find({"Level": "studdy"}),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_refuses_a_misspelt_level_the_same_way(
    client: of.Orthanc, frames: of.Frames, tmp_path: Path, entry: str
) -> None:
    with pytest.raises(
        ValueError, match=r"unknown level 'studdy'; use one of 'patient', 'patients'"
    ):
        ENTRY_POINTS[entry](client, frames, tmp_path)
