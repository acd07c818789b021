"""Orthanc jobs on a real server: waiting, progress, failure details, pause/resume/cancel."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import PASSWORD, USERNAME, load_into

import orthanc_frames as of


class SilentDicomPeer:
    """A TCP listener that accepts associations and never answers.

    A store job towards it blocks the server's only job worker until the
    listener closes, which keeps every later job Pending: the states
    pause/resume/cancel act on are then reached without any race.
    """

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.listener.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def single_worker(make_server: Any, small_cohort: Any) -> Iterator[Any]:
    """A server with one job worker and the small cohort."""
    server = make_server("JOBS", extra={"ConcurrentJobs": 1, "DicomScuTimeout": 60})
    load_into(server, small_cohort.outdir)
    yield server
    server.signal_stop()


@pytest.fixture
def client(single_worker: Any) -> Iterator[of.Orthanc]:
    with of.Orthanc(single_worker.url, username=USERNAME, password=PASSWORD) as client:
        yield client


def _store_job(client: of.Orthanc, modality: str, port: int, resource: str) -> of.Job:
    client.PUT(f"/modalities/{modality}", json={"AET": modality, "Host": "127.0.0.1", "Port": port})
    answer = client.POST(
        f"/modalities/{modality}/store", json={"Resources": [resource], "Asynchronous": True}
    )
    return of.Job(answer["ID"], client)


def test_wait_returns_the_content_and_typed_fields(
    client: of.Orthanc, capsys: pytest.CaptureFixture[str]
) -> None:
    series = of.find_series(client)[0]
    job = series.anonymize_as_job()
    content = job.wait_until_completion(progress=True, desc="anonymizing")
    assert "anonymizing" in capsys.readouterr().err
    assert content["ID"] in client.GET("/series")
    assert job.state is of.JobState.SUCCESS and job.state == "Success"
    assert job.state.is_final
    assert job.progress == 100
    assert job.type == "ResourceModification"
    assert job.content == content
    assert isinstance(job.creation_time, dt.datetime)
    assert isinstance(job.completion_time, dt.datetime)
    assert job.completion_time >= job.creation_time
    assert isinstance(job.effective_runtime, dt.timedelta)
    assert isinstance(job.timestamp, dt.datetime)
    assert job.error == 0 and not job.error and job.error.description == "Success"
    assert job.error_details is None
    assert job == of.Job(job.id, client) and len({job, of.Job(job.id, client)}) == 1
    assert "Success" in repr(job) and job.id in job._repr_html_()


def test_progress_bar_reaches_100(client: of.Orthanc, capsys: pytest.CaptureFixture[str]) -> None:
    job = of.find_studies(client)[0].modify_as_job(replace={"StudyDescription": "x"})
    job.wait_until_completion(progress=True, desc="modifying")
    err = capsys.readouterr().err
    assert "modifying" in err and "100/100" in err


def test_failure_raises_with_orthanc_details(client: of.Orthanc) -> None:
    series = of.find_series(client)[0]
    job = _store_job(client, "NOBODY", _free_port(), series.id)
    with pytest.raises(of.JobFailed) as info:
        job.wait_until_completion()
    failed = info.value
    assert failed.job_id == job.id and failed.job_type == "DicomModalityStore"
    assert failed.error.code != 0 and failed.error.description
    assert failed.error.details  # Orthanc says which association failed
    assert job.id in str(failed) and failed.error.details in str(failed)
    assert job.state is of.JobState.FAILURE
    assert job.error == failed.error and job.error  # an int: Orthanc's ErrorCode, as in R
    assert job.error_details == failed.error.details


def test_pause_resume_cancel_resubmit_and_timeout(client: of.Orthanc) -> None:
    peer = SilentDicomPeer()
    try:
        series = of.find_series(client)
        blocker = _store_job(client, "SILENT", peer.port, series[0].id)
        while blocker.state is of.JobState.PENDING:
            time.sleep(0.02)  # the single worker takes it, then hangs on the silent peer
        assert blocker.state is of.JobState.RUNNING
        job = series[1].anonymize_as_job()
        assert job.state is of.JobState.PENDING
        with pytest.raises(of.JobTimeout, match="still Pending"):
            job.wait_until_completion(wait=0.2, poll=0.05)
        # a job is waited for (wait=); timeout= is the client's HTTP timeout
        with pytest.warns(DeprecationWarning, match="use wait="):
            with pytest.raises(of.JobTimeout, match=r"after 0\.1 s"):
                job.wait_until_completion(timeout=0.1, poll=0.05)
        job.pause()
        assert job.state is of.JobState.PAUSED
        job.resume()
        assert job.state is of.JobState.PENDING
        job.cancel()
        assert job.state is of.JobState.FAILURE
        with pytest.raises(of.JobFailed) as info:
            job.wait_until_completion()
        assert info.value.error.code == 37  # CanceledJob
        job.resubmit()
        assert job.state is of.JobState.PENDING
        blocker.cancel()
    finally:
        peer.close()
    content = job.wait_until_completion()
    assert content["ID"] in client.GET("/series")


def test_sync_anonymize_refused_by_the_server_raises(client: of.Orthanc) -> None:
    study = of.find_studies(client)[0]
    with pytest.raises(of.HTTPError):
        study.anonymize(dicom_version="no-such-version")


def test_job_needs_an_id(client: of.Orthanc) -> None:
    with pytest.raises(ValueError, match="job ID"):
        of.Job("", client)
    with pytest.raises(of.NotFound):
        of.Job("no-such-job", client).state  # noqa: B018


def test_waiting_for_a_job_the_server_forgot_says_why(client: of.Orthanc) -> None:
    with pytest.raises(of.OrthancError, match="JobsHistorySize") as raised:
        of.Job("no-such-job", client).wait_until_completion(desc="send series x")
    assert not isinstance(raised.value, of.NotFound)
    assert "no-such-job (send series x)" in str(raised.value)
