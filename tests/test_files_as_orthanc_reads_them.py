"""Files Orthanc accepts but that break naive clients: IDs, links and downloads equal the server.

Each file below is written with pydicom into a temporary folder and stored
in a real server:

- no ``PatientID`` at all (Orthanc files it under the patient of the empty
  ``PatientID``, ``da39a3ee-...``);
- ``PatientID`` written with VR ``UN`` and a padding space (Orthanc keeps
  ``"un-pad1 "`` and hashes the IDs from it);
- ``PatientID`` with leading spaces, and one holding a backslash (a DICOM
  list match cannot name it);
- no preamble and no file meta header;
- two instances with the same ``SOPInstanceUID`` in two series that would
  get the same folder name.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pydicom.config
import pytest
from helpers import PASSWORD, USERNAME
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from transports import RecordingTransport

import orthanc_frames as of
from orthanc_frames.frames.from_folder import FILE_LEVEL

EMPTY_PATIENT = "da39a3ee-5e6b4b0d-3255bfef-95601890-afd80709"
SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7"
PATIENT_ID = 0x00100020


def _dataset(patient_id: str | None, study: str, series: str, sop: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SOP_CLASS
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SOP_CLASS
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.Modality = "OT"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    if patient_id is not None:
        ds.PatientID = patient_id
    return ds


def _write(ds: Dataset, path: Path, *, file_format: bool = True) -> Path:
    buffer = io.BytesIO()
    if file_format:
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    else:
        # No preamble, no file meta header: the bare data set.
        del ds.file_meta
        pydicom.dcmwrite(buffer, ds, implicit_vr=False, little_endian=True)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("odd-files")
    study = generate_uid()
    _write(_dataset(None, study, generate_uid(), generate_uid()), folder / "no-patient-id.dcm")
    # pydicom would turn a UN value of a known tag into its dictionary VR.
    keep = pydicom.config.replace_un_with_known_vr
    pydicom.config.replace_un_with_known_vr = False
    try:
        padded = _dataset("x", generate_uid(), generate_uid(), generate_uid())
        padded[PATIENT_ID] = DataElement(PATIENT_ID, "UN", b"un-pad1 ")
        _write(padded, folder / "un-padded-patient-id.dcm")
    finally:
        pydicom.config.replace_un_with_known_vr = keep
    assert (
        b"UN\x00\x00\x08\x00\x00\x00un-pad1 " in (folder / "un-padded-patient-id.dcm").read_bytes()
    )
    leading = _dataset("x", generate_uid(), generate_uid(), generate_uid())
    leading[PATIENT_ID] = DataElement(PATIENT_ID, "LO", "  lead")
    _write(leading, folder / "leading-spaces.dcm")
    _write(_dataset("PID\\TWO", generate_uid(), generate_uid(), generate_uid()), folder / "bs.dcm")
    _write(
        _dataset("NO-META", generate_uid(), generate_uid(), generate_uid()),
        folder / "no-meta.dcm",
        file_format=False,
    )
    twin_study, twin_sop = generate_uid(), generate_uid()
    for name in ("twin-a.dcm", "twin-b.dcm"):
        _write(_dataset("TWINS", twin_study, generate_uid(), twin_sop), folder / name)
    return folder


@pytest.fixture(scope="module")
def odd_server(make_server: Any, odd_folder: Path) -> Any:
    server = make_server("ODDFILES")
    server.load(odd_folder, workers=2)
    return server


@pytest.fixture(scope="module")
def odd_client(odd_server: Any) -> Iterator[of.Orthanc]:
    with of.Orthanc(odd_server.url, username=USERNAME, password=PASSWORD) as client:
        yield client


def _server_chain(client: of.Orthanc) -> dict[str, tuple[str, str, str]]:
    """Instance ID -> (series, study, patient) as the server links them."""
    series = {row["ID"]: row for row in client.GET("/series", params={"expand": ""})}
    studies = {row["ID"]: row for row in client.GET("/studies", params={"expand": ""})}
    chain = {}
    for row in client.GET("/instances", params={"expand": ""}):
        study = series[row["ParentSeries"]]["ParentStudy"]
        chain[row["ID"]] = (row["ParentSeries"], study, studies[study]["ParentPatient"])
    return chain


def test_the_files_are_what_the_server_stores(odd_client: of.Orthanc) -> None:
    patients = odd_client.GET("/patients", params={"expand": ""})
    ids = {row["MainDicomTags"].get("PatientID", "") for row in patients}
    assert ids == {"", "un-pad1 ", "  lead", "PID\\TWO", "NO-META", "TWINS"}
    assert len(odd_client.GET("/instances")) == 7  # the twins are two instances


@pytest.mark.parametrize(
    "levels", [("patient", "study", "series", "instance"), ("instance",), ("series",)]
)
def test_frame_links_equal_the_servers_parent_chain(
    odd_client: of.Orthanc, levels: tuple[str, ...]
) -> None:
    # Loaded alone, a level's links above its parent are computed from the
    # server's UIDs; with the level above, they follow the server's parents.
    f = odd_client.frames(levels=levels, progress=False)
    chain = _server_chain(odd_client)
    if "instance" in levels:
        got = {
            instance: tuple(row)
            for instance, row in f.instances[["series", "study", "patient"]].iterrows()
        }
        assert got == chain
        assert EMPTY_PATIENT in set(f.instances["patient"])
    if "series" not in levels:
        return
    for series_id, row in f.series.iterrows():
        assert (row["study"], row["patient"]) in {(s, p) for _, s, p in chain.values()}
        assert series_id in {s for s, _, _ in chain.values()}


def test_find_links_parents_to_the_servers_resources(odd_client: of.Orthanc) -> None:
    chain = _server_chain(odd_client)
    for instance in of.find_instances(odd_client):
        series_id, study_id, patient_id = chain[instance.id]
        assert instance.parent_series.id == series_id
        assert instance.parent_study.id == study_id
        assert instance.parent_patient.id == patient_id


def test_from_folder_gives_the_servers_ids(odd_client: of.Orthanc, odd_folder: Path) -> None:
    local = of.Frames.from_folder(odd_folder, workers=2, progress=False)
    chain = _server_chain(odd_client)

    assert not (local.problems["level"] == FILE_LEVEL).any(), local.problems
    assert {
        instance: tuple(row)
        for instance, row in local.instances[["series", "study", "patient"]].iterrows()
    } == chain
    by_file = {Path(path).name: id_ for id_, path in local.instances["path"].items()}
    assert odd_client.GET(f"/instances/{by_file['no-meta.dcm']}")["ID"]


def test_retrieve_and_write_patients_writes_every_instance_once(
    odd_client: of.Orthanc, tmp_path: Path
) -> None:
    report = of.retrieve_and_write_patients(of.find_patients(odd_client), tmp_path, workers=2)

    assert report.failed == []
    written = {item.id: item.path for item in report.ok}
    assert sorted(written) == sorted(_server_chain(odd_client))
    assert len(set(written.values())) == len(written)  # the twins do not share a name
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(written.values())


@pytest.mark.parametrize("level", ["patient", "study", "series", "instance"])
def test_accessor_download_writes_every_instance_once(
    odd_client: of.Orthanc, tmp_path: Path, level: str
) -> None:
    f = odd_client.frames(progress=False)
    result = f.frame(level).orthanc.download(tmp_path, workers=2, progress=False)

    assert set(result["status"]) == {"ok"}

    files = [p for p in tmp_path.rglob("*.dcm")]
    assert len(files) == len(f.instances) == 7
    sops = [pydicom.dcmread(p, force=True).SOPInstanceUID for p in files]
    assert len(set(sops)) == 6  # the twins: one SOPInstanceUID, two files


@pytest.mark.needs("labels")
def test_labels_on_odd_patients_load_all_their_instances(odd_server: Any) -> None:
    with of.Orthanc(odd_server.url, username=USERNAME, password=PASSWORD) as client:
        chain = _server_chain(client)
        odd_patients = {EMPTY_PATIENT, *(p for _, _, p in chain.values())}
        for patient in odd_patients:
            client.PUT(f"/patients/{patient}/labels/odd")
        try:
            f = client.frames(labels=["odd"], labels_level="patient", progress=False)
        finally:
            for patient in odd_patients:
                client.DELETE(f"/patients/{patient}/labels/odd")
    assert set(f.instances.index) == set(chain)


# -- find-and-filter, then retrieve: only the kept children --------------------


def test_find_and_filter_then_retrieve_writes_only_the_kept_children(
    client: of.Orthanc, tmp_path: Path
) -> None:
    kept = of.find_and_filter_patients(client, series_filter=lambda s: s.modality == "CT")
    f = client.frames(progress=False)
    ct_series = f.series[f.series["Modality"] == "CT"]
    expected = f.instances[f.instances["series"].isin(ct_series.index)]
    assert 0 < len(expected) < len(f.instances)

    report = of.retrieve_and_write_patients(kept, tmp_path, workers=2, progress=False)

    assert report.failed == []
    assert sorted(item.id for item in report.ok) == sorted(expected.index)
    assert {item.source for item in report.items} == {patient.id for patient in kept}
    assert len(list(tmp_path.rglob("*.dcm"))) == len(expected)


# -- bad input: typed errors naming the argument, before any request ------------


@pytest.fixture
def recorded(cohort_server: Any) -> Iterator[tuple[of.Orthanc, RecordingTransport]]:
    transport = RecordingTransport()
    with of.Orthanc(
        cohort_server.url, username=USERNAME, password=PASSWORD, transport=transport
    ) as client:
        yield client, transport


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.frames(query={"NotAKeyword": "x"}), "query"),
        (lambda c: of.Frames.load(c, tags={"series": ["NotAKeyword"]}), "tags['series']"),
        (lambda c: of.find_series(c, {"NotAKeyword": "x"}), "query"),
        (lambda c: of.find_patients(c, query={"NotAKeyword": "x"}), "query"),
        (lambda c: of.query_orthanc(c, "study", {"NotAKeyword": "x"}), "query"),
    ],
)
def test_an_unknown_keyword_is_a_value_error_naming_the_argument(
    recorded: tuple[of.Orthanc, RecordingTransport], call: Any, argument: str
) -> None:
    client, transport = recorded
    with pytest.raises(ValueError, match="NotAKeyword") as raised:
        call(client)
    assert str(raised.value).startswith(f"{argument}: ")
    assert isinstance(raised.value, KeyError)  # what earlier versions raised
    assert transport.requests == []


def test_a_query_string_is_a_type_error_showing_the_mapping(
    recorded: tuple[of.Orthanc, RecordingTransport],
) -> None:
    client, transport = recorded
    with pytest.raises(TypeError, match=r"query must be a mapping.*\{'Modality': 'CT'\}"):
        of.find_series(client, query="Modality=CT")
    with pytest.raises(TypeError, match="tags must be a mapping"):
        client.frames(tags=["SliceThickness"])  # type: ignore[arg-type]
    assert transport.requests == []


def test_upload_report_names_the_rejected_files(empty_server: Any, tmp_path: Path) -> None:
    for number in range(5):
        (tmp_path / f"notes-{number}.txt").write_text("not DICOM")
    with of.Orthanc(empty_server.url, username=USERNAME, password=PASSWORD) as client:
        report = of.upload(client, tmp_path, workers=2, progress=False)

    text = repr(report)
    assert str(report) == text
    assert text.startswith("UploadReport(0 new, 0 already stored, 5 rejected: ")
    for item in report.rejected[:3]:
        assert f"{item.source}: {item.reason}" in text
    assert "Cannot parse" in text or "invalid" in text.lower()
    assert report.rejected[3].source not in text
    assert text.endswith("; and 2 more)")


def test_a_file_orthanc_refuses_is_reported_by_from_folder_with_the_reason(
    odd_client: of.Orthanc, tmp_path: Path
) -> None:
    ds = _dataset("CUT", generate_uid(), generate_uid(), generate_uid())
    ds.PixelData = b"\0" * 2048
    ds["PixelData"].VR = "OB"
    whole = _write(ds, tmp_path / "whole.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(whole[:-100])
    (tmp_path / "whole.dcm").unlink()

    with pytest.raises(of.BadRequest):
        odd_client.POST("/instances", data=(tmp_path / "cut.dcm").read_bytes())
    local = of.Frames.from_folder(tmp_path, progress=False)

    assert local.instances.empty
    reasons = local.problems.set_index("id")["reason"]
    assert reasons[str(tmp_path / "cut.dcm")].startswith("truncated: element (7FE0,0010)")
