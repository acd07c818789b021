"""The REST client against a real Orthanc: answers, errors, retries, secrets."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import logging
import pickle
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import SERVER_VERSION, missing_feature
from transports import RecordingTransport

import orthanc_frames as of

USER, PASSWORD = "orthanc", "orthanc"
SECRET = "s3cr3t-Pa55word"
TOKEN = "tok-abcdef-123456"


# -- transports that forward to a real server, injecting what it cannot do on demand --


class FlakyTransport(RecordingTransport):
    """Answers the first ``failures`` requests with ``failure`` (a status or an exception)."""

    def __init__(self, failures: int, failure: int | type[Exception]) -> None:
        super().__init__()
        self.failures = failures
        self.failure = failure

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures > 0:
            self.failures -= 1
            self.requests.append((request.method, request.url.path))
            if isinstance(self.failure, int):
                return httpx.Response(self.failure, text="busy", request=request)
            raise self.failure("Server disconnected without sending a response.")
        return super().handle_request(request)


@pytest.fixture
def secret_server(make_server: Any) -> Any:
    return make_server("SECRET", username=USER, password=SECRET)


@pytest.fixture(scope="module")
def open_server(make_server: Any) -> Any:
    return make_server("OPEN", auth=False)


# -- answers ------------------------------------------------------------------


def test_capabilities_describe_the_real_server(client: of.Orthanc, cohort_server: Any) -> None:
    caps = client.capabilities
    assert caps.version == SERVER_VERSION
    assert caps.api_version >= (20 if caps.at_least("1.12") else 15)
    assert caps.has_labels is (missing_feature("labels") is None)
    assert caps.has_extended_find is (missing_feature("extended_find") is None)
    if missing_feature("plugins") is None:
        assert {"dicom-web", "neuro", "gdcm"} <= caps.plugins
    else:
        assert not caps.plugins & {"dicom-web", "neuro", "gdcm"}
    assert caps.at_least(SERVER_VERSION) and not caps.at_least("1.13")
    if caps.at_least("1.11"):  # /system lists them since 1.11
        assert "PatientID" in caps.main_dicom_tags["patient"]
    assert client.version == SERVER_VERSION and client.api_version == caps.api_version


def test_counts_and_routes_at_each_level(client: of.Orthanc, cohort_dir: Any) -> None:
    stats = client.get_statistics()
    assert client.num_patients == stats["CountPatients"] == len(client.get_patients())
    assert client.num_instances == len(cohort_dir.files)
    patient_id = client.get_patients()[0]
    patient = client.get_patients_id(patient_id)
    assert patient["Type"] == "Patient" and patient["ID"] == patient_id
    study = client.get_studies_id(patient["Studies"][0])
    assert study["ParentPatient"] == patient_id
    series = client.get_series_id(study["Series"][0])
    assert series["ParentStudy"] == study["ID"]
    instance_id = series["Instances"][0]
    tags = client.get_instances_id_simplified_tags(instance_id)
    assert tags["SeriesInstanceUID"] == series["MainDicomTags"]["SeriesInstanceUID"]
    # binary and text answers
    dicom = client.get_instances_id_file(instance_id)
    assert isinstance(dicom, bytes) and dicom[128:132] == b"DICM"
    png = client.get_instances_id_preview(instance_id)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    patient_id_value = client.get_instances_id_content_path(instance_id, "0010-0020")
    assert patient_id_value.rstrip(b"\x00 ").decode() == patient["MainDicomTags"]["PatientID"]


def test_raw_verbs_and_query_params(client: of.Orthanc, cohort_server: Any) -> None:
    expanded = client.GET("/patients", params={"expand": True, "since": 0, "limit": 2})
    assert len(expanded) == 2 and isinstance(expanded[0], dict)
    found = client.POST("/tools/find", json={"Level": "Series", "Query": {"Modality": "MR"}})
    assert found and all(isinstance(x, str) for x in found)
    assert client.GET("system")["Version"] == SERVER_VERSION  # a missing leading slash is fine


@pytest.mark.needs("labels")
def test_put_and_delete_roundtrip(empty_server: Any, pydicom_files: list[Path]) -> None:
    with of.Orthanc(empty_server.url, username=USER, password=PASSWORD) as c:
        stored = c.post_instances(data=pydicom_files[0].read_bytes())
        patient = stored["ParentPatient"]
        c.put_patients_id_labels_label(patient, "reviewed")
        assert c.get_patients_id_labels(patient) == ["reviewed"]
        c.put_patients_id_metadata_name(patient, "1024", data=b"note")
        assert c.get_patients_id_metadata_name(patient, "1024") == "note"
        c.delete_patients_id(patient)
        with pytest.raises(of.NotFound):
            c.get_patients_id(patient)


def test_stream_writes_the_body_to_a_file(client: of.Orthanc, tmp_path: Path) -> None:
    study = client.get_studies()[0]
    seen: list[int] = []
    target = client.stream(
        f"/studies/{study}/archive", tmp_path / "a" / "study.zip", on_bytes=seen.append
    )
    assert target == tmp_path / "a" / "study.zip"
    assert target.read_bytes()[:2] == b"PK" and sum(seen) == target.stat().st_size
    assert [p.name for p in target.parent.iterdir()] == ["study.zip"]  # no temporary left


def test_stream_error_leaves_no_file(client: of.Orthanc, tmp_path: Path) -> None:
    with pytest.raises(of.NotFound):
        client.stream("/studies/nope/archive", tmp_path / "x.zip")
    assert list(tmp_path.iterdir()) == []


# -- errors -------------------------------------------------------------------


def test_unknown_resource_is_not_found_with_orthanc_details(client: of.Orthanc) -> None:
    with pytest.raises(of.NotFound) as info:
        client.get_patients_id("does-not-exist")
    err = info.value
    assert err.status == 404 and err.method == "GET" and err.route == "/patients/does-not-exist"
    assert "GET /patients/does-not-exist" in str(err) and "check the resource ID" in str(err)
    assert isinstance(err, of.HTTPError) and isinstance(err, of.OrthancError)


def test_unknown_route_is_not_found(client: of.Orthanc) -> None:
    with pytest.raises(of.NotFound) as info:
        client.GET("/no/such/route")
    assert info.value.route == "/no/such/route"


def test_bad_request_carries_the_servers_reason(client: of.Orthanc) -> None:
    with pytest.raises(of.BadRequest) as info:
        client.post_tools_find(json={"Level": "Nonsense", "Query": {}})
    assert info.value.status == 400
    assert info.value.details or info.value.message


def test_forbidden_route(client: of.Orthanc) -> None:
    # Orthanc refuses Lua scripts unless ExecuteLuaEnabled is set.
    with pytest.raises(of.Forbidden) as info:
        client.post_tools_execute_script(data=b"print(1)")
    assert info.value.status == 403


def test_server_error_from_a_failed_dicom_association(empty_server: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with of.Orthanc(empty_server.url, username=USER, password=PASSWORD) as c:
        c.put_modalities_id(
            "nowhere", json={"AET": "NOWHERE", "Host": "127.0.0.1", "Port": closed_port}
        )
        with pytest.raises(of.ServerError) as info:
            c.post_modalities_id_echo("nowhere", json={"Timeout": 2})
    err = info.value
    assert err.status == 500 and err.orthanc_code is not None
    assert "Connection refused" in (err.details or "") and "Connection refused" in str(err)


def test_orthanc_error_fields_are_kept(client: of.Orthanc) -> None:
    with pytest.raises(of.NotFound) as info:
        client.post_modalities_id_echo("nope", json={})
    err = info.value
    assert err.orthanc_code == 7 and err.message == "Accessing an inexistent item"
    assert err.details == "No modality with symbolic name: nope"
    assert "No modality with symbolic name: nope" in str(err)
    assert pickle.loads(pickle.dumps(err)).details == err.details


def test_wrong_credentials_are_unauthorized_and_secret_free(secret_server: Any) -> None:
    wrong = "wrong-" + SECRET
    with of.Orthanc(secret_server.url, username=USER, password=wrong) as c:
        with pytest.raises(of.Unauthorized) as info:
            c.get_system()
    assert info.value.status == 401
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert "username/password" in str(info.value)


def test_closed_port_fails_fast(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = of.Orthanc(f"http://127.0.0.1:{port}", timeout=5)
    started = time.monotonic()
    with pytest.raises(of.ConnectionError) as info:
        c.get_system()
    assert time.monotonic() - started < 5  # well within the timeout, retries included
    assert f"127.0.0.1:{port}" in str(info.value) and "running" in str(info.value)
    assert isinstance(info.value, ConnectionError)  # also the builtin


def test_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        c = of.Orthanc(f"http://127.0.0.1:{port}", timeout=0.5, retries=0)
        with pytest.raises(of.Timeout) as info:
            c.get_system()
        assert "timed out" in str(info.value) and isinstance(info.value, TimeoutError)
    finally:
        listener.close()


@pytest.mark.parametrize("url", ["", "127.0.0.1:8042", "ftp://host", "http://", "http://h:port"])
def test_malformed_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(of.ConfigurationError) as info:
        of.Orthanc(url)
    assert "http://127.0.0.1:8042" in str(info.value)


def test_bad_settings_are_refused_clearly() -> None:
    with pytest.raises(of.ConfigurationError, match="without a password"):
        of.Orthanc("http://127.0.0.1:8042", username="x")
    with pytest.raises(of.ConfigurationError, match="either username/password or token"):
        of.Orthanc("http://127.0.0.1:8042", username="x", password="y", token="t")
    with pytest.raises(of.ConfigurationError, match="not full URLs"):
        of.Orthanc("http://127.0.0.1:1").GET("http://elsewhere/system")


def test_non_orthanc_server_is_reported(tmp_path: Path) -> None:
    (tmp_path / "system").write_text("<html>hello</html>")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        c = of.Orthanc(f"http://127.0.0.1:{httpd.server_address[1]}")
        with pytest.raises(of.OrthancError, match="Orthanc server"):
            _ = c.capabilities
    finally:
        httpd.shutdown()


def test_unsupported_by_server(client: of.Orthanc) -> None:
    with pytest.raises(of.UnsupportedByServer, match="no-such-plugin"):
        client.capabilities.require_plugin("no-such-plugin", "This feature")
    old = of.Capabilities.from_system({"Version": "1.10.1", "ApiVersion": 17})
    with pytest.raises(of.UnsupportedByServer, match=r"1\.10\.1"):
        old.require_labels("Label filters")


# -- retries --------------------------------------------------------------------


def test_connection_closed_by_server_while_idle(cohort_server: Any) -> None:
    # Keep sockets longer than Orthanc's 1 s KeepAliveTimeout so that the
    # second call finds a pooled connection the server has closed. The pool
    # notices most such sockets; the race it cannot see (the server closes
    # as the request goes out) is the injected reset below.
    transport = RecordingTransport()
    c = of.Orthanc(
        cohort_server.url,
        username=USER,
        password=PASSWORD,
        keepalive_expiry=30,
        transport=transport,
    )
    with c:
        c.get_system()
        time.sleep(1.6)
        c.post_tools_find(json={"Level": "Patient", "Query": {}})
        assert c.get_system()["Version"] == SERVER_VERSION


def test_default_pool_expiry_avoids_stale_connections(cohort_server: Any) -> None:
    with of.Orthanc(cohort_server.url, username=USER, password=PASSWORD) as c:
        c.get_system()
        time.sleep(1.6)
        c.get_system()
        assert c.retry_count == 0


def test_503_is_retried_for_idempotent_requests(cohort_server: Any) -> None:
    transport = FlakyTransport(2, 503)
    with of.Orthanc(cohort_server.url, username=USER, password=PASSWORD, transport=transport) as c:
        assert c.get_system()["Version"] == SERVER_VERSION
    assert len(transport.requests) == 3


def test_503_is_not_retried_for_a_post_that_changes_the_server(cohort_server: Any) -> None:
    transport = FlakyTransport(1, 503)
    with of.Orthanc(cohort_server.url, username=USER, password=PASSWORD, transport=transport) as c:
        with pytest.raises(of.ServerError) as info:
            c.POST("/instances", data=b"not a DICOM file")
    assert info.value.status == 503 and len(transport.requests) == 1


def test_reset_before_the_answer_is_retried_even_for_post(cohort_server: Any) -> None:
    transport = FlakyTransport(1, httpx.RemoteProtocolError)
    with of.Orthanc(cohort_server.url, username=USER, password=PASSWORD, transport=transport) as c:
        assert c.post_tools_find(json={"Level": "Patient", "Query": {}})
    assert len(transport.requests) == 2


def test_retries_give_up_with_a_clear_error(cohort_server: Any) -> None:
    transport = FlakyTransport(10, httpx.RemoteProtocolError)
    with of.Orthanc(
        cohort_server.url, username=USER, password=PASSWORD, transport=transport, retries=2
    ) as c:
        with pytest.raises(of.ConnectionError, match="connection broke"):
            c.get_system()
    assert len(transport.requests) == 3


# -- async ----------------------------------------------------------------------


def test_async_and_sync_give_the_same_answers(client: of.Orthanc, cohort_server: Any) -> None:
    patient = client.get_patients()[0]

    async def read() -> list[Any]:
        async with of.AsyncOrthanc(cohort_server.url, username=USER, password=PASSWORD) as ac:
            caps = await ac.get_capabilities()
            return await asyncio.gather(
                ac.get_patients(),
                ac.get_patients_id(patient),
                ac.post_tools_find(json={"Level": "Study", "Query": {}, "Expand": True}),
                ac.GET("/statistics"),
            ) + [caps]

    patients, one, studies, stats, caps = asyncio.run(read())
    assert patients == client.get_patients()
    assert one == client.get_patients_id(patient)
    assert studies == client.post_tools_find(json={"Level": "Study", "Query": {}, "Expand": True})
    assert stats == client.GET("/statistics")
    assert caps == client.capabilities


def test_async_errors_are_typed(cohort_server: Any, tmp_path: Path) -> None:
    async def run() -> None:
        async with of.AsyncOrthanc(cohort_server.url, username=USER, password=PASSWORD) as ac:
            with pytest.raises(of.NotFound):
                await ac.get_studies_id("nope")
            study = (await ac.get_studies())[0]
            path = await ac.stream(f"/studies/{study}/archive", tmp_path / "s.zip")
            assert path.read_bytes()[:2] == b"PK"

    asyncio.run(run())


# -- secrets ----------------------------------------------------------------------


def test_no_secret_in_repr_errors_or_debug_logs(
    secret_server: Any, open_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    basic = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "orthanc_frames"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    c = of.Orthanc(secret_server.url, username=USER, password=SECRET)
    c.get_system()
    with pytest.raises(of.NotFound) as not_found:
        c.get_patients_id("nope")
    embedded = of.Orthanc(secret_server.url.replace("://", f"://{USER}:{SECRET}@"))
    assert embedded.get_system()["Version"]
    token_client = of.Orthanc(secret_server.url, token=TOKEN)
    with pytest.raises(of.Unauthorized) as unauthorized:
        token_client.get_system()
    texts = [
        repr(c),
        str(c),
        c._repr_html_(),
        repr(embedded),
        embedded.url,
        repr(token_client),
        str(not_found.value),
        repr(not_found.value),
        str(unauthorized.value),
        repr(c._settings),
        repr(c._settings.auth),
        caplog.text,
    ]
    assert any("/patients/nope" in record.getMessage() for record in caplog.records)
    for text in texts:
        for secret in (SECRET, basic, TOKEN):
            assert secret not in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(c)
    c.close()
    embedded.close()
    token_client.close()


def test_bearer_token_is_sent(open_server: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(open_server.url, token=TOKEN, transport=transport) as c:
        assert c.get_system()["Version"]
    assert transport.sent[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_extra_headers_are_sent(open_server: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(open_server.url, headers={"X-Site": "lab"}, transport=transport) as c:
        c.get_system()
    assert transport.sent[0].headers["X-Site"] == "lab"


def test_from_env(monkeypatch: pytest.MonkeyPatch, cohort_server: Any) -> None:
    monkeypatch.setenv("ORTHANC_URL", cohort_server.url)
    monkeypatch.setenv("ORTHANC_USERNAME", USER)
    monkeypatch.setenv("ORTHANC_PASSWORD", PASSWORD)
    monkeypatch.delenv("ORTHANC_TOKEN", raising=False)
    with of.Orthanc.from_env() as c:
        assert c.url == cohort_server.url and c.username == USER
        assert c.get_system()["Version"] == SERVER_VERSION


def test_tls_verification_off_warns() -> None:
    with pytest.warns(of.InsecureTLSWarning, match="verification is off"):
        of.Orthanc("https://127.0.0.1:8443", verify=False)


def test_one_rule_takes_credentials_out_of_messages_and_files(tmp_path: Path) -> None:
    with pytest.raises(of.ConfigurationError) as info:
        of.Orthanc("ftp://alice:s3cret@pacs:8042/o?token=abc")
    assert "'ftp://***@pacs:8042/o'" in str(info.value)
    local = of.Frames.from_folder(tmp_path)
    local.server_url = "http://alice:s3cret@pacs:8042/o?token=abc"
    local.to_parquet(tmp_path / "saved")
    stored = json.loads((tmp_path / "saved" / "frames.json").read_text())
    assert stored["server_url"] == "http://pacs:8042/o"
