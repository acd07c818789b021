"""Changing resources on a real server: labels, metadata, attachments, protection,
deletion, and anonymize/modify at every level, synchronously and as jobs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import PASSWORD, USERNAME, load_into
from transports import JobDroppedTransport

import orthanc_frames as of

USER_CONFIG = {"UserMetadata": {"Reviewer": 1024}, "UserContentType": {"notes": 1025}}


@pytest.fixture
def server(make_server: Any, small_cohort: Any) -> Iterator[Any]:
    """A fresh server holding the small cohort, for one test that changes it."""
    server = make_server("MODIFY", extra=USER_CONFIG)
    load_into(server, small_cohort.outdir)
    yield server
    server.signal_stop()


@pytest.fixture
def client(server: Any) -> Iterator[of.Orthanc]:
    with of.Orthanc(server.url, username=USERNAME, password=PASSWORD) as client:
        yield client


def _patients(client: of.Orthanc) -> list[str]:
    return sorted(client.GET("/patients"))


@pytest.mark.needs("labels")
def test_labels(client: of.Orthanc) -> None:
    study = of.find_studies(client)[0]
    assert study.labels == []
    study.add_label("reviewed")
    study.add_label("cohort-a")
    assert sorted(study.labels) == ["cohort-a", "reviewed"]
    assert of.find_studies(client, labels=["reviewed"]) == [study]
    study.remove_label("reviewed")
    assert study.labels == ["cohort-a"]
    instance = study.series[0].instances[0]
    instance.add_label("key-image")
    assert of.find_instances(client, labels="key-image") == [instance]


def test_metadata(client: of.Orthanc) -> None:
    series = of.find_series(client)[0]
    series.set_metadata("Reviewer", "Dr. Zoë")
    assert series.get_metadata("Reviewer") == "Dr. Zoë"
    assert series.metadata()["Reviewer"] == "Dr. Zoë"
    series.delete_metadata("Reviewer")
    assert "Reviewer" not in series.metadata()
    with pytest.raises(of.NotFound):
        series.get_metadata("Reviewer")


def test_attachments(client: of.Orthanc) -> None:
    instance = of.find_instances(client)[0]
    assert "dicom" in instance.attachments()
    instance.put_attachment("notes", b"\x00binary\xff")
    assert instance.get_attachment("notes") == b"\x00binary\xff"
    assert "notes" in instance.attachments()
    instance.delete_attachment("notes")
    assert "notes" not in instance.attachments()
    assert instance.get_attachment("dicom") == instance.get_dicom_file_content()


def test_protected(client: of.Orthanc) -> None:
    patient = of.find_patients(client)[0]
    assert patient.protected is False
    patient.protected = True
    assert patient.protected is True
    assert client.GET(f"/patients/{patient.id}/protected") in ("1", b"1", 1)
    patient.protected = False
    assert patient.protected is False


def test_delete(client: of.Orthanc) -> None:
    series = of.find_series(client)[0]
    study = series.parent_study
    series.delete()
    assert series.id not in client.GET("/series")
    assert len(of.Study(study.id, client).series) == 1
    study.delete()
    assert study.id not in client.GET("/studies")


@pytest.mark.parametrize("level", ["patient", "study", "series"])
def test_anonymize_returns_the_new_resource(client: of.Orthanc, level: str) -> None:
    source = of.query_orthanc(client, level)[0]
    instances_before = len(client.GET("/instances"))
    new = source.anonymize(replace={"PatientName": "Anon^Ymous"}, remove=["InstitutionName"])
    assert type(new) is type(source) and new.id != source.id
    assert new.id in client.GET(f"/{source._route}")
    assert source.id in client.GET(f"/{source._route}")  # keep_source=True by default
    tags = _first_instance_of(new).simplified_tags
    assert tags["PatientName"] == "Anon^Ymous"
    assert "InstitutionName" not in tags
    assert new.get_metadata("AnonymizedFrom") == source.id
    assert len(client.GET("/instances")) > instances_before


def _first_instance(resource: of.Resource) -> of.Instance:
    series = (
        resource.studies[0].series[0] if isinstance(resource, of.Patient) else resource.series[0]  # type: ignore[attr-defined]
    )
    return series.instances[0]


def test_anonymize_without_keeping_the_source(client: of.Orthanc) -> None:
    study = of.find_studies(client)[0]
    description = study.description
    assert description
    new = study.anonymize(keep_source=False, keep=["StudyDescription"])
    studies = client.GET("/studies")
    assert new.id in studies and study.id not in studies
    assert new.description == description


@pytest.mark.parametrize("level", ["patient", "study", "series"])
@pytest.mark.needs("modify_1_12")
def test_modify_as_job(client: of.Orthanc, level: str) -> None:
    source = of.query_orthanc(client, level)[0]
    job = source.modify_as_job(replace={"InstitutionName": "Modified Hospital"})
    assert isinstance(job, of.Job)
    content = job.wait_until_completion()
    new = type(source)(content["ID"], client)
    if level == "patient":
        # Same PatientID, same patient: it now also holds the modified copies.
        assert new == source
        changed = of.find_studies(client, {"InstitutionName": "Modified Hospital"})
        assert changed and {s.parent_patient for s in changed} == {source}
        assert changed[0].get_metadata("ModifiedFrom") in client.GET("/studies")
        return
    assert new.id != source.id
    assert _first_instance_of(new).simplified_tags["InstitutionName"] == "Modified Hospital"
    assert new.get_metadata("ModifiedFrom") == source.id


def _first_instance_of(resource: of.Resource) -> of.Instance:
    if isinstance(resource, of.Series):
        return resource.instances[0]
    return _first_instance(resource)


@pytest.mark.needs("modify_1_12")
def test_modify_keeping_the_uid_changes_the_study_itself(client: of.Orthanc) -> None:
    study = of.find_studies(client)[0]
    same = study.modify(
        replace={"StudyDescription": "Renamed"}, keep=["StudyInstanceUID"], force=True
    )
    assert same == study
    assert same.description == "Renamed"
    assert study.refresh().description == "Renamed"


def test_modify_patient_id_needs_force(client: of.Orthanc) -> None:
    patient = of.find_patients(client)[0]
    with pytest.raises(ValueError, match="force=True"):
        patient.modify(replace={"PatientID": "NEW-ID"})
    new = patient.modify(replace={"PatientID": "NEW-ID"}, force=True, keep_source=False)
    assert new.patient_id == "NEW-ID"
    assert patient.id not in _patients(client)


@pytest.mark.needs("modify_1_12")
def test_anonymize_as_job_with_every_option(client: of.Orthanc) -> None:
    series = of.find_series(client)[0]
    job = series.anonymize_as_job(
        remove=["StationName"],
        replace={"PatientName": "X"},
        keep=["SeriesDescription"],
        force=True,
        keep_private_tags=True,
        keep_source=True,
        priority=3,
        permissive=True,
        private_creator="OrthancFrames",
        dicom_version="2023b",
    )
    content = job.wait_until_completion()
    assert content["Type"] == "Series"
    assert job.state is of.JobState.SUCCESS and job.progress == 100
    assert job.priority == 3 and job.type == "ResourceModification"


def test_instance_anonymize_stores_the_new_instance(client: of.Orthanc) -> None:
    instance = of.find_instances(client)[0]
    before = len(client.GET("/instances"))
    new = instance.anonymize(replace={"PatientName": "Anon^One"})
    assert isinstance(new, of.Instance) and new.id != instance.id
    assert len(client.GET("/instances")) == before + 1
    assert new.simplified_tags["PatientName"] == "Anon^One"
    data = instance.anonymized_bytes()
    assert data[128:132] == b"DICM"
    assert len(client.GET("/instances")) == before + 1  # bytes only: nothing stored


def test_instance_modify_without_keeping_the_source(client: of.Orthanc) -> None:
    instance = of.find_instances(client)[0]
    new = instance.modify(replace={"ImageComments": "checked"}, keep_source=False)
    instances = client.GET("/instances")
    assert new.id in instances and instance.id not in instances
    assert new.image_comments == "checked"
    modified = of.Instance(new.id, client).modified_bytes(replace={"ImageComments": "again"})
    assert b"again" in modified
    with pytest.raises(ValueError, match="force=True"):
        new.modify(replace={"SOPInstanceUID": "1.2.3"})


def test_instance_jobs_store_through_bulk_routes(client: of.Orthanc) -> None:
    instance = of.find_instances(client)[0]
    content = instance.anonymize_as_job(replace={"PatientName": "Bulk"}).wait_until_completion()
    (created,) = [r["ID"] for r in content["Resources"] if r["Type"] == "Instance"]
    assert of.Instance(created, client).simplified_tags["PatientName"] == "Bulk"
    content = instance.modify_as_job(replace={"ImageComments": "bulk"}).wait_until_completion()
    (changed,) = [r["ID"] for r in content["Resources"] if r["Type"] == "Instance"]
    assert of.Instance(changed, client).image_comments == "bulk"


def test_one_modification_builds_every_request_body() -> None:
    # Building a body sends nothing: no server is needed to read it.
    with of.Orthanc("http://127.0.0.1:9") as offline:
        series = of.Series("0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c", offline)
        anonymization = of.resources.Modification(
            "anonymize", replace={"PatientName": "Anon"}, keep_source=False, priority=3
        )
        as_job = anonymization.body(series, job=True)
        assert as_job["Asynchronous"] is True and as_job["Priority"] == 3
        assert as_job["KeepSource"] is False and as_job["KeepPrivateTags"] is False
        as_bytes = anonymization.body(series, job=False)
        assert "Asynchronous" not in as_bytes and "Priority" not in as_bytes
        assert as_bytes["KeepSource"] is True

        new_uid = of.resources.Modification("modify", replace={"SeriesInstanceUID": "1.2.3"})
        with pytest.raises(ValueError, match="force=True"):
            new_uid.body(series, job=True)
    with pytest.raises(ValueError, match="belong to anonymize"):
        of.resources.Modification("modify", keep_private_tags=True)
    with pytest.raises(TypeError, match="lists of tags"):
        of.resources.Modification("anonymize", remove="PatientName")


def test_a_job_gone_from_the_history_reports_its_one_copy(server: Any, client: of.Orthanc) -> None:
    transport = JobDroppedTransport()
    with of.Orthanc(server.url, username=USERNAME, password=PASSWORD, transport=transport) as lossy:
        series = of.find_series(lossy)[0]
        copy = series.modify(replace={"SeriesDescription": "after the history"})
    assert transport.dropped, "the job's end must not have been seen"
    assert copy.id != series.id
    assert client.GET(f"/series/{copy.id}/metadata/ModifiedFrom") == series.id
    assert client.GET(f"/series/{copy.id}")["MainDicomTags"]["SeriesDescription"] == (
        "after the history"
    )


def test_a_job_gone_from_the_history_with_two_copies_is_not_guessed(
    server: Any, client: of.Orthanc
) -> None:
    source = of.find_series(client)[0]

    def another_user_anonymizes_it_too(_job_id: str) -> None:
        if len(transport.dropped) == 1:
            of.Series(source.id, client).anonymize()

    transport = JobDroppedTransport(before_drop=another_user_anonymizes_it_too)
    with of.Orthanc(server.url, username=USERNAME, password=PASSWORD, transport=transport) as lossy:
        with pytest.raises(of.JobLost, match="not exactly one") as lost:
            of.Series(source.id, lossy).anonymize()
    copies = [
        series
        for series in client.GET("/series")
        if client.GET(f"/series/{series}/metadata?expand").get("AnonymizedFrom") == source.id
    ]
    assert len(copies) == 2
    assert all(copy in str(lost.value) for copy in copies)
    # In a bulk action the row fails with that text; a later run finds exactly
    # one copy made since it started, and reports it.
    with of.Orthanc(server.url, username=USERNAME, password=PASSWORD, transport=transport) as lossy:
        transport.dropped.clear()
        failed = of.frames.bulk.anonymize(lossy, "series", [source.id], workers=1)
        transport.before_drop = None
        result = of.frames.bulk.anonymize(lossy, "series", [source.id], workers=1)
    assert failed.loc[source.id, "status"] == "failed"
    assert failed.loc[source.id, "error"].startswith("JobLost: ")
    assert "not exactly one" in failed.loc[source.id, "error"]
    assert result.loc[source.id, "status"] == "ok"
    assert client.GET(f"/series/{result.loc[source.id, 'new_id']}/metadata/AnonymizedFrom") == (
        source.id
    )
