"""Uploads against a real Orthanc: folders, ZIPs, datasets, rejections."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from helpers import PASSWORD, USERNAME

import orthanc_frames as of
from orthanc_frames.local_server import LocalOrthanc
from orthanc_frames.synthetic import CohortSummary
from orthanc_frames.transfer import upload


@pytest.fixture
def fresh(empty_server: LocalOrthanc) -> Iterator[of.Orthanc]:
    with of.Orthanc(empty_server.url, username=USERNAME, password=PASSWORD) as c:
        yield c


def test_folder_upload_stores_every_file_and_reports_rejections(
    fresh: of.Orthanc, small_cohort: CohortSummary, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    nested = folder / "deeper" / "still"
    nested.mkdir(parents=True)
    files = sorted(small_cohort.outdir.rglob("*.dcm"))
    for index, path in enumerate(files):
        (nested if index % 2 else folder).joinpath(path.name + f".{index}").write_bytes(
            path.read_bytes()
        )
    (folder / "notes.txt").write_text("not a DICOM file")

    report = upload(fresh, folder)

    assert len(report.stored) == len(files) == len(small_cohort.files)
    assert {item.status for item in report.stored} == {"Success"}
    assert sorted(report.instance_ids) == sorted(fresh.get_instances())
    [rejected] = report.rejected
    assert rejected.source == str(folder / "notes.txt")
    assert rejected.status == 400
    assert "Cannot parse an invalid DICOM file" in rejected.reason
    assert not report
    with pytest.raises(of.OrthancError, match=r"notes\.txt"):
        report.raise_for_rejections()

    again = upload(fresh, folder)
    assert {item.status for item in again.stored} == {"AlreadyStored"}
    assert again.new == []


def test_non_recursive_upload_ignores_subfolders(
    fresh: of.Orthanc, small_cohort: CohortSummary, tmp_path: Path
) -> None:
    files = sorted(small_cohort.outdir.rglob("*.dcm"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.dcm").write_bytes(files[0].read_bytes())
    (tmp_path / "sub" / "below.dcm").write_bytes(files[1].read_bytes())
    report = upload(fresh, tmp_path, recursive=False)
    assert [item.source for item in report.stored] == [str(tmp_path / "top.dcm")]
    assert fresh.num_instances == 1


def test_zip_members_are_stored_and_reported_one_by_one(
    fresh: of.Orthanc, small_cohort: CohortSummary, tmp_path: Path
) -> None:
    files = sorted(small_cohort.outdir.rglob("*.dcm"))
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in files:
            zipped.write(path, f"dicom/{path.relative_to(small_cohort.outdir).as_posix()}")
        zipped.writestr("README.txt", "hello")

    report = upload(fresh, archive)

    assert len(report.stored) == len(files)
    assert all(item.source.startswith(f"{archive}!dicom/") for item in report.stored)
    assert [item.source for item in report.rejected] == [f"{archive}!README.txt"]
    assert fresh.num_instances == len(files)


def test_datasets_bytes_and_lists_are_uploaded(
    fresh: of.Orthanc, small_cohort: CohortSummary, pydicom_files: list[Path]
) -> None:
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    built = Dataset()  # no file meta: written with the default transfer syntax
    built.PatientID = "BUILT"
    built.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    built.SOPInstanceUID = generate_uid()
    built.StudyInstanceUID = generate_uid()
    built.SeriesInstanceUID = generate_uid()
    read = pydicom.dcmread(pydicom_files[0])
    raw = sorted(small_cohort.outdir.rglob("*.dcm"))[0].read_bytes()

    report = upload(fresh, [built, read, raw, pydicom_files[1]], workers=2)

    assert not report.rejected
    assert len(report.stored) == 4
    assert report.stored[0].source.startswith("<Dataset #0: ")
    assert report.stored[2].source.startswith("<bytes #2:")
    assert not hasattr(built, "file_meta") or "TransferSyntaxUID" not in built.file_meta
    patient_ids = {
        fresh.get_patients_id(item.patient)["MainDicomTags"]["PatientID"] for item in report.stored
    }
    assert "BUILT" in patient_ids


def test_a_dataset_the_server_refuses_is_reported_with_its_reason(fresh: of.Orthanc) -> None:
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    no_study = Dataset()  # a valid file, but Orthanc needs the study and series UIDs
    no_study.PatientID = "NO-STUDY"
    no_study.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    no_study.SOPInstanceUID = generate_uid()
    no_file_meta_possible = Dataset()  # cannot even be written as a file
    no_file_meta_possible.PatientID = "NO-UIDS"

    report = upload(fresh, [no_study, no_file_meta_possible])

    server_refusal, local_refusal = report.rejected
    assert server_refusal.status == 404  # Orthanc's answer to a missing required tag
    assert server_refusal.reason == "Inexistent tag (HTTP 404)"
    assert local_refusal.status is None
    assert "SOP" in local_refusal.reason
    assert fresh.num_instances == 0


def test_missing_source_raises_before_sending_anything(fresh: of.Orthanc, tmp_path: Path) -> None:
    good = tmp_path / "exists.txt"
    good.write_text("x")
    with pytest.raises(FileNotFoundError, match="Nothing was sent"):
        upload(fresh, [good, tmp_path / "missing.dcm"])
    with pytest.raises(TypeError, match="Cannot upload int"):
        upload(fresh, 42)


def test_a_long_list_of_rejections_shows_ten_and_counts_the_rest(
    fresh: of.Orthanc, tmp_path: Path
) -> None:
    for index in range(12):
        (tmp_path / f"note{index:02}.txt").write_text("not a DICOM file")

    report = upload(fresh, tmp_path)

    with pytest.raises(of.OrthancError) as raised:
        report.raise_for_rejections()
    message = str(raised.value)
    assert message.startswith("12 file(s) were not stored:\n")
    assert "note09.txt" in message
    assert "note10.txt" not in message
    assert message.endswith("... and 2 more")
