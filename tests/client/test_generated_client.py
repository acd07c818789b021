"""The generated REST methods: one per operation of the shipped OpenAPI spec.

These tests need no server: they check the generated code itself against the
spec (names, signatures, docstrings, routes) and that the checked-in module is
what the generator produces today.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import keyword
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from orthanc_frames.client.generated import (
    OPERATIONS,
    AsyncOrthancRestMethods,
    OrthancRestMethods,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATOR = REPO_ROOT / "scripts" / "generate_client.py"
SPEC: dict[str, Any] = json.loads(
    resources.files("orthanc_frames").joinpath("client/orthanc-openapi.json").read_text("utf-8")
)
VERBS = ("get", "post", "put", "delete")
FIELD = re.compile(r"\{([^}]*)\}")


def expected_name(verb: str, route: str) -> str:
    """The naming rule, written independently of the generator."""
    stem = route.lstrip("/").replace("{", "").replace("}", "")
    for separator in ("/", "-", "."):
        stem = stem.replace(separator, "_")
    return f"{verb}_{stem}"


SPEC_OPERATIONS = [
    (verb.upper(), route, expected_name(verb, route), SPEC["paths"][route][verb])
    for route in SPEC["paths"]
    for verb in VERBS
    if verb in SPEC["paths"][route]
]
OPERATION_IDS = [f"{verb} {route}" for verb, route, _, _ in SPEC_OPERATIONS]


class RecordingRestMethods(OrthancRestMethods):
    """The sync mixin with a ``_request`` that records instead of sending."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def _request(self, method: str, route: str, **keywords: Any) -> Any:
        self.calls.append((method, route, keywords))
        return "answer"


