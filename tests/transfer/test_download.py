"""Downloads against a real Orthanc: layout, contents, skipping, safety, cost."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from helpers import PASSWORD, USERNAME
from transports import CountingTransport

import orthanc_frames as of
from orthanc_frames.local_server import LocalOrthanc
from orthanc_frames.orthanc_ids import orthanc_id
from orthanc_frames.resources.lookup import bulk_content
from orthanc_frames.synthetic import CohortSummary
from orthanc_frames.transfer import download, retrieve_and_write_series, upload
from orthanc_frames.transfer._layout import (
    LAYOUT_TAGS,
    LayoutRow,
    _rows_level_by_level,
    _rows_with_requested_tags,
    layout_rows,
)


class _BodyCutOff(httpx.SyncByteStream):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            yield chunk[: max(1, len(chunk) // 2)]
            raise httpx.ReadError("connection reset by peer in the middle of the body")

    def close(self) -> None:
        self.inner.close()


class ResetMidBody(httpx.BaseTransport):
    """Real answers, except that DICOM file bodies break halfway (a reset)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/file"):
            return response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_BodyCutOff(response.stream),
            request=request,
        )

    def close(self) -> None:
        self.inner.close()


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_dicom_download_writes_every_instance_in_the_layout(
    client: of.Orthanc, cohort_dir: CohortSummary, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    report = download(client, "patient", client.get_patients(), out)

    files = _files(out)
    assert len(report.ok) == len(files) == cohort_dir.instances
    assert not report.failed
    sop_uids = {pydicom.dcmread(path).SOPInstanceUID for path in files}
    assert len(sop_uids) == cohort_dir.instances
    for path in files:
        patient, study, series, name = path.relative_to(out).parts
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        assert patient.startswith(f"{dataset.PatientID} - ")
        assert study.startswith(f"{dataset.StudyDate} - ")
        assert series.startswith(f"{dataset.SeriesNumber} - {dataset.Modality} - ")
        assert name == f"{int(dataset.InstanceNumber):04d}.dcm"
    names = {path.relative_to(out).parts[0] for path in files}
    assert "OF0-P000 - Müller Jürgen" in names
    assert {record["status"] for record in report.by_source()} == {"ok"}


@pytest.mark.parametrize("level", ["patient", "study", "series", "instance"])
def test_dicom_download_of_each_level_writes_exactly_its_instances(
    client: of.Orthanc, tmp_path: Path, level: str
) -> None:
    route = {"patient": "patients", "study": "studies", "series": "series"}.get(level, "instances")
    chosen = client.GET(f"/{route}")[1:3]
    expected = set()
    for resource_id in chosen:
        if level == "instance":
            expected.add(client.GET(f"/instances/{resource_id}")["MainDicomTags"]["SOPInstanceUID"])
        else:
            expected |= {
                answer["MainDicomTags"]["SOPInstanceUID"]
                for answer in client.GET(f"/{route}/{resource_id}/instances")
            }

    report = download(client, level, chosen, tmp_path)

    files = _files(tmp_path)
    assert {pydicom.dcmread(path).SOPInstanceUID for path in files} == expected
    assert len(files) == len(expected) == len(report.ok)
    assert {item.source for item in report.items} == set(chosen)
    assert all(len(path.relative_to(tmp_path).parts) == 4 for path in files)


@pytest.mark.needs("requested_tags")
def test_dicom_download_costs_requests_per_page_not_per_resource(
    cohort_server: LocalOrthanc, cohort_dir: CohortSummary, tmp_path: Path
) -> None:
    transport = CountingTransport()
    with of.Orthanc(
        cohort_server.url, username=USERNAME, password=PASSWORD, transport=transport
    ) as counted:
        patients = counted.get_patients()
        transport.clear()
        report = download(counted, "patient", patients, tmp_path / "out")
    assert len(report.ok) == cohort_dir.instances
    assert transport.count("GET", "/file") == cohort_dir.instances
    assert transport.count("POST", "/tools/bulk-content") == 1
    # The shared pager: a count, then one page of rows (80 < its page size).
    assert transport.count("POST", "/tools/count-resources") <= 1
    assert transport.count("POST", "/tools/find") <= 2
    assert transport.count("GET", "/system") + transport.count("GET", "/plugins") <= 2
    assert len(transport.requests) <= cohort_dir.instances + 5


@pytest.mark.needs("paged_find")
def test_rows_are_complete_when_the_server_truncates_finds(
    limited_server: LocalOrthanc, cohort_dir: CohortSummary
) -> None:
    with of.Orthanc(limited_server.url, username=USERNAME, password=PASSWORD) as limited:
        patients = [orthanc_id(patient_id) for patient_id in cohort_dir.patient_ids]
        selected, missing = bulk_content(limited, "patient", patients)
        rows = layout_rows(limited, "patient", selected, "instance", page_size=50)
    assert not missing
    assert len({row.ids["instance"] for row in rows}) == cohort_dir.instances
    assert all(row.file_size for row in rows)


def test_rerun_skips_complete_files_and_leaves_them_untouched(
    client: of.Orthanc, tmp_path: Path
) -> None:
    series_id = client.get_series()[0]
    first = download(client, "series", [series_id], tmp_path)
    before = {path: path.stat().st_mtime_ns for path in first.files_written}
    assert before

    second = download(client, "series", [series_id], tmp_path)

    assert {item.status for item in second.items} == {"skipped"}
    assert second.files_written == []
    assert {path: path.stat().st_mtime_ns for path in before} == before
    assert second.by_source()[0]["status"] == "skipped"


def test_rerun_fetches_again_a_file_of_the_wrong_size(client: of.Orthanc, tmp_path: Path) -> None:
    series_id = client.get_series()[0]
    first = download(client, "series", [series_id], tmp_path)
    damaged = first.files_written[0]
    complete = damaged.read_bytes()
    damaged.write_bytes(complete[:100])

    second = download(client, "series", [series_id], tmp_path)

    assert [item.path for item in second.ok] == [damaged]
    assert damaged.read_bytes() == complete


def test_interrupted_download_leaves_no_file_under_the_final_name(
    cohort_server: LocalOrthanc, client: of.Orthanc, tmp_path: Path
) -> None:
    series_id = client.get_series()[0]
    with of.Orthanc(
        cohort_server.url,
        username=USERNAME,
        password=PASSWORD,
        retries=0,
        transport=ResetMidBody(),
    ) as breaking:
        broken = download(breaking, "series", [series_id], tmp_path)

    assert broken.items and {item.status for item in broken.items} == {"failed"}
    assert all("connection broke" in (item.error or "") for item in broken.items)
    assert _files(tmp_path) == []  # neither final names nor temporary leftovers
    assert broken.by_source()[0]["status"] == "failed"

    retried = download(client, "series", [series_id], tmp_path)
    assert {item.status for item in retried.items} == {"ok"}
    assert len(_files(tmp_path)) == len(broken.items)


def test_unknown_ids_are_failed_items_not_exceptions(client: of.Orthanc, tmp_path: Path) -> None:
    study_id = client.get_studies()[0]
    report = download(client, "series", [study_id, "no-such-id"], tmp_path)
    assert [item.id for item in report.failed] == [study_id, "no-such-id"]
    assert (report.failed[1].error or "").startswith("NotFound: series no-such-id does not exist")
    with pytest.raises(of.OrthancError, match="2 of 2 files"):
        report.raise_for_failures()


def test_zip_download_writes_one_archive_per_resource(
    client: of.Orthanc, cohort_dir: CohortSummary, tmp_path: Path
) -> None:
    studies = client.get_studies()[:2]
    report = download(client, "study", studies, tmp_path, format="zip")

    assert len(report.ok) == 2
    for item in report.ok:
        assert item.path is not None and item.path.suffix == ".zip"
        assert item.path.parent == tmp_path.resolve()
        expected = set(client.GET(f"/studies/{item.id}/instances-tags?simplify") or {})
        with zipfile.ZipFile(item.path) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
            uids = {
                pydicom.dcmread(archive.open(name), stop_before_pixels=True).SOPInstanceUID
                for name in members
            }
        assert len(members) == len(expected) == 8
        assert len(uids) == 8
    again = download(client, "study", studies, tmp_path, format="zip")
    assert {item.status for item in again.items} == {"skipped"}


def test_zip_download_as_job_gives_the_same_archive_content(
    client: of.Orthanc, tmp_path: Path
) -> None:
    series_id = client.get_series()[0]
    direct = download(client, "series", [series_id], tmp_path / "direct", format="zip")
    as_job = download(
        client, "series", [series_id], tmp_path / "job", format="zip", archive_as_job=True
    )
    assert as_job.ok and direct.ok
    path_direct, path_job = direct.ok[0].path, as_job.ok[0].path
    assert path_direct is not None and path_job is not None
    with zipfile.ZipFile(path_direct) as one, zipfile.ZipFile(path_job) as other:
        assert sorted(one.namelist()) == sorted(other.namelist())


@pytest.mark.needs("plugins")
def test_nifti_download_is_readable_with_the_right_shape(
    client: of.Orthanc, cohort_dir: CohortSummary, tmp_path: Path
) -> None:
    nibabel = pytest.importorskip("nibabel")
    study_id = client.get_studies()[0]
    report = download(client, "study", [study_id], tmp_path, format="nifti")

    assert len(report.ok) == 2  # two series per study
    for item in report.ok:
        assert item.path is not None and item.path.name.endswith(".nii.gz")
        assert len(item.path.relative_to(tmp_path.resolve()).parts) == 3
        image = nibabel.load(item.path)
        assert image.shape[:3] == (32, 32, 4)


def test_retrieve_and_write_series_takes_resource_objects(
    client: of.Orthanc, tmp_path: Path
) -> None:
    chosen = [of.Series(series_id, client) for series_id in client.get_series()[:2]]
    report = retrieve_and_write_series(chosen, tmp_path, progress=True)
    assert len(report.ok) == 8
    assert {record["id"] for record in report.by_source()} == {s.id for s in chosen}
    with pytest.raises(ValueError, match="given a study"):
        retrieve_and_write_series([of.Study(client.get_studies()[0], client)], tmp_path)


@pytest.mark.needs("requested_tags")
def test_every_row_strategy_finds_the_same_layout(
    client: of.Orthanc, cohort_dir: CohortSummary
) -> None:
    # The strategy of servers without RequestedTags (before 1.11) runs on
    # this server too: its requests are valid here, so answers compare.
    patients = [orthanc_id(patient_id) for patient_id in cohort_dir.patient_ids]
    values = sorted(cohort_dir.patient_ids)
    rows = {
        "requested-tags": list(
            _rows_with_requested_tags(client, "PatientID", values, "instance", 7)
        ),
        "per-level": list(_rows_level_by_level(client, "PatientID", values, "instance", 7)),
    }

    def layout(found: list[LayoutRow]) -> dict[str, Any]:
        return {
            row.ids["instance"]: (
                row.ids,
                row.file_size,
                {tag: row.tags.get(tag) for tags in LAYOUT_TAGS.values() for tag in tags},
            )
            for row in found
        }

    expected = layout(rows["requested-tags"])
    assert len(expected) == cohort_dir.instances
    assert {row.ids["patient"] for row in rows["requested-tags"]} == set(patients)
    assert layout(rows["per-level"]) == expected


def test_hostile_dicom_values_cannot_write_outside_the_download_folder(
    empty_server: LocalOrthanc, tmp_path: Path
) -> None:
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    hostile = [
        ("../../x", "..\\..\\evil", "../../../etc", "/abs/path", "1"),
        ("..", "../", "..\\..", "..", "2"),
        ("CON", "a/b/c", "\x01\x02", "..\\x", ".."),
    ]
    datasets = []
    for patient_id, patient_name, study_description, series_description, number in hostile:
        ds = Dataset()
        ds.PatientID = patient_id
        ds.PatientName = patient_name
        ds.StudyDescription = study_description
        ds.SeriesDescription = series_description
        ds.InstanceNumber = number if number.isdigit() else None
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.Modality = "OT"
        datasets.append(ds)

    with of.Orthanc(empty_server.url, username=USERNAME, password=PASSWORD) as c:
        stored = upload(c, datasets)
        assert len(stored.stored) == 3, stored.rejected
        out = tmp_path / "out"
        report = download(c, "patient", c.get_patients(), out)

    assert not report.failed
    assert [path.name for path in tmp_path.iterdir()] == ["out"]
    files = _files(out)
    assert len(files) == 3
    for path in files:
        assert path.resolve().is_relative_to(out.resolve())
        assert len(path.relative_to(out).parts) == 4
        assert not any(part in ("..", ".") or part.startswith(".") for part in path.parts[1:])
    assert {pydicom.dcmread(path).PatientID for path in files} == {"../../x", "..", "CON"}


def test_a_symlink_inside_the_folder_cannot_lead_files_out(
    client: of.Orthanc, tmp_path: Path
) -> None:
    series_id = client.get_series()[0]
    first = download(client, "series", [series_id], tmp_path / "first")
    patient_folder = first.files_written[0].relative_to(tmp_path.resolve() / "first").parts[0]
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / patient_folder).symlink_to(outside, target_is_directory=True)

    report = download(client, "series", [series_id], out)

    assert report.items and {item.status for item in report.items} == {"failed"}
    assert all("not inside the download folder" in (item.error or "") for item in report.items)
    assert list(outside.iterdir()) == []
