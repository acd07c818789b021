"""Generate ``orthanc_frames/client/generated.py`` from Orthanc's OpenAPI spec.

The spec shipped in the package (``orthanc_frames/client/orthanc-openapi.json``)
becomes two mixin classes with one method per operation:
``OrthancRestMethods`` (plain methods) and ``AsyncOrthancRestMethods``
(coroutines). Both call ``self._request(...)``, which the client classes
provide.

Usage::

    python scripts/generate_client.py           # rewrite generated.py
    python scripts/generate_client.py --check   # exit 1 if generated.py is stale

Naming follows the R package ``orthanc`` and pyorthanc: ``{verb}_{path}``
with ``{id}`` -> ``id``, and ``/``, ``-`` and ``.`` -> ``_``, the leading
slash dropped (``GET /instances/{id}/frames/{frame}/raw.gz`` ->
``get_instances_id_frames_frame_raw_gz``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import keyword
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "orthanc_frames" / "client" / "orthanc-openapi.json"
OUTPUT_PATH = REPO_ROOT / "orthanc_frames" / "client" / "generated.py"

HTTP_VERBS = ("get", "post", "put", "delete")
BODY_VERBS = frozenset({"post", "put"})
# Arguments every generated method may take; a path parameter with one of
# these names gets a trailing underscore instead.
RESERVED_ARGUMENTS = frozenset({"self", "params", "json", "data", "headers", "file"})
# Raw bodies that are DICOM files: such routes also take ``file=`` (a path
# whose bytes are sent), as in the R package.
FILE_MEDIA = frozenset({"application/dicom", "application/zip"})
# The R package's generated signature differs from the spec-derived rule
# (see ``r_positional_arguments``) for these operations only.
R_POSITIONAL_OVERRIDES: dict[str, tuple[str, ...]] = {
    # The spec documents no body; R sends the flag as its ``json`` argument.
    "put_patients_id_protected": ("json",),
}
# Path parameters whose value is itself a slash-separated path
# (``/instances/{id}/content/{path}``): their '/' must reach the server as is.
SUBPATH_PARAMETERS = frozenset({"path"})

DOC_WIDTH = 88
EXAMPLE_MAX_LINES = 12
EXAMPLE_MAX_LINE_CHARS = 80
TEMPLATE_FIELD = re.compile(r"\{([^}]*)\}")

SCHEMA_TYPE_NAMES = {
    "string": "str",
    "boolean": "bool",
    "number": "number",
    "integer": "int",
    "object": "dict",
    "array": "list",
}


class SpecError(ValueError):
    """The spec holds something the generator cannot turn into a method."""


@dataclass(frozen=True)
class PathParameter:
    """One ``{name}`` field of a route, as a Python argument."""

    spec_name: str
    argument: str
    annotation: str
    description: str
    keeps_slashes: bool


@dataclass(frozen=True)
class QueryArgument:
    """A required query parameter of a route, taken as its own argument (as in R)."""

    spec_name: str
    argument: str
    description: str
    comma_list: bool


@dataclass(frozen=True)
class Operation:
    """One (verb, route) pair of the spec with everything a method needs."""

    verb: str
    route: str
    method_name: str
    spec: dict[str, Any]
    path_parameters: tuple[PathParameter, ...]

    @property
    def takes_body(self) -> bool:
        return self.verb in BODY_VERBS

    @property
    def _content(self) -> dict[str, Any]:
        content: dict[str, Any] = self.spec.get("requestBody", {}).get("content", {})
        return content

    @property
    def takes_file(self) -> bool:
        """Whether the raw body is a DICOM file or ZIP (then ``file=`` is accepted)."""
        raw = [m for m in self._content if not _is_json_media(m)]
        return bool(raw) and all(m in FILE_MEDIA for m in raw)

    @property
    def query_arguments(self) -> tuple[QueryArgument, ...]:
        """The required query parameters, each its own argument after the path ones."""
        taken = {p.argument for p in self.path_parameters}
        arguments = []
        for parameter in _parameters_of(self.spec, "query"):
            if not parameter.get("required"):
                continue
            argument = python_argument(parameter["name"])
            if argument in taken:
                raise SpecError(f"{self.verb.upper()} {self.route}: {argument!r} is taken twice.")
            description = parameter.get("description", "")
            arguments.append(
                QueryArgument(
                    spec_name=parameter["name"],
                    argument=argument,
                    description=description,
                    comma_list="comma separated list" in description.lower(),
                )
            )
        return tuple(arguments)

    def r_positional_arguments(self) -> tuple[str, ...]:
        """The optional arguments the R package takes by position, in its order.

        Derived from the spec as the R package's generator does: ``params``
        when the route has optional query parameters, ``headers`` when it
        documents headers, ``json`` for a JSON body, ``file`` for a DICOM
        body and ``data`` for another raw body.
        """
        if self.method_name in R_POSITIONAL_OVERRIDES:
            return R_POSITIONAL_OVERRIDES[self.method_name]
        arguments: list[str] = []
        if any(not p.get("required") for p in _parameters_of(self.spec, "query")):
            arguments.append("params")
        if _parameters_of(self.spec, "header"):
            arguments.append("headers")
        if self.takes_body:
            if any(_is_json_media(m) for m in self._content):
                arguments.append("json")
            if self.takes_file:
                arguments.append("file")
            elif any(not _is_json_media(m) for m in self._content):
                arguments.append("data")
        return tuple(arguments)

    def optional_arguments(self) -> tuple[str, ...]:
        """Every optional argument: R's positional ones first, then the keyword-only ones."""
        every = ["params"]
        if self.takes_body:
            every += ["json", "data"]
            if self.takes_file:
                every.append("file")
        every.append("headers")
        positional = self.r_positional_arguments()
        return positional + tuple(name for name in every if name not in positional)