class AsyncRecordingRestMethods(AsyncOrthancRestMethods):
    """The async mixin with a ``_request`` that records instead of sending."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def _request(self, method: str, route: str, **keywords: Any) -> Any:
        self.calls.append((method, route, keywords))
        return "answer"


def sample_arguments(route: str) -> tuple[list[Any], str]:
    """Simple path arguments for ``route`` and the route they must produce."""
    values: list[Any] = [f"value{index}" for index, _ in enumerate(FIELD.findall(route))]
    expected_route = route
    for value in values:
        expected_route = FIELD.sub(str(value), expected_route, count=1)
    return values, expected_route


def test_the_spec_has_the_expected_number_of_operations() -> None:
    assert len(SPEC_OPERATIONS) == 299


def test_operations_table_lists_every_spec_operation_once() -> None:
    expected = {(verb, route, name) for verb, route, name, _ in SPEC_OPERATIONS}
    assert len(OPERATIONS) == len(expected)
    assert set(OPERATIONS) == expected


def test_method_names_are_unique_identifiers() -> None:
    names = [name for _, _, name, _ in SPEC_OPERATIONS]
    assert len(set(names)) == len(names)
    assert all(name.isidentifier() and not keyword.iskeyword(name) for name in names)


def test_documented_examples_of_the_naming_rule() -> None:
    assert expected_name("get", "/instances/{id}/attachments/{name}/md5") == (
        "get_instances_id_attachments_name_md5"
    )
    assert OrthancRestMethods.get_instances_id_attachments_name_md5
    assert OrthancRestMethods.post_tools_find
    assert OrthancRestMethods.get_system
    assert OrthancRestMethods.get_instances_id_frames_frame_raw_gz
    assert OrthancRestMethods.get_plugins_explorer_js


def r_positional(verb: str, name: str, spec: dict) -> list[str]:
    """The optional arguments the R package takes by position (its generator's rule)."""
    if name == "put_patients_id_protected":  # R's one exception: json, undocumented in the spec
        return ["json"]
    parameters = spec.get("parameters", [])
    content = list(spec.get("requestBody", {}).get("content", {}))
    raw = [m for m in content if not m.endswith("json")]
    arguments = [p["name"] for p in parameters if p["in"] == "query" and p.get("required")]
    if any(p["in"] == "query" and not p.get("required") for p in parameters):
        arguments.append("params")
    if any(p["in"] == "header" for p in parameters):
        arguments.append("headers")
    if verb in ("POST", "PUT"):
        if any(m.endswith("json") for m in content):
            arguments.append("json")
        if raw:
            dicom = all(m in ("application/dicom", "application/zip") for m in raw)
            arguments.append("file" if dicom else "data")
    return arguments


@pytest.mark.parametrize(("verb", "route", "name", "spec"), SPEC_OPERATIONS, ids=OPERATION_IDS)
def test_signature_follows_the_spec_in_the_r_order(
    verb: str, route: str, name: str, spec: dict
) -> None:
    signature = inspect.signature(getattr(OrthancRestMethods, name))
    parameters = list(signature.parameters.values())[1:]  # drop self
    positional = [p for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    keyword_only = [p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    fields = FIELD.findall(route)
    optional = r_positional(verb, name, spec)

    assert [p.name for p in positional] == fields + optional
    assert all(p.default is inspect.Parameter.empty for p in positional[: len(fields)])
    assert all(p.default is None for p in positional[len(fields) :])
    every = {"params", "headers"}
    if verb in ("POST", "PUT"):
        every |= {"json", "data"}
    if "file" in optional:
        every.add("file")
    assert {p.name for p in keyword_only} == every - set(optional)
    assert all(p.default is None for p in keyword_only)
    assert len(positional) + len(keyword_only) == len(parameters)
    if "requestBody" in spec:
        assert "json" in signature.parameters
        assert "data" in signature.parameters


def test_r_forms_of_query_arguments_and_files(tmp_path: Path) -> None:
    client = RecordingRestMethods()
    dicom = tmp_path / "a.dcm"
    dicom.write_bytes(b"DICM bytes")
    client.get_tools_create_archive(["id1", "id2"])
    client.get_tools_create_media("id1", {"filename": "x.zip"})
    client.get_tools_generate_uid("study")
    client.post_instances(str(dicom))
    client.post_modalities_id_store_straight("B", dicom)
    assert client.calls == [
        ("GET", "/tools/create-archive", {"params": {"resources": "id1,id2"}, "headers": None}),
        (
            "GET",
            "/tools/create-media",
            {"params": {"filename": "x.zip", "resources": "id1"}, "headers": None},
        ),
        ("GET", "/tools/generate-uid", {"params": {"level": "study"}, "headers": None}),
        (
            "POST",
            "/instances",
            {"params": None, "json": None, "data": b"DICM bytes", "headers": None},
        ),
        (
            "POST",
            "/modalities/B/store-straight",
            {"params": None, "json": None, "data": b"DICM bytes", "headers": None},
        ),
    ]
    with pytest.raises(TypeError, match="not both"):
        client.post_instances(dicom, data=b"x")
    with pytest.raises(ValueError, match="names no file"):
        client.post_instances(tmp_path / "missing.dcm")


@pytest.mark.parametrize(("verb", "route", "name", "spec"), SPEC_OPERATIONS, ids=OPERATION_IDS)
def test_async_variant_is_a_coroutine_with_the_same_signature(
    verb: str, route: str, name: str, spec: dict
) -> None:
    sync_method = getattr(OrthancRestMethods, name)
    async_method = getattr(AsyncOrthancRestMethods, name)
    assert not inspect.iscoroutinefunction(sync_method)
    assert inspect.iscoroutinefunction(async_method)
    assert inspect.signature(async_method) == inspect.signature(sync_method)


@pytest.mark.parametrize(("verb", "route", "name", "spec"), SPEC_OPERATIONS, ids=OPERATION_IDS)
def test_docstring_documents_route_parameters_and_answer(
    verb: str, route: str, name: str, spec: dict
) -> None:
    for mixin in (OrthancRestMethods, AsyncOrthancRestMethods):
        doc = inspect.getdoc(getattr(mixin, name))
        assert doc is not None
        assert f"{verb} {route}" in doc
        assert doc.splitlines()[0].rstrip(".") == spec["summary"].rstrip(".")
        assert "\nParameters\n----------\n" in doc
        for field in FIELD.findall(route):
            assert f"\n{field} : " in doc
        for query_parameter in (p for p in spec["parameters"] if p["in"] == "query"):
            assert f"``{query_parameter['name']}``" in doc

        returns = doc.split("\nReturns\n-------\n", 1)[1]
        media_types = list(spec["responses"]["200"].get("content", {}))
        kinds = {
            "Any" if m.endswith("json") else "str" if m.startswith("text/") else "bytes"
            for m in media_types
        } or {"Any"}
        assert set(returns.splitlines()[0].split(" or ")) == kinds


@pytest.mark.parametrize(("verb", "route", "name", "spec"), SPEC_OPERATIONS, ids=OPERATION_IDS)
def test_every_method_sends_its_verb_and_route(
    verb: str, route: str, name: str, spec: dict
) -> None:
    arguments, expected_route = sample_arguments(route)
    body = {"json": {"Key": "value"}, "data": b"raw"} if verb in ("POST", "PUT") else {}

    client = RecordingRestMethods()
    answer = getattr(client, name)(*arguments, params={"q": "1"}, headers={"X-H": "h"}, **body)
    async_client = AsyncRecordingRestMethods()
    async_answer = asyncio.run(
        getattr(async_client, name)(*arguments, params={"q": "1"}, headers={"X-H": "h"}, **body)
    )

    expected_keywords = {"params": {"q": "1"}, "headers": {"X-H": "h"}, **body}
    assert client.calls == [(verb, expected_route, expected_keywords)]
    assert async_client.calls == client.calls
    assert answer == async_answer == "answer"


def test_path_parameters_are_quoted_as_one_segment() -> None:
    client = RecordingRestMethods()
    client.get_instances_id_attachments_name_md5("a/b c", "x?y#z%")
    client.put_instances_id_labels_label("id", "my label/1")
    assert [route for _, route, _ in client.calls] == [
        "/instances/a%2Fb%20c/attachments/x%3Fy%23z%25/md5",
        "/instances/id/labels/my%20label%2F1",
    ]


def test_path_valued_parameter_keeps_its_slashes() -> None:
    client = RecordingRestMethods()
    client.get_instances_id_content_path("a/b", "0008-1140/1/0008 1150")
    assert client.calls[0][1] == "/instances/a%2Fb/content/0008-1140/1/0008%201150"


def test_async_methods_quote_path_parameters_too() -> None:
    client = AsyncRecordingRestMethods()
    asyncio.run(client.get_instances_id_frames_frame_raw_gz("a b", 3))
    assert client.calls[0][1] == "/instances/a%20b/frames/3/raw.gz"


def test_unimplemented_request_says_so() -> None:
    with pytest.raises(NotImplementedError):
        OrthancRestMethods().get_system()


def run_generator(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )


def test_checked_in_module_is_up_to_date() -> None:
    result = run_generator("--check")
    assert result.returncode == 0, result.stderr


def test_check_fails_on_a_stale_module(tmp_path: Path) -> None:
    stale = tmp_path / "generated.py"
    checked_in = (REPO_ROOT / "orthanc_frames" / "client" / "generated.py").read_text("utf-8")
    stale.write_text(checked_in.replace("Get MD5 of attachment.", "Old summary.", 1), "utf-8")

    result = run_generator("--check", "--output", stale)

    assert result.returncode == 1
    assert "stale" in result.stderr
    assert "Old summary." in result.stderr


def write_spec(directory: Path, paths: dict[str, Any]) -> Path:
    spec_path = directory / "spec.json"
    spec_path.write_text(json.dumps({"info": {"version": "test"}, "paths": paths}), "utf-8")
    return spec_path


def path_parameter(name: str) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}


def test_generator_refuses_colliding_method_names(tmp_path: Path) -> None:
    operation = {"summary": "Something", "parameters": [], "responses": {}}
    spec_path = write_spec(tmp_path, {"/a-b": {"get": operation}, "/a_b": {"get": operation}})

    result = run_generator("--spec", spec_path, "--output", tmp_path / "out.py")

    assert result.returncode == 2
    assert "GET /a-b" in result.stderr
    assert "GET /a_b" in result.stderr
    assert not (tmp_path / "out.py").exists()


def test_generator_makes_odd_spec_names_valid_python(tmp_path: Path) -> None:
    operation = {
        "summary": "Odd names",
        "description": 'A "quoted" \\ backslash and """ triple quotes',
        "parameters": [path_parameter("class"), path_parameter("json"), path_parameter("a-b")],
        "responses": {"200": {"content": {"text/plain": {"schema": {"description": "x"}}}}},
    }
    spec_path = write_spec(
        tmp_path,
        {
            "/": {"get": {"summary": "Root", "parameters": [], "responses": {}}},
            "/x/{class}/{json}/{a-b}.txt": {"put": operation},
        },
    )
    output = tmp_path / "odd_generated.py"

    result = run_generator("--spec", spec_path, "--output", output)
    assert result.returncode == 0, result.stderr
    # Loaded inside the client package: generated code imports the client core.
    module_spec = importlib.util.spec_from_file_location(
        "orthanc_frames.client._odd_generated", output
    )
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)

    class Recorder(module.OrthancRestMethods):
        def _request(self, method: str, route: str, **keywords: Any) -> Any:
            return method, route, keywords

    method = module.OrthancRestMethods.put_x_class_json_a_b_txt
    assert list(inspect.signature(method).parameters)[1:4] == ["class_", "json_", "a_b"]
    assert 'A "quoted" \\ backslash and """ triple quotes' in inspect.getdoc(method)
    assert Recorder().put_x_class_json_a_b_txt("1", "2", "3", json=[1]) == (
        "PUT",
        "/x/1/2/3.txt",
        {"params": None, "json": [1], "data": None, "headers": None},
    )
    assert Recorder().get_root() == ("GET", "/", {"params": None, "headers": None})
