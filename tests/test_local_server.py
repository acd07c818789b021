"""LocalOrthanc: real Orthanc processes started, configured, paired and stopped."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from helpers import installed_binary, load_into

from orthanc_frames.local_server import (
    LocalOrthanc,
    OrthancNotInstalled,
    OrthancStartError,
    PostgresCluster,
    find_orthanc_binary,
    stop_all,
)
from orthanc_frames.synthetic import CohortSummary

MakeServer = Callable[..., LocalOrthanc]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_server_answers_with_its_configuration(make_server: MakeServer) -> None:
    server = make_server("CONFIGURED", aet="CONF_AET")
    with server.http() as http:
        system = http.get("/system").json()
    assert system["Name"] == "CONFIGURED"
    assert system["DicomAet"] == "CONF_AET"
    assert (system["HttpPort"], system["DicomPort"]) == (server.http_port, server.dicom_port)
    assert server.url == f"http://127.0.0.1:{server.http_port}"


def test_plugins_are_loaded(cohort_server: LocalOrthanc) -> None:
    with cohort_server.http() as http:
        plugins = set(http.get("/plugins").json())
    assert {"dicom-web", "neuro", "gdcm"} <= plugins


def test_stop_ends_the_process_and_removes_its_temporary_folder(orthanc_bin: str) -> None:
    server = LocalOrthanc(binary=orthanc_bin)
    with server:
        assert server.is_running
        url, workdir = server.url, server.workdir
        assert httpx.get(f"{url}/system", auth=server.auth).status_code == 200
    assert not server.is_running
    assert not workdir.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/system", auth=server.auth)
    server.stop()  # a second stop is harmless


def test_stop_all_signals_every_server(make_server: MakeServer) -> None:
    servers = [make_server("STOP_ALL_1"), make_server("STOP_ALL_2")]
    stop_all(servers)
    assert [server.is_running for server in servers] == [False, False]


def test_authentication_on_refuses_anonymous_requests(cohort_server: LocalOrthanc) -> None:
    assert httpx.get(f"{cohort_server.url}/system").status_code == 401
    wrong = httpx.get(f"{cohort_server.url}/system", auth=("orthanc", "wrong"))
    assert wrong.status_code == 401
    assert httpx.get(f"{cohort_server.url}/system", auth=cohort_server.auth).status_code == 200


def test_authentication_off_needs_no_credentials(make_server: MakeServer) -> None:
    server = make_server("NO_AUTH", auth=False)
    assert server.auth is None and server.username is None
    assert httpx.get(f"{server.url}/system").status_code == 200


def test_repr_shows_the_user_but_never_the_password(make_server: MakeServer) -> None:
    server = make_server("SECRET", username="alice", password="s3cret-Pa55")
    assert httpx.get(f"{server.url}/system", auth=("alice", "s3cret-Pa55")).status_code == 200
    text = repr(server)
    assert "alice" in text and server.url in text
    assert "s3cret-Pa55" not in text and "s3cret-Pa55" not in str(server)


def test_extra_configuration_limits_find_results(
    limited_server: LocalOrthanc, cohort_dir: CohortSummary
) -> None:
    with limited_server.http() as http:
        assert len(http.get("/patients").json()) == cohort_dir.patients
        patients = http.post("/tools/find", json={"Level": "Patient", "Query": {}}).json()
        instances = http.post("/tools/find", json={"Level": "Instance", "Query": {}}).json()
    assert len(patients) == 3
    assert len(instances) == 3
    assert cohort_dir.patients > 3 and cohort_dir.instances > 3


def test_pair_knows_each_other_and_c_echo_works(
    server_pair: tuple[LocalOrthanc, LocalOrthanc],
) -> None:
    a, b = server_pair
    with a.http() as http_a, b.http() as http_b:
        assert http_a.get("/modalities").json() == ["B"]
        assert http_b.get("/modalities").json() == ["A"]
        assert http_a.get("/peers").json() == ["B"]
        assert http_b.get("/peers").json() == ["A"]
        assert http_a.post("/modalities/B/echo", json={}).status_code == 200
        assert http_b.post("/modalities/A/echo", json={}).status_code == 200
        assert http_a.get("/peers/B/system").json()["DicomAet"] == b.aet


def test_c_echo_to_a_modality_nobody_listens_on_fails(
    server_pair: tuple[LocalOrthanc, LocalOrthanc],
) -> None:
    a, _ = server_pair
    silent_port = socket.socket()
    silent_port.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    with silent_port, a.http() as http:
        body = {"AET": "NOBODY", "Host": "127.0.0.1", "Port": silent_port.getsockname()[1]}
        http.put("/modalities/NOBODY", json=body).raise_for_status()
        try:
            assert http.post("/modalities/NOBODY/echo", json={"Timeout": 2}).status_code >= 400
        finally:
            http.delete("/modalities/NOBODY").raise_for_status()


def test_missing_binary_from_environment_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ORTHANC_BIN", str(tmp_path / "no-such-orthanc"))
    with pytest.raises(OrthancNotInstalled) as caught:
        find_orthanc_binary()
    message = str(caught.value)
    assert "no-such-orthanc" in message
    assert "scripts/install-orthanc.sh" in message


def test_missing_binary_given_explicitly_says_what_to_run(tmp_path: Path) -> None:
    not_executable = tmp_path / "orthanc"
    not_executable.write_text("")
    with pytest.raises(OrthancNotInstalled, match=r"scripts/install-orthanc\.sh"):
        LocalOrthanc(tmp_path / "work", binary=str(not_executable))


def test_fixed_port_in_use_fails_with_the_log_tail(
    orthanc_bin: str, taken_port: int, tmp_path: Path
) -> None:
    server = LocalOrthanc(tmp_path, binary=orthanc_bin, http_port=taken_port)
    with pytest.raises(OrthancStartError) as caught:
        server.start()
    message = str(caught.value)
    assert str(taken_port) in message
    assert "already in use" in message
    assert not server.is_running


def test_free_port_lost_to_another_process_is_chosen_again(
    make_server: MakeServer, taken_port: int
) -> None:
    server = make_server("PORT_RACE", start=False)
    server.http_port = taken_port  # as if another process took it after we chose it
    server.start()
    assert server.http_port != taken_port
    assert httpx.get(f"{server.url}/system", auth=server.auth).status_code == 200


def test_load_into_stores_real_files_with_their_character_sets(
    empty_server: LocalOrthanc, pydicom_files: list[Path], tmp_path: Path
) -> None:
    for path in pydicom_files:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    answers = load_into(empty_server, tmp_path)
    assert [answer["Status"] for answer in answers] == ["Success"] * len(pydicom_files)
    with empty_server.http() as http:
        names = {
            http.get(f"/patients/{patient}").json()["MainDicomTags"]["PatientName"]
            for patient in http.get("/patients").json()
        }
    assert "Διονυσιος" in names
    assert "Yamada^Tarou=山田^太郎=やまだ^たろう" in names


def test_load_rejection_names_the_file(empty_server: LocalOrthanc, tmp_path: Path) -> None:
    (tmp_path / "not-dicom.txt").write_text("hello")
    with pytest.raises(httpx.HTTPStatusError, match=r"not-dicom\.txt"):
        load_into(empty_server, tmp_path)


def test_demo_command_prints_capabilities_and_counts(
    orthanc_bin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from orthanc_frames.local_server import main

    monkeypatch.setenv("ORTHANC_BIN", orthanc_bin)
    assert main(["--demo"]) == 0
    out = capsys.readouterr().out
    assert "HasExtendedFind" in out
    assert "neuro" in out
    assert "instances: 80" in out


def test_unknown_kind_is_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        LocalOrthanc(kind="mysql")
    with pytest.raises(ValueError, match="postgres= is for kind='postgres'"):
        LocalOrthanc(kind="sqlite", postgres=PostgresCluster.__new__(PostgresCluster))


@pytest.mark.parametrize("kind", ["postgres", "1.10"])
def test_each_kind_is_the_server_it_says(make_server: MakeServer, kind: str) -> None:
    installed_binary(kind)
    server = make_server(f"KIND_{kind.replace('.', '_').upper()}", kind=kind)
    with server.http() as http:
        system = http.get("/system").json()
        plugins = http.get("/plugins").json()
    assert kind in repr(server)
    if kind == "postgres":
        assert system["Version"] == "1.12.7"
        assert "postgresql-index" in plugins and "dicom-web" in plugins
        assert system["Capabilities"]["HasExtendedFind"] is False
        assert server.config["PostgreSQL"]["Port"] == server.postgres.port  # type: ignore[union-attr]
    else:
        assert system["Version"] == "1.10.1"
        assert [p for p in plugins if "." not in p] == []  # no plugins
        assert "HasLabels" not in system


def test_own_postgres_cluster_is_stopped_and_removed_with_its_server() -> None:
    installed_binary("postgres")
    with LocalOrthanc(kind="postgres", name="OWN_CLUSTER") as server:
        cluster = server.postgres
        assert cluster is not None and cluster.is_running
        folder = cluster.workdir
        assert folder is not None and (folder / "data" / "PG_VERSION").exists()
        with server.http() as http:
            assert http.get("/statistics").json()["CountInstances"] == 0
    assert not cluster.is_running
    assert not folder.exists()
