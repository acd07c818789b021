"""Locally computed Orthanc IDs equal the IDs a real Orthanc assigns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
import pydicom.config
import pytest
from helpers import load_into
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from orthanc_frames.orthanc_ids import OrthancIds, dataset_identifiers, orthanc_id, orthanc_ids


def _ids_of_file(path: Path) -> OrthancIds:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return orthanc_ids(
        ds.get("PatientID"), ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
    )


def _server_ids(answer: dict[str, Any]) -> OrthancIds:
    return OrthancIds(
        patient=answer["ParentPatient"],
        study=answer["ParentStudy"],
        series=answer["ParentSeries"],
        instance=answer["ID"],
    )


def test_format_is_five_groups_of_eight_hex_digits() -> None:
    value = orthanc_id("PAT-1", "1.2.3", "1.2.3.4", "1.2.3.4.5")
    groups = value.split("-")
    assert [len(group) for group in groups] == [8] * 5
    assert all(set(group) <= set("0123456789abcdef") for group in groups)


def test_level_is_given_by_the_number_of_identifiers() -> None:
    ids = {orthanc_id("P"), orthanc_id("P", "1.2"), orthanc_id("P", "1.2", "1.3")}
    assert len(ids) == 3


def test_a_uid_without_its_parents_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="StudyInstanceUID"):
        orthanc_id("P", None, "1.2.3")
    with pytest.raises(ValueError, match="SeriesInstanceUID"):
        orthanc_id("P", "1.2", "")
    with pytest.raises(ValueError, match="SOPInstanceUID"):
        orthanc_ids("P", "1.2", "1.3", None)


def test_cohort_ids_equal_the_server_ids(cohort_server: Any, cohort_dir: Any) -> None:
    local = [_ids_of_file(path) for path in cohort_dir.files]
    with cohort_server.http() as http:
        for level, route in [
            ("patient", "/patients"),
            ("study", "/studies"),
            ("series", "/series"),
        ]:
            assert {getattr(ids, level) for ids in local} == set(http.get(route).json()), level
        parent_series = {
            answer["ID"]: answer["ParentSeries"]
            for answer in http.get("/instances", params={"expand": ""}).json()
        }
    assert len(parent_series) == len(cohort_dir.files)
    assert {ids.instance: ids.series for ids in local} == parent_series


def _odd_uid() -> str:
    uid = generate_uid()
    return uid if len(uid) % 2 else uid[:-1]


def _instance(sop_uid: str) -> Dataset:
    """A secondary capture instance with its file meta header and no other identifier."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = sop_uid
    return ds


def _odd_file(folder: Path, patient_id: str, name: str) -> Path:
    """A file whose identifiers have odd lengths, so DICOM pads them on disk."""
    ds = _instance(_odd_uid())
    ds.PatientID = patient_id
    ds.PatientName = "Odd^Lengths"
    ds.StudyInstanceUID = _odd_uid()
    ds.SeriesInstanceUID = _odd_uid()
    ds.Modality = "OT"
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return path


def test_padded_and_non_ascii_identifiers_match_the_server(
    empty_server: Any, pydicom_files: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for source in pydicom_files:
        (folder / source.name).write_bytes(source.read_bytes())
    _odd_file(folder, "ODD", "odd.dcm")
    _odd_file(folder, "", "empty-patient-id.dcm")

    answers = load_into(empty_server, folder)

    by_instance = {answer["ID"]: _server_ids(answer) for answer in answers}
    local = {ids.instance: ids for ids in map(_ids_of_file, sorted(folder.iterdir()))}
    assert local == by_instance


# Raw values as they are written in files, and what Orthanc makes of them.
_RAW_PATIENT_IDS = {
    "un-trailing-nul": ("UN", b"NUL\x00"),  # a value ends at its first NUL
    "un-leading-space": ("UN", b" LD1"),  # UN keeps every space
    "un-padding": ("UN", b"PAD1 "),
    "lo-trailing-spaces": ("LO", b"TR  "),  # a known VR loses its trailing spaces
    "lo-leading-spaces": ("LO", b"  LEAD"),  # ... and keeps its leading ones
    "lo-trailing-nul": ("LO", b"LN\x00\x00"),
    "lo-two-values": ("LO", b"A\\B "),
    "lo-latin-1": ("LO", "Müller".encode("latin-1")),  # no SpecificCharacterSet: Latin-1
}
_RAW_STUDY_UIDS = {
    "un-uid-space": ("UN", b"1.2.3.7 "),
    "un-uid-leading-space": ("UN", b" 1.2.3.8"),
    "ui-nul-padded": ("UI", b"1.2.3.9\x00"),
}


def _raw_file(
    folder: Path, name: str, patient: tuple[str, bytes], study: tuple[str, bytes]
) -> Path:
    ds = _instance(generate_uid())
    ds.SeriesInstanceUID = generate_uid()
    # Bytes are written as they are; pydicom would give a UN value of a
    # known tag its dictionary VR.
    keep = pydicom.config.replace_un_with_known_vr
    pydicom.config.replace_un_with_known_vr = False
    try:
        for tag, (vr, value) in ((0x00100020, patient), (0x0020000D, study)):
            ds[tag] = DataElement(tag, vr, value)
        path = folder / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
    finally:
        pydicom.config.replace_un_with_known_vr = keep
    for vr, value in (patient, study):
        assert vr.encode() + b"\x00\x00" * (vr == "UN") in path.read_bytes()
        assert value in path.read_bytes()
    return path


def test_dataset_identifiers_read_values_as_orthanc_does(empty_server: Any, tmp_path: Path) -> None:
    plain_study = ("UI", b"1.2.3.4.5.6")
    files = [
        _raw_file(tmp_path, name, patient, plain_study)
        for name, patient in _RAW_PATIENT_IDS.items()
    ]
    files += [
        _raw_file(tmp_path, name, ("LO", b"UIDS"), study) for name, study in _RAW_STUDY_UIDS.items()
    ]

    answers = load_into(empty_server, tmp_path)

    by_instance = {answer["ID"]: _server_ids(answer) for answer in answers}
    local = {}
    for path in files:
        ids = orthanc_ids(*dataset_identifiers(pydicom.dcmread(path)))
        local[ids.instance] = ids
    assert local == by_instance
    assert len(by_instance) == len(files)
