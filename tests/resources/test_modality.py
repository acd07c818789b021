"""DICOM networking between two real Orthanc servers (``server_pair``).

``a`` knows ``b`` as modality and peer ``"B"``; ``b`` knows ``a`` as ``"A"``.
The pair is shared by the session: every test stores its own synthetic
data (its own seed, so its own UIDs) and deletes it from both servers.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import PASSWORD, USERNAME
from transports import CountingTransport

import orthanc_frames as of
from orthanc_frames.local_server import LocalOrthanc
from orthanc_frames.resources.job import Job
from orthanc_frames.resources.modality import (
    EchoResult,
    Modality,
    Peer,
    QueryAnswers,
    RemoteModality,
    list_modalities,
    list_peers,
)
from orthanc_frames.synthetic import CohortSummary, write_cohort
from orthanc_frames.transfer import upload

_seeds = itertools.count(100)


@pytest.fixture
def pair(
    server_pair: tuple[LocalOrthanc, LocalOrthanc],
) -> Iterator[tuple[of.Orthanc, of.Orthanc]]:
    a, b = server_pair
    with (
        of.Orthanc(a.url, username=USERNAME, password=PASSWORD) as ca,
        of.Orthanc(b.url, username=USERNAME, password=PASSWORD) as cb,
    ):
        yield ca, cb


@pytest.fixture
def one_study(tmp_path: Path) -> CohortSummary:
    """Two series of two instances, with UIDs no other test uses."""
    return write_cohort(
        tmp_path / "data", patients=1, studies=1, series=2, instances=2, seed=next(_seeds)
    )


@pytest.fixture
def cleanup(pair: tuple[of.Orthanc, of.Orthanc]) -> Iterator[list[str]]:
    """Patient IDs (Orthanc) to delete from both servers after the test."""
    patients: list[str] = []
    yield patients
    for client in pair:
        for patient in patients:
            with contextlib.suppress(of.NotFound):
                client.DELETE(f"/patients/{patient}")


def _store(client: of.Orthanc, data: CohortSummary, cleanup: list[str]) -> list[str]:
    report = upload(client, data.outdir)
    assert len(report.stored) == data.instances and not report.rejected
    cleanup.extend(dict.fromkeys(item.patient for item in report.stored))
    return report.instance_ids


def _instances_of(client: of.Orthanc, data: CohortSummary) -> int:
    answer = client.post_tools_find(
        json={"Level": "Instance", "Query": {"PatientID": data.patient_ids[0]}}
    )
    return len(answer)


def test_echo_succeeds_between_the_pair(pair: tuple[of.Orthanc, of.Orthanc]) -> None:
    a, b = pair
    result = Modality(a, "B").echo()
    assert result == EchoResult(True, "B") and bool(result)
    assert Modality(b, "A").echo(dicom_timeout=5)
    assert Modality(b, "A").echo(5)  # by position, as before
    assert RemoteModality is Modality
    assert [m.name for m in list_modalities(a)] == ["B"]


def test_echo_failures_carry_orthancs_reason(empty_server: LocalOrthanc) -> None:
    with of.Orthanc(empty_server.url, username=USERNAME, password=PASSWORD) as c:
        unknown = Modality(c, "NOPE").echo()
        assert not unknown
        assert "NOPE" in (unknown.reason or "") and "list_modalities" in (unknown.reason or "")

        c.PUT("/modalities/DEAD", json={"AET": "DEAD", "Host": "127.0.0.1", "Port": 1})
        # ``timeout`` is the client's HTTP timeout; the association's is dicom_timeout
        with pytest.warns(DeprecationWarning, match="use dicom_timeout="):
            refused = Modality(c, "DEAD").echo(timeout=3)
        assert not refused
        with pytest.raises(TypeError, match="give dicom_timeout= only"):
            Modality(c, "DEAD").echo(dicom_timeout=3, timeout=3)
        assert "Connection refused" in (refused.reason or "")

        assert not Peer(c, "NOPE").echo()


def test_c_store_sends_to_the_other_server(
    pair: tuple[of.Orthanc, of.Orthanc], one_study: CohortSummary, cleanup: list[str]
) -> None:
    a, b = pair
    ids = _store(a, one_study, cleanup)
    assert _instances_of(b, one_study) == 0

    result = Modality(a, "B").store(ids[:2])
    assert isinstance(result, dict)
    assert result["InstancesCount"] == 2 and result["FailedInstancesCount"] == 0
    assert _instances_of(b, one_study) == 2

    job = Modality(a, "B").store(cleanup[0], asynchronous=True)
    assert isinstance(job, Job)
    job.wait_until_completion(wait=60)
    assert _instances_of(b, one_study) == one_study.instances


def test_c_find_reads_all_answers_in_one_request(
    pair: tuple[of.Orthanc, of.Orthanc],
    server_pair: tuple[LocalOrthanc, LocalOrthanc],
    one_study: CohortSummary,
    cleanup: list[str],
) -> None:
    a, b = pair
    _store(b, one_study, cleanup)
    transport = CountingTransport()
    with of.Orthanc(
        server_pair[0].url, username=USERNAME, password=PASSWORD, transport=transport
    ) as counted:
        answers = Modality(counted, "B").find(
            "Series",
            {"PatientID": one_study.patient_ids[0], "SeriesInstanceUID": "", "Modality": ""},
        )
    assert isinstance(answers, QueryAnswers) and answers.level == "Series"
    assert sorted(answer["SeriesInstanceUID"] for answer in answers) == sorted(
        one_study.series_uids
    )
    assert {answer["Modality"] for answer in answers} == {"CT", "MR"}
    assert transport.count("POST", "/query") == 1
    assert transport.count("GET") == 1  # the answers, all at once

    again = Modality(a, "B").get_query_answers(answers.query_id)
    assert list(again) == list(answers) and again.level == "Series"
    legacy = Modality(a, "B").query(
        {"Level": "Study", "Query": {"PatientID": one_study.patient_ids[0]}}
    )
    assert len(legacy) == 1


def test_c_move_brings_a_study_from_b_to_a(
    pair: tuple[of.Orthanc, of.Orthanc],
    server_pair: tuple[LocalOrthanc, LocalOrthanc],
    one_study: CohortSummary,
    cleanup: list[str],
) -> None:
    a, b = pair
    _store(b, one_study, cleanup)
    assert _instances_of(a, one_study) == 0

    result = Modality(a, "B").move(
        "Study", {"StudyInstanceUID": one_study.study_uids[0]}, target_aet=server_pair[0].aet
    )
    assert isinstance(result, dict)
    assert _instances_of(a, one_study) == one_study.instances


def test_c_move_of_query_answers_as_a_job(
    pair: tuple[of.Orthanc, of.Orthanc], one_study: CohortSummary, cleanup: list[str]
) -> None:
    a, b = pair
    _store(b, one_study, cleanup)
    answers = Modality(a, "B").find("Series", {"SeriesInstanceUID": one_study.series_uids[0]})
    assert len(answers) == 1

    job = Modality(a, "B").move("Series", answers, asynchronous=True)
    assert isinstance(job, Job)
    job.wait_until_completion(wait=60)
    assert _instances_of(a, one_study) == 2  # the one series found


def test_c_get_fetches_a_series_from_b(
    pair: tuple[of.Orthanc, of.Orthanc], one_study: CohortSummary, cleanup: list[str]
) -> None:
    a, b = pair
    _store(b, one_study, cleanup)
    query = {
        "StudyInstanceUID": one_study.study_uids[0],
        "SeriesInstanceUID": one_study.series_uids[1],
    }
    Modality(a, "B").get("Series", [query])
    assert _instances_of(a, one_study) == 2


def test_peer_store_and_system(
    pair: tuple[of.Orthanc, of.Orthanc],
    server_pair: tuple[LocalOrthanc, LocalOrthanc],
    one_study: CohortSummary,
    cleanup: list[str],
) -> None:
    a, b = pair
    ids = _store(a, one_study, cleanup)
    [peer] = list_peers(a)
    assert peer == Peer(a, "B")
    assert peer.echo()
    assert peer.system()["Name"] == server_pair[1].name

    result = peer.store(ids)
    assert isinstance(result, dict)
    assert _instances_of(b, one_study) == one_study.instances


def test_names_and_levels_are_checked(pair: tuple[of.Orthanc, of.Orthanc]) -> None:
    a, _ = pair
    with pytest.raises(ValueError, match="symbolic name"):
        Modality(a, "")
    with pytest.raises(ValueError, match="level: unknown level"):
        Modality(a, "B").find("Galaxy", {})
    with pytest.raises(ValueError, match="No resources"):
        Modality(a, "B").store([])