# --------------------------------------------------------------------------- naming


def method_name(verb: str, route: str) -> str:
    """Return the method name of ``verb route``, e.g. ``get_instances_id``.

    Braces are dropped, '/', '-', '.' and any other character that cannot
    appear in an identifier become '_'. The root route ``/`` is ``{verb}_root``.
    """
    stem = TEMPLATE_FIELD.sub(r"\1", route).strip("/")
    stem = re.sub(r"[^0-9A-Za-z_]", "_", stem)
    if not stem:
        stem = "root"
    return f"{verb.lower()}_{stem}"


def python_argument(spec_name: str) -> str:
    """Return a valid, non-reserved Python argument name for a path field."""
    argument = re.sub(r"[^0-9A-Za-z_]", "_", spec_name)
    if not argument or argument[0].isdigit():
        argument = f"_{argument}"
    if keyword.iskeyword(argument) or argument in RESERVED_ARGUMENTS:
        argument = f"{argument}_"
    return argument


def _path_parameters(verb: str, route: str, operation: dict[str, Any]) -> tuple[PathParameter, ...]:
    declared = {
        parameter["name"]: parameter
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "path"
    }
    fields = TEMPLATE_FIELD.findall(route)
    if sorted(declared) != sorted(fields):
        raise SpecError(
            f"{verb.upper()} {route}: route fields {fields} differ from the declared path "
            f"parameters {sorted(declared)}; fix the spec or teach the generator."
        )
    parameters = []
    for field in fields:  # route order: the order a reader sees in the URL
        schema_type = declared[field].get("schema", {}).get("type", "string")
        parameters.append(
            PathParameter(
                spec_name=field,
                argument=python_argument(field),
                annotation="int" if schema_type in ("number", "integer") else "str",
                description=declared[field].get("description", ""),
                keeps_slashes=field in SUBPATH_PARAMETERS,
            )
        )
    arguments = [parameter.argument for parameter in parameters]
    if len(set(arguments)) != len(arguments):
        raise SpecError(f"{verb.upper()} {route}: path fields map to duplicate names {arguments}.")
    return tuple(parameters)


