"""Typed text never reaches another route: the route builder, the name rules, bad arguments.

Hostile names (path traversal, encoded traversal, ``?``, ``#``, a slash,
empty, too long) go through every door a person or a script can use (the
resource objects, the ``df.orthanc`` accessor, the browser's action bar)
against a real server holding a few instances; the server must be left
exactly as it was, and no row may say ``ok``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import PASSWORD, USERNAME, load_into
from transports import RecordingTransport

import orthanc_frames as of
from orthanc_frames.client import route
from orthanc_frames.client.names import (
    check_attachment_name,
    check_label,
    check_metadata_name,
    check_orthanc_id,
)
from orthanc_frames.synthetic import write_cohort

AN_ID = "0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c"
LEVELS = ("patients", "studies", "series", "instances")
CHANGING = ("PUT", "POST", "DELETE")


def hostile_names(patient_id: str) -> list[str]:
    return [
        f"../../../patients/{patient_id}",
        f"..%2F..%2F..%2Fpatients%2F{patient_id}",
        "lbl?x=1",
        "lbl#frag",
        "",
        "a" * 65,
        "a/b",
        "..",
    ]


# -- the rules, without a server -------------------------------------------------------


def test_route_quotes_every_segment() -> None:
    assert route("series", AN_ID, "labels", "cohort-a") == f"/series/{AN_ID}/labels/cohort-a"
    assert route("modalities", "my pacs", "echo") == "/modalities/my%20pacs/echo"
    assert route("queries", "a%b") == "/queries/a%25b"  # read back by the server as typed
    assert route("instances", AN_ID, "content", "0010-0010", 0) == (
        f"/instances/{AN_ID}/content/0010-0010/0"
    )


@pytest.mark.parametrize(
    "segment",
    ["", ".", "..", "a/b", "..%2F..%2Fpatients", "%2e%2e", "a%2fb", "x?y=1", "x#y", "a\\b", "a\nb"],
)
def test_route_refuses_segments_that_could_reach_another_route(segment: str) -> None:
    with pytest.raises(ValueError, match="Refusing the route segment"):
        route("series", AN_ID, "labels", segment)


def test_route_refuses_what_is_not_text() -> None:
    with pytest.raises(TypeError, match="NoneType"):
        route("series", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        route("series", True)


@pytest.mark.parametrize("label", ["a", "cohort-a", "A_1-b", "x" * 64])
def test_labels_orthanc_accepts(label: str) -> None:
    assert check_label(label) == label


@pytest.mark.parametrize("label", ["", "x" * 65, "a b", "a.b", "é", "lbl?x=1", "a/b", "../x"])
def test_labels_orthanc_refuses(label: str) -> None:
    with pytest.raises(ValueError, match=r"not a valid Orthanc label") as raised:
        check_label(label)
    assert repr(label) in str(raised.value)


def test_label_of_another_type() -> None:
    with pytest.raises(TypeError, match=r"label must be a string.*int 3"):
        check_label(3)


@pytest.mark.parametrize("name", ["LastUpdate", "AnonymizedFrom", "1024", "dicom", "my.meta"])
def test_metadata_and_attachment_names(name: str) -> None:
    assert check_metadata_name(name) == name
    assert check_attachment_name(name) == name
    assert check_metadata_name(1025) == "1025"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a?b", "a#b", "a%2Fb", "x" * 65, "a b"])
def test_metadata_and_attachment_names_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid metadata name"):
        check_metadata_name(name)
    with pytest.raises(ValueError, match="not a valid attachment name"):
        check_attachment_name(name, "attachment")


@pytest.mark.parametrize(
    "value", ["../patients", "", AN_ID.upper(), AN_ID[:-1], AN_ID + "0", AN_ID.replace("-", "_")]
)
def test_orthanc_ids(value: str) -> None:
    assert check_orthanc_id(AN_ID) == AN_ID
    with pytest.raises(ValueError, match=r"series must be an Orthanc ID") as raised:
        check_orthanc_id(value, "series")
    assert repr(value) in str(raised.value)


# -- bad arguments of the resource objects: refused before any request ------------------


def test_resource_constructors_check_the_id(cohort_server: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(
        cohort_server.url, username=USERNAME, password=PASSWORD, transport=transport
    ) as c:
        with pytest.raises(ValueError, match=r"Series\(id=\.\.\.\).*'\.\./patients'"):
            of.Series("../patients", c)
        with pytest.raises(ValueError, match=r"Patient\(id=\.\.\.\)"):
            of.Patient(f"{AN_ID}/../..", c)
        with pytest.raises(TypeError, match=r"Study\(id=\.\.\.\).*list"):
            of.Study([AN_ID], c)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"lock_children.*'yes'"):
            of.Instance(AN_ID, c, lock_children="yes")  # type: ignore[arg-type]
    assert transport.requests == []


def test_protected_takes_a_bool(cohort_server: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(
        cohort_server.url, username=USERNAME, password=PASSWORD, transport=transport
    ) as c:
        patient = of.Patient(c.GET("/patients")[0], c)
        transport.clear()
        for value in ("yes", 1, None):
            with pytest.raises(TypeError, match=rf"protected must be True or False.*{value!r}"):
                patient.protected = value  # type: ignore[assignment]
    assert transport.requests == []


# -- hostile names against a real server ---------------------------------------------------


@pytest.fixture
def stored(empty_server: Any, tmp_path: Path) -> Any:
    write_cohort(tmp_path / "cohort", patients=2, studies=1, series=2, instances=2)
    load_into(empty_server, tmp_path / "cohort")
    return empty_server


def _state(client: of.Orthanc) -> dict[str, Any]:
    """Everything a stray request could change: counts, labels, metadata, attachments."""
    state: dict[str, Any] = {"statistics": client.GET("/statistics")}
    state["statistics"].pop("TotalDiskSize", None)
    state["statistics"].pop("TotalDiskSizeMB", None)
    for level in LEVELS:
        state[level] = {
            item["ID"]: sorted(item.get("Labels", []))
            for item in client.GET(route(level), params={"expand": ""})
        }
    series = sorted(state["series"])[0]
    state["metadata"] = client.GET(route("series", series, "metadata"), params={"expand": ""})
    state["attachments"] = client.GET(route("series", series, "attachments"))
    return state


def _label_everything(client: of.Orthanc, label: str) -> None:
    for level in LEVELS:
        for identifier in client.GET(route(level)):
            client.PUT(route(level, identifier, "labels", label))


@pytest.mark.needs("labels")
def test_hostile_names_through_the_resource_objects(stored: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(stored.url, username=USERNAME, password=PASSWORD, transport=transport) as c:
        _label_everything(c, "kept")
        patient_id = c.GET("/patients")[0]
        series = of.Series(c.GET("/series")[0], c)
        before = _state(c)
        transport.clear()
        calls = {
            "add_label": lambda name: series.add_label(name),
            "remove_label": lambda name: series.remove_label(name),
            "set_metadata": lambda name: series.set_metadata(name, "x"),
            "get_metadata": lambda name: series.get_metadata(name),
            "delete_metadata": lambda name: series.delete_metadata(name),
            "put_attachment": lambda name: series.put_attachment(name, b"x"),
            "get_attachment": lambda name: series.get_attachment(name),
            "delete_attachment": lambda name: series.delete_attachment(name),
        }
        for name in hostile_names(patient_id):
            for method, call in calls.items():
                with pytest.raises(ValueError) as raised:
                    call(name)
                assert repr(name) in str(raised.value), (method, name)
        assert transport.requests == []  # refused before anything was sent
        assert _state(c) == before


@pytest.mark.needs("labels")
def test_hostile_labels_through_the_accessor(stored: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(stored.url, username=USERNAME, password=PASSWORD, transport=transport) as c:
        _label_everything(c, "kept")
        frames = c.frames()
        before = _state(c)
        patient_id = str(frames.patients.index[0])
        transport.clear()
        for name in hostile_names(patient_id):
            for frame in (frames.patients, frames.series, frames.instances):
                for result in (
                    frame.orthanc.add_label(name, progress=False),
                    frame.orthanc.remove_label(name, progress=False),
                ):
                    assert len(result) == len(frame)
                    assert (result["status"] == "failed").all(), name
                    assert result["error"].str.contains("not a valid Orthanc label").all()
        assert [r for r in transport.requests if r[0] in CHANGING] == []
        assert _state(c) == before


@pytest.mark.needs("labels")
def test_hostile_labels_through_the_action_bar(stored: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(stored.url, username=USERNAME, password=PASSWORD, transport=transport) as c:
        _label_everything(c, "kept")
        browser = of.browse(c.frames())
        before = _state(c)
        patient_id = browser.patients_table.page_ids[0]
        bar = browser.actions
        browser.series_table.set_picked(list(browser.series_table.page_ids))
        transport.clear()
        for name in hostile_names(patient_id):
            for action in ("add_label", "remove_label"):
                bar.action.value = action
                bar.argument.value = name
                bar.run_button.click()
                assert not bar.running
                if name == "":
                    assert bar.result is None and "Type a label" in bar.status.value
                    continue
                assert bar.result is not None and len(bar.result) > 0
                assert (bar.result["status"] == "failed").all(), name
                assert "refused before anything was sent" in bar.status.value
                assert "not a valid Orthanc label" in bar.result_view.value
                bar.result = None
        assert [r for r in transport.requests if r[0] in CHANGING] == []
        assert _state(c) == before


def test_every_route_sent_is_guarded_against_dot_segments(stored: Any) -> None:
    # Orthanc decodes %2F before resolving '..': quoting alone would not stop
    # this one, so the core refuses it for raw verbs and generated methods too.
    transport = RecordingTransport()
    with of.Orthanc(stored.url, username=USERNAME, password=PASSWORD, transport=transport) as c:
        first, second = c.GET("/patients")
        hostile = f"../../../patients/{second}"
        transport.clear()
        with pytest.raises(ValueError, match=r"'\.' or '\.\.' segment"):
            c.delete_patients_id_labels_label(first, hostile)
        with pytest.raises(ValueError, match=r"'\.' or '\.\.' segment"):
            c.DELETE(f"/patients/{first}/labels/..%2F..%2F..%2Fpatients%2F{second}")
        with pytest.raises(ValueError, match=r"'\.' or '\.\.' segment"):
            c.DELETE(f"/patients/{first}/labels/../../../patients/{second}")
        assert transport.requests == []
        assert sorted(c.GET("/patients")) == sorted([first, second])


def test_resource_method_arguments_are_checked_first(cohort_server: Any) -> None:
    transport = RecordingTransport()
    with of.Orthanc(
        cohort_server.url, username=USERNAME, password=PASSWORD, transport=transport
    ) as c:
        series = of.Series(c.GET("/series")[0], c)
        instance = of.Instance(c.GET("/instances")[0], c)
        transport.clear()
        with pytest.raises(TypeError, match=r"simplify must be True or False.*'yes'"):
            series.get_module(simplify="yes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"short must be True or False"):
            series.get_shared_tags(short=1)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"tag must be .* int"):
            instance.get_content_by_tag(0x00100010)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"data must be bytes or str"):
            series.put_attachment("1025", 3.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"label must be a string.*NoneType"):
            series.add_label(None)  # type: ignore[arg-type]
        assert transport.requests == []
