"""Reading resources of the synthetic cohort: typed tags, parents, children, content.

Everything here reads the session's READ-ONLY ``cohort_server``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from transports import CountingTransport

import orthanc_frames as of
from orthanc_frames.orthanc_ids import orthanc_id


@pytest.fixture
def counted(cohort_server: Any) -> Iterator[tuple[of.Orthanc, CountingTransport]]:
    transport = CountingTransport()
    with of.Orthanc(
        cohort_server.url, username="orthanc", password="orthanc", transport=transport
    ) as client:
        client.capabilities  # noqa: B018  (read once, outside what the tests count)
        transport.requests.clear()
        yield client, transport


def _patient_of(client: of.Orthanc, patient_id: str) -> of.Patient:
    return of.Patient(orthanc_id(patient_id), client)


def test_patient_tags_are_typed_and_decoded(client: of.Orthanc, cohort_dir: Any) -> None:
    patients = of.find_patients(client)
    names = {p.patient_id: p.name for p in patients}
    assert names == cohort_dir.patient_names  # UTF-8, Latin-1 and ASCII names decoded
    regular = [p for p in patients if p.patient_id != cohort_dir.invalid_birth_date_patient_id]
    for patient in regular:
        assert isinstance(patient.birth_date, dt.date)
        assert patient.sex in {"M", "F", "O"}
        assert patient.other_patient_ids == []
        assert isinstance(patient.last_update, dt.datetime)
        assert isinstance(patient.is_stable, bool)


def test_an_invalid_date_raises_a_clear_error(client: of.Orthanc, cohort_dir: Any) -> None:
    patient = _patient_of(client, cohort_dir.invalid_birth_date_patient_id)
    with pytest.raises(ValueError, match="19991399") as info:
        patient.birth_date  # noqa: B018
    assert patient.id in str(info.value)
    assert "main_dicom_tags" in str(info.value)
    assert patient.main_dicom_tags["PatientBirthDate"] == "19991399"
    assert patient.typed_main_dicom_tags["PatientBirthDate"] == "19991399"


def test_study_series_instance_tags(client: of.Orthanc, cohort_dir: Any) -> None:
    patient = _patient_of(client, cohort_dir.patient_ids[0])
    studies = patient.studies
    assert len(studies) == cohort_dir.studies // cohort_dir.patients
    for study in studies:
        assert study.uid in cohort_dir.study_uids
        assert isinstance(study.date, dt.date)
        assert isinstance(study.time, dt.time)
        assert study.accession_number and study.accession_number.startswith("A")
        assert study.study_id in {"S1", "S2"}
        assert study.referring_physician_name is None  # empty in the files
        assert study.patient_information["PatientID"] == cohort_dir.patient_ids[0]
        assert study.parent_patient == patient
        assert study.patient_identifier == patient.id
        for series in study.series:
            assert series.modality == cohort_dir.modalities[series.uid]
            assert isinstance(series.series_number, int)
            assert isinstance(series.date, dt.date)
            assert series.image_orientation_patient == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            assert series.manufacturer in {"ACME Medical", "Imaging Corp"}
            assert series.body_part_examined in {"HEAD", "CHEST", "ABDOMEN", "PELVIS"}
            assert series.parent_study is study
            assert series.parent_patient == patient
            instances = series.instances
            assert len(instances) == cohort_dir.instances // cohort_dir.series
            positions = sorted(i.image_position_patient[2] for i in instances)  # type: ignore[index]
            assert len(set(positions)) == len(instances)
            for instance in instances:
                assert isinstance(instance.instance_number, int)
                assert len(instance.image_position_patient or []) == 3
                assert instance.file_size > 1000
                assert instance.parent_series is series
                assert instance.parent_patient == patient
                assert instance.uid


def test_resource_from_id_reads_its_description_once(
    counted: tuple[of.Orthanc, CountingTransport], cohort_dir: Any
) -> None:
    client, transport = counted
    patient = _patient_of(client, cohort_dir.patient_ids[1])
    assert repr(patient) == f"Patient({patient.id!r})"  # a repr never fetches
    assert transport.requests == []
    assert patient.name == cohort_dir.patient_names[cohort_dir.patient_ids[1]]
    assert patient.sex and patient.birth_date and patient.patient_id
    assert transport.requests == [("GET", f"/patients/{patient.id}")]
    assert "PatientName=" in repr(patient)
    patient.refresh()
    assert len(transport.requests) == 2


def test_children_come_in_one_request_with_their_tags(
    counted: tuple[of.Orthanc, CountingTransport], cohort_dir: Any
) -> None:
    client, transport = counted
    patient = of.Patient(orthanc_id(cohort_dir.patient_ids[2]), client, lock_children=True)
    descriptions = [study.description for study in patient.studies]
    assert all(descriptions)
    assert transport.requests == [("GET", f"/patients/{patient.id}/studies")]
    assert patient.studies == patient.studies  # locked: cached, no new request
    assert len(transport.requests) == 1
    modalities = [s.modality for study in patient.studies for s in study.series]
    assert sorted(set(modalities)) == ["CT", "MR"]
    assert len(transport.requests) == 1 + len(descriptions)  # one per study, none per series


def test_unlocked_children_are_read_again(counted: tuple[of.Orthanc, CountingTransport]) -> None:
    client, transport = counted
    series = of.find_series(client)[0]
    transport.requests.clear()
    first, second = series.instances, series.instances
    assert first == second
    assert len(transport.requests) == 2


def test_equality_and_hash(client: of.Orthanc, cohort_dir: Any) -> None:
    found = of.find_series(client)
    again = [of.Series(s.id, client) for s in found]
    assert found == again
    assert len(set(found) | set(again)) == len(found)
    series = found[0]
    assert series.identifier == series.id == series.id_
    assert of.Study(series.id, client) != series  # same ID, other level
    assert series != series.id
    with pytest.raises(ValueError, match="Orthanc ID"):
        of.Series("", client)


def test_repr_html_shows_known_tags_without_fetching(client: of.Orthanc) -> None:
    series = of.find_series(client, {"Modality": "MR"})[0]
    html = series._repr_html_()
    assert "Series" in html and series.id in html and "MR" in html
    assert of.Series(series.id, client)._repr_html_().count("<tr>") == 0


def test_instance_content(client: of.Orthanc, cohort_dir: Any) -> None:
    patient_id = cohort_dir.patient_ids[0]
    instance = of.find_instances(client, {"PatientID": patient_id})[0]
    name = cohort_dir.patient_names[patient_id]
    assert instance.simplified_tags["PatientName"] == name
    assert instance.tags["0010,0010"]["Value"] == name
    assert instance.get_content_by_tag("PatientName") == name
    assert instance.get_content_by_tag("0010,0020") == patient_id
    assert instance.get_content_by_tag("0010-0020") == patient_id
    data = instance.get_dicom_file_content()
    assert data[128:132] == b"DICM"
    dataset = instance.get_pydicom()
    assert dataset.SOPInstanceUID == instance.uid
    assert str(dataset.PatientName) == name
    assert instance.index_in_series in range(1, 5)
    assert instance.series_identifier == instance.parent_series.id


def test_statistics_modules_and_shared_tags(client: of.Orthanc) -> None:
    series = of.find_series(client)[0]
    assert series.statistics["CountInstances"] == 4
    study = series.parent_study
    assert study.get_module(simplify=True)["StudyInstanceUID"] == study.uid
    assert study.get_patient_module(simplify=True)["PatientID"] == study.parent_patient.patient_id
    assert series.get_shared_tags(simplify=True)["Modality"] == series.modality
    assert series.get_shared_tags(short=True)["0008,0060"] == series.modality
    assert series.get_shared_tags(simplify=False)["0008,0060"]["Value"] == series.modality
    assert series.get_shared_tags() == series.shared_tags  # simplified, as in R
    assert series.shared_tags["SeriesInstanceUID"] == series.uid
    with pytest.raises(ValueError, match="simplify and short"):
        series.get_module(simplify=True, short=True)
    assert series.parent_patient.get_patient_module(simplify=True)["PatientID"]


def test_get_zip_holds_every_file(client: of.Orthanc, cohort_dir: Any) -> None:
    series = of.find_series(client)[0]
    with zipfile.ZipFile(io.BytesIO(series.get_zip())) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    assert len(names) == len(series.instances)
    patient = series.parent_patient
    with zipfile.ZipFile(io.BytesIO(patient.get_zip())) as archive:
        files = [n for n in archive.namelist() if not n.endswith("/")]
    assert len(files) == cohort_dir.instances // cohort_dir.patients
    instance = series.instances[0]
    with zipfile.ZipFile(io.BytesIO(instance.get_zip())) as archive:
        (only,) = [n for n in archive.namelist() if not n.endswith("/")]
        assert archive.read(only) == instance.get_dicom_file_content()


def test_download_zip_file_and_instance_file(client: of.Orthanc, tmp_path: Any) -> None:
    series = of.find_series(client)[0]
    written = series.download(tmp_path / "series.zip")
    assert zipfile.ZipFile(written).testzip() is None
    instance = series.instances[0]
    path = instance.download(tmp_path / "one.dcm")
    assert path.read_bytes() == instance.get_dicom_file_content()


@pytest.mark.needs("plugins")
def test_nifti_has_the_series_shape(client: of.Orthanc, cohort_dir: Any, tmp_path: Any) -> None:
    nibabel = pytest.importorskip("nibabel")
    series = of.find_series(client)[0]
    image = nibabel.Nifti1Image.from_bytes(series.get_nifti())
    assert image.shape == (32, 32, cohort_dir.instances // cohort_dir.series)
    compressed = series.get_nifti(compress=True)
    assert gzip.decompress(compressed)[:4] in (b"\x5c\x01\x00\x00", b"\x00\x00\x01\x5c")
    path = series.download_nifti(tmp_path, compress=True)
    assert path.name == f"{series.uid}.nii.gz"
    assert nibabel.load(path).shape == image.shape
    single = nibabel.Nifti1Image.from_bytes(series.instances[0].get_nifti())
    assert single.shape[:2] == (32, 32)


def test_legacy_viewer_url(client: of.Orthanc) -> None:
    study = of.find_studies(client)[0]
    assert study.legacy_viewer_url == f"{client.url}/app/explorer.html#study?uuid={study.id}"