def collect_operations(spec: dict[str, Any]) -> list[Operation]:
    """Return every operation of ``spec``, sorted by route then verb.

    Raises
    ------
    SpecError
        When two operations would get the same method name, or a route's
        fields do not match its declared path parameters.
    """
    operations: list[Operation] = []
    owner_of_name: dict[str, str] = {}
    for route in sorted(spec["paths"]):
        for verb in HTTP_VERBS:
            operation = spec["paths"][route].get(verb)
            if operation is None:
                continue
            name = method_name(verb, route)
            if name in owner_of_name:
                raise SpecError(
                    f"{verb.upper()} {route} and {owner_of_name[name]} both map to "
                    f"method name {name!r}; add a rule to method_name()."
                )
            owner_of_name[name] = f"{verb.upper()} {route}"
            operations.append(
                Operation(
                    verb=verb,
                    route=route,
                    method_name=name,
                    spec=operation,
                    path_parameters=_path_parameters(verb, route, operation),
                )
            )
    return operations


# --------------------------------------------------------------------------- docstrings


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if text and text[-1] not in ".!?:":
        text += "."
    return text


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        " ".join(text.split()),
        width=DOC_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _bullet(label: str, text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        f"- {label}: {' '.join(text.split())}" if text else f"- {label}",
        width=DOC_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _schema_type(schema: dict[str, Any]) -> str:
    type_name = SCHEMA_TYPE_NAMES.get(schema.get("type", ""), "")
    if type_name == "list" and "items" in schema:
        item = SCHEMA_TYPE_NAMES.get(schema["items"].get("type", ""), "")
        return f"list of {item}" if item else "list"
    return type_name


def _example_lines(example: Any, indent: str) -> list[str]:
    rendered = json.dumps(example, indent=2, ensure_ascii=False, sort_keys=False).splitlines()
    lines = [
        line if len(line) <= EXAMPLE_MAX_LINE_CHARS else line[: EXAMPLE_MAX_LINE_CHARS - 3] + "..."
        for line in rendered[:EXAMPLE_MAX_LINES]
    ]
    if len(rendered) > EXAMPLE_MAX_LINES:
        lines.append("...")
    return [indent + line for line in lines]


def _is_json_media(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _answer_kind(media_type: str) -> str:
    if _is_json_media(media_type):
        return "parsed JSON"
    if media_type.startswith("text/"):
        return "str"
    return "bytes"


def _parameters_of(operation: dict[str, Any], location: str) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p.get("in") == location]


def _documented_parameters(parameters: Iterable[dict[str, Any]], indent: str) -> list[str]:
    lines: list[str] = []
    for parameter in sorted(parameters, key=lambda p: p["name"]):
        type_name = _schema_type(parameter.get("schema", {}))
        label = f"``{parameter['name']}``" + (f" ({type_name})" if type_name else "")
        if parameter.get("required"):
            label += " (required)"
        lines += _bullet(label, _sentence(parameter.get("description", "")), indent)
    return lines


def _body_lines(operation: Operation) -> tuple[list[str], list[str]]:
    """Return the docstring lines of the ``json`` and ``data`` arguments."""
    indent = " " * 4
    content: dict[str, Any] = operation.spec.get("requestBody", {}).get("content", {})
    json_lines = ["json : Any, optional"]
    data_lines = ["data : bytes, optional"]
    json_media = {m: c for m, c in content.items() if _is_json_media(m)}
    raw_media = {m: c for m, c in content.items() if not _is_json_media(m)}

    if json_media:
        json_lines += _wrap("JSON request body (sent as ``application/json``).", indent)
        for media in json_media.values():
            schema = media.get("schema", {})
            if schema.get("description"):
                json_lines += _wrap(_sentence(schema["description"]), indent)
            properties = schema.get("properties", {})
            if properties:
                json_lines += ["", indent + "Fields:", ""]
                for field, field_schema in sorted(properties.items()):
                    type_name = _schema_type(field_schema)
                    label = f"``{field}``" + (f" ({type_name})" if type_name else "")
                    json_lines += _bullet(
                        label, _sentence(field_schema.get("description", "")), indent
                    )
    else:
        json_lines += _wrap(
            "JSON request body. The spec documents no JSON body for this route.", indent
        )

    if raw_media:
        data_lines += _wrap("Raw request body, one of:", indent)
        data_lines.append("")
        for media_type, media in raw_media.items():
            description = media.get("schema", {}).get("description", "")
            data_lines += _bullet(f"``{media_type}``", _sentence(description), indent)
    elif not content:
        data_lines += _wrap(
            "Raw request body. The spec documents no request body for this route; "
            "send one only where the description above asks for a payload.",
            indent,
        )
    else:
        data_lines += _wrap("Raw request body. The spec documents a JSON body only.", indent)
    return json_lines, data_lines


def _returns_lines(operation: dict[str, Any]) -> list[str]:
    indent = " " * 4
    answer = operation.get("responses", {}).get("200", {})
    content: dict[str, Any] = answer.get("content", {})
    if not content:
        return [
            "Any",
            *_wrap(
                "The server's answer, parsed as JSON when it is JSON (the spec "
                "documents no content; it is often empty).",
                indent,
            ),
        ]
    kinds = list(dict.fromkeys(_answer_kind(media_type) for media_type in content))
    type_line = " or ".join("Any" if kind == "parsed JSON" else kind for kind in kinds)
    lines = [type_line]
    for media_type, media in content.items():
        schema = media.get("schema", {})
        description = _sentence(schema.get("description", ""))
        lines += _bullet(f"``{media_type}`` ({_answer_kind(media_type)})", description, indent)
    examples = [
        media["schema"]["example"]
        for media in content.values()
        if "example" in media.get("schema", {})
    ]
    if examples:
        lines += ["", indent + "Example::", ""]
        lines += _example_lines(examples[0], indent * 2)
    return lines


def docstring_lines(operation: Operation) -> list[str]:
    """Return the numpydoc docstring of ``operation``, one string per line."""
    spec = operation.spec
    summary = _sentence(spec.get("summary", "")) or f"{operation.verb.upper()} {operation.route}."
    lines = [summary, ""]
    description = spec.get("description", "")
    if description and " ".join(description.split()) != " ".join(spec.get("summary", "").split()):
        lines += [*_wrap(_sentence(description), ""), ""]
    if spec.get("deprecated"):
        lines += ["Orthanc marks this route as deprecated.", ""]
    tags = ", ".join(spec.get("tags", []))
    lines += [
        f"``{operation.verb.upper()} {operation.route}``" + (f" ({tags})" if tags else ""),
        "",
    ]

    indent = " " * 4
    lines += ["Parameters", "----------"]
    for parameter in operation.path_parameters:
        lines.append(f"{parameter.argument} : {parameter.annotation}")
        text = _sentence(parameter.description) or f"Value of ``{{{parameter.spec_name}}}``."
        if parameter.keeps_slashes:
            text += " Its '/' separators are kept; other characters are URL-quoted."
        lines += _wrap(text, indent)

    for argument in operation.query_arguments:
        type_name = "str or list of str" if argument.comma_list else "str"
        lines.append(f"{argument.argument} : {type_name}, optional")
        text = _sentence(argument.description) or f"Value of ``{argument.spec_name}``."
        text += f" Sent as the query parameter ``{argument.spec_name}``"
        text += " (a list is joined by commas)." if argument.comma_list else "."
        lines += _wrap(text, indent)

    json_lines, data_lines = _body_lines(operation) if operation.takes_body else ([], [])
    for name in operation.optional_arguments():
        if name == "params":
            lines.append("params : Mapping[str, Any], optional")
            query = [p for p in _parameters_of(spec, "query") if not p.get("required")]
            if query:
                lines += [*_wrap("Query parameters. Documented ones:", indent), ""]
                lines += _documented_parameters(query, indent)
            else:
                lines += _wrap("Query parameters. The spec documents none for this route.", indent)
        elif name == "json":
            lines += json_lines
        elif name == "data":
            lines += data_lines
        elif name == "file":
            lines.append("file : str or os.PathLike, optional")
            lines += _wrap(
                "Path of a file whose bytes are the raw body (as the R package's "
                "``file``), instead of ``data``.",
                indent,
            )
        elif name == "headers":
            lines.append("headers : Mapping[str, str], optional")
            header_parameters = _parameters_of(spec, "header")
            if header_parameters:
                lines += [*_wrap("Extra HTTP headers. Documented ones:", indent), ""]
                lines += _documented_parameters(header_parameters, indent)
            else:
                lines += _wrap("Extra HTTP headers for this request.", indent)

    lines += ["", "Returns", "-------", *_returns_lines(spec)]
    return [line.rstrip() for line in lines]


def _docstring_source(lines: Sequence[str], indent: str) -> str:
    escaped = [line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') for line in lines]
    body = "\n".join(indent + line if line else "" for line in escaped[1:])
    return f'{indent}"""{escaped[0]}\n{body}\n{indent}"""\n'


# --------------------------------------------------------------------------- code


def _route_expression(operation: Operation) -> str:
    if not operation.path_parameters:
        return json.dumps(operation.route)
    by_field = {parameter.spec_name: parameter for parameter in operation.path_parameters}

    def replace(match: re.Match[str]) -> str:
        parameter = by_field[match.group(1)]
        quote_function = "_quote_subpath" if parameter.keeps_slashes else "quote_segment"
        return f"{{{quote_function}({parameter.argument})}}"

    return "f" + json.dumps(TEMPLATE_FIELD.sub(replace, operation.route))


_ANNOTATIONS = {
    "params": "Params",
    "headers": "Headers",
    "json": "Any",
    "data": "Body",
    "file": "FilePath",
}


def _signature(operation: Operation) -> str:
    arguments = ["self"]
    arguments += [f"{p.argument}: {p.annotation}" for p in operation.path_parameters]
    arguments += [
        f"{q.argument}: {'str | Sequence[Any] | None' if q.comma_list else 'str | None'} = None"
        for q in operation.query_arguments
    ]
    positional = operation.r_positional_arguments()
    for name in operation.optional_arguments():
        if name not in positional and "*" not in arguments:
            arguments.append("*")
        arguments.append(f"{name}: {_ANNOTATIONS[name]} = None")
    return ", ".join(arguments)


def _prologue(operation: Operation) -> str:
    """Statements that fold the R-style arguments into ``params`` and ``data``."""
    lines = []
    if operation.query_arguments:
        values = ", ".join(
            f"{json.dumps(q.spec_name)}: "
            + (
                f"comma_list({q.argument}, {json.dumps(q.argument)})"
                if q.comma_list
                else q.argument
            )
            for q in operation.query_arguments
        )
        lines.append(f"        params = with_query(params, **{{{values}}})\n")
    if operation.takes_file:
        lines.append("        data = file_body(file, data)\n")
    return "".join(lines)


def method_source(operation: Operation, *, asynchronous: bool) -> str:
    """Return the source of one generated method (sync or async)."""
    define = "async def" if asynchronous else "def"
    call = "await self._request" if asynchronous else "self._request"
    body_arguments = "json=json, data=data, " if operation.takes_body else ""
    return (
        f"    {define} {operation.method_name}({_signature(operation)}) -> Any:\n"
        + _docstring_source(docstring_lines(operation), " " * 8)
        + _prologue(operation)
        + f"        return {call}({json.dumps(operation.verb.upper())}, "
        f"{_route_expression(operation)}, params=params, {body_arguments}headers=headers)\n"
    )


MODULE_HEADER = '''\
"""Orthanc REST methods: one per operation of Orthanc's OpenAPI spec.

Generated by ``scripts/generate_client.py`` from ``orthanc-openapi.json``
(Orthanc {version}, {operation_count} operations); do not edit by hand.
Regenerate after changing the spec or the generator; the test suite fails
when this file is stale.

``OrthancRestMethods`` and ``AsyncOrthancRestMethods`` are mixins: the
client classes provide ``_request``. Method names are ``{{verb}}_{{path}}``
with ``{{id}}`` -> ``id`` and '/', '-', '.' -> '_' (as in the R package
``orthanc`` and pyorthanc). Path parameters are positional, in route order,
and URL-quoted (with the client core's ``quote_segment``). Then come the
arguments the R package takes by position, in its order (required query
parameters such as ``resources`` or ``level``, and ``params``, ``headers``,
``json``, ``file`` or ``data`` where the route documents them); the other
ones of ``params``, ``json``, ``data`` and ``headers`` are keyword-only
(``json`` and ``data`` on POST and PUT only). Routes whose body is a DICOM
file also take ``file=``, a path whose bytes are sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from ._core import comma_list, file_body, quote_segment, with_query

__all__ = [
    "OPERATIONS",
    "AsyncOrthancRestMethods",
    "Body",
    "FilePath",
    "Headers",
    "OrthancRestMethods",
    "Params",
]

Params: TypeAlias = Mapping[str, Any] | None
"""Query parameters of a request."""
Headers: TypeAlias = Mapping[str, str] | None
"""Extra HTTP headers of a request."""
Body: TypeAlias = bytes | None
"""Raw request body."""
FilePath: TypeAlias = str | os.PathLike[str] | None
"""Path of a file whose bytes are the request body."""


def _quote_subpath(value: object) -> str:
    """Quote ``value`` as a sub-path: each '/'-separated part as one segment."""
    return "/".join(quote_segment(part) for part in str(value).split("/"))


'''

SYNC_CLASS_HEADER = '''\
class OrthancRestMethods:
    """One method per Orthanc REST operation; the client provides ``_request``."""

    def _request(
        self,
        method: str,
        route: str,
        *,
        params: Params = None,
        json: Any = None,
        data: Body = None,
        headers: Headers = None,
    ) -> Any:
        """Send one request and return the decoded answer (provided by the client)."""
        raise NotImplementedError

'''

ASYNC_CLASS_HEADER = '''\
class AsyncOrthancRestMethods:
    """One coroutine per Orthanc REST operation; the client provides ``_request``."""

    async def _request(
        self,
        method: str,
        route: str,
        *,
        params: Params = None,
        json: Any = None,
        data: Body = None,
        headers: Headers = None,
    ) -> Any:
        """Send one request and return the decoded answer (provided by the client)."""
        raise NotImplementedError

'''


def render_module(spec: dict[str, Any]) -> str:
    """Return the unformatted source of ``generated.py`` for ``spec``."""
    operations = collect_operations(spec)
    parts = [
        MODULE_HEADER.format(
            version=spec.get("info", {}).get("version", "unknown"),
            operation_count=len(operations),
        ),
        SYNC_CLASS_HEADER,
        "\n".join(method_source(op, asynchronous=False) for op in operations),
        "\n\n",
        ASYNC_CLASS_HEADER,
        "\n".join(method_source(op, asynchronous=True) for op in operations),
        "\n\n",
        "OPERATIONS: tuple[tuple[str, str, str], ...] = (\n",
        *(
            f"    ({json.dumps(op.verb.upper())}, {json.dumps(op.route)}, "
            f"{json.dumps(op.method_name)}),\n"
            for op in operations
        ),
        ")\n",
        '"""Every generated operation as (HTTP method, route template, method name)."""\n',
    ]
    return "".join(parts)


def format_source(source: str) -> str:
    """Return ``source`` as ``ruff format`` (with the repo's config) would write it."""
    command = [
        sys.executable,
        "-m",
        "ruff",
        "format",
        "--stdin-filename",
        str(OUTPUT_PATH.relative_to(REPO_ROOT)),
        "-",
    ]
    result = subprocess.run(
        command, input=source, capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            "ruff format failed on the generated source (is ruff installed in this "
            f"interpreter's environment?):\n{result.stderr}"
        )
    return result.stdout


def generate(spec_path: Path = SPEC_PATH) -> str:
    """Return the formatted source of ``generated.py`` for the spec at ``spec_path``."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    return format_source(render_module(spec))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 (showing a diff) when the checked-in file differs from what would be generated",
    )
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help="OpenAPI spec to read")
    parser.add_argument("--output", type=Path, default=OUTPUT_PATH, help="module to write")
    arguments = parser.parse_args(argv)

    try:
        expected = generate(arguments.spec)
    except SpecError as error:
        sys.stderr.write(f"cannot generate {arguments.output.name}: {error}\n")
        return 2
    if arguments.check:
        current = arguments.output.read_text(encoding="utf-8") if arguments.output.exists() else ""
        if current == expected:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile=f"{arguments.output.name} (checked in)",
            tofile=f"{arguments.output.name} (generated)",
            n=1,
        )
        sys.stderr.writelines(list(diff)[:200])
        sys.stderr.write(
            f"\n{arguments.output.name} is stale: run `python scripts/generate_client.py` "
            "and commit the result.\n"
        )
        return 1
    arguments.output.write_text(expected, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
