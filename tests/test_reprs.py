"""Every object a notebook shows has a compact, escaped HTML repr that says what matters."""

from __future__ import annotations

from pathlib import Path

import orthanc_frames as of
from orthanc_frames._html import html_card
from orthanc_frames.resources.modality import EchoResult, QueryAnswers
from orthanc_frames.transfer.download import DownloadItem, DownloadReport
from orthanc_frames.transfer.upload import RejectedFile, StoredInstance, UploadReport


def test_client_and_frames(client: of.Orthanc) -> None:
    assert client.url in client._repr_html_()
    f = client.frames(levels=("patient", "study"))
    text = f._repr_html_()
    assert str(len(f.patients)) in text and str(len(f.studies)) in text


def test_client_and_frames_are_the_shared_card(client: of.Orthanc, tmp_path: Path) -> None:
    assert client._repr_html_() == html_card("Orthanc", client.url, {"username": client.username})
    f = client.frames(levels=("patient",))
    assert f._repr_html_().startswith(f"<b>Frames</b> <code>{client.url}</code><table>")
    assert "<th style='text-align:left'>studies</th><td style='text-align:left'>not loaded" in (
        f._repr_html_()
    )
    local = of.Frames.from_folder(tmp_path)  # no server: the card says so, escaped
    local.server_url = "<local & files>"
    assert "<code>&lt;local &amp; files&gt;</code>" in local._repr_html_()


def test_resources_show_their_known_tags(client: of.Orthanc) -> None:
    patient = of.find_patients(client, query={"PatientName": "*lène*"})[0]
    text = patient._repr_html_()
    assert "Patient" in text and patient.id in text and "Hélène" in text


def test_job(client: of.Orthanc) -> None:
    study = client.get_studies()[0]
    job = of.Job(client.post_studies_id_archive(study, json={"Asynchronous": True})["ID"], client)
    job.wait_until_completion(wait=60)
    text = job._repr_html_()
    assert job.id in text and "Success" in text and "Archive" in text


def test_modalities_and_answers(client: of.Orthanc) -> None:
    modality = of.Modality(client, "PACS<1>")
    assert "PACS&lt;1&gt;" in modality._repr_html_() and client.url in modality._repr_html_()
    failed = EchoResult(ok=False, target="PACS", reason="Connection refused")
    assert "failed" in failed._repr_html_() and "Connection refused" in failed._repr_html_()
    answers = QueryAnswers(
        modality,
        "q1",
        [{"PatientID": f"P{i}", "StudyDate": "20240101"} for i in range(25)],
        "Study",
    )
    text = answers._repr_html_()
    assert "25 Study answer(s)" in text and "P19" in text and "P20" not in text
    assert "and 5 more" in text


def test_transfer_reports(tmp_path: Path) -> None:
    download = DownloadReport(
        tmp_path,
        "series",
        "dicom",
        [
            DownloadItem("s1", "instance", "i1", tmp_path / "a.dcm", "ok"),
            DownloadItem("s1", "instance", "i2", None, "failed", "HTTP 404 <gone>"),
        ],
    )
    text = download._repr_html_()
    assert "written" in text and "HTTP 404 &lt;gone&gt;" in text and str(tmp_path) in text
    upload = UploadReport(
        [StoredInstance("a.dcm", "i", "p", "st", "se", "Success")],
        [RejectedFile("notes.txt", "Cannot parse an invalid DICOM file")],
    )
    text = upload._repr_html_()
    assert "notes.txt" in text and "Cannot parse" in text and "rejected" in text
