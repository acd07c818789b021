"""Write ``docs/parity.md``: every item of the R package's manual and its Python equivalent.

The R package ``orthanc`` 0.1.0 documents its R6 classes (methods, active
bindings, public fields) and its functions in its reference manual, of
which ``docs/r-orthanc-0.1.0-manual.txt`` is the text. This script lists
every item of it, finds the Python equivalent and checks it:

- a method must be callable and take R's arguments by position, in R's
  order, under R's names, with the same defaults (``NULL`` -> ``None``,
  ``TRUE``/``FALSE``, numbers, strings; ``list()`` and ``character()`` ->
  ``None`` or empty);
- an active binding or a public field must be an attribute read without a
  call (a property).

An item that passes under its own name is ``same``. The hand-kept mapping
``docs/parity-map.json`` names the Python equivalent where the name
differs (``renamed``) and explains, in one line, where the Python form
differs from R's on purpose (``extended``: a richer form, with R's still
working or refused with an error that names the Python way). An item with
no equivalent, or that fails its check without an explanation, is
``missing``: the parity test fails on it.

Usage::

    python scripts/make_parity.py           # rewrite docs/parity.md
    python scripts/make_parity.py --check   # exit 1 if docs/parity.md is stale or an item is missing
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MANUAL_PATH = REPO_ROOT / "docs" / "r-orthanc-0.1.0-manual.txt"
MAPPING_PATH = REPO_ROOT / "docs" / "parity-map.json"
TABLE_PATH = REPO_ROOT / "docs" / "parity.md"
PACKAGE = "orthanc_frames"

STATUSES = ("same", "renamed", "extended", "missing")
_MEMBER_SECTIONS = {"Active bindings": "binding", "Public fields": "field"}
_SECTION_WORDS = frozenset(
    {"Methods", "Public methods", "Inherited methods", "Active bindings", "Public fields"}
)
_METHOD = re.compile(r"^Method (\S+)\(\)$")
_CLASS_USAGE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\$")
_SUPER_CLASS = re.compile(r"-> ([A-Za-z][A-Za-z0-9]*)$")
_FUNCTION_USAGE = re.compile(r"^([a-z_][a-z0-9_]*)\(")


@dataclass(frozen=True)
class Argument:
    """One argument of an R usage line: its name and its default text (``None``: none)."""

    name: str
    default: str | None


@dataclass(frozen=True)
class Item:
    """One item of the manual."""

    owner: str  # the R6 class, or "" for a function
    kind: str  # "class", "method", "binding", "field", "function"
    name: str
    arguments: tuple[Argument, ...] | None = None  # from the usage, for methods and functions

    @property
    def r_name(self) -> str:
        if self.kind == "class":
            return self.name
        if not self.owner:
            return f"{self.name}()"
        suffix = "()" if self.kind == "method" else ""
        return f"{self.owner}${self.name}{suffix}"

    @property
    def key(self) -> str:
        """The key of the item in the mapping file."""
        if self.kind == "class" or not self.owner:
            return self.name
        return f"{self.owner}${self.name}"


@dataclass(frozen=True)
class Row:
    """One row of the table."""

    item: Item
    python: str | None  # dotted path below the package, e.g. "Patient.studies_ids"
    status: str
    note: str


# --------------------------------------------------------------------------- the manual


def _usage(lines: Sequence[str], start: int) -> str:
    """The usage text starting at ``lines[start]``, joined until its parentheses close."""
    text = lines[start].strip()
    index = start
    while text.count("(") > text.count(")") and index + 1 < len(lines):
        index += 1
        text += " " + lines[index].strip()
    return text


def _split_arguments(text: str) -> tuple[Argument, ...]:
    """The arguments of ``f(a, b = 1, c = list())``."""
    inner = text[text.index("(") + 1 : text.rindex(")")]
    parts: list[str] = []
    depth = 0
    current = ""
    for char in inner:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if current.strip():
        parts.append(current)
    arguments = []
    for part in parts:
        name, _, default = part.partition("=")
        arguments.append(Argument(name.strip(), default.strip() if default else None))
    return tuple(arguments)


def _sections(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(first, last) line numbers of each topic: a title line, a blank line, "Description".

    A title has words (``Job Class``): a binding named ``description``,
    described as "Description", is not one.
    """
    starts = [
        i
        for i in range(len(lines) - 2)
        if lines[i + 2] == "Description" and not lines[i + 1].strip() and " " in lines[i].strip()
    ]
    return [(start, end) for start, end in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _after(lines: Sequence[str], index: int) -> int:
    """The index of the first non-blank line after ``lines[index]``."""
    index += 1
    while index < len(lines) - 1 and not lines[index].strip():
        index += 1
    return index


def _topic_name(lines: Sequence[str]) -> tuple[str, str] | None:
    """("class", name) or ("function", name) of a topic, or None for the package's overview."""
    for index, line in enumerate(lines):
        if line == "Usage" and index + 1 < len(lines):
            usage = lines[_after(lines, index)].strip()
            if match := _CLASS_USAGE.match(usage):
                return "class", match.group(1)
            if match := _FUNCTION_USAGE.match(usage):
                return "function", match.group(1)
        if line == "Super class" and (match := _SUPER_CLASS.search(lines[_after(lines, index)])):
            return "class", match.group(1)
    return None


def _members(lines: Sequence[str], start: int, kind: str, owner: str) -> list[Item]:
    """The name/description pairs of an "Active bindings" or "Public fields" block."""
    items = []
    index = start
    expect_name = True
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not line:
            continue
        if line in _SECTION_WORDS or _METHOD.match(line):
            break
        if expect_name:
            items.append(Item(owner, kind, line))
        expect_name = not expect_name
    return items


def parse_manual(path: Path = MANUAL_PATH) -> list[Item]:
    """Every item of the manual at ``path``, in the manual's order.

    Raises
    ------
    ValueError
        When a method's usage cannot be found (the manual's layout changed).
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    items: list[Item] = []
    for first, last in _sections(lines):
        topic = lines[first:last]
        named = _topic_name(topic)
        if named is None:
            continue
        kind, name = named
        if kind == "function":
            usage_at = _after(topic, topic.index("Usage"))
            items.append(Item("", "function", name, _split_arguments(_usage(topic, usage_at))))
            continue
        items.append(Item(name, "class", name))
        for index, line in enumerate(topic):
            if line in _MEMBER_SECTIONS:
                items += _members(topic, index + 1, _MEMBER_SECTIONS[line], name)
            elif match := _METHOD.match(line):
                usage = _usage(topic, _after(topic, topic.index("Usage", index)))
                if not usage.startswith(f"{name}$"):
                    raise ValueError(f"no usage found for {name}${match.group(1)}()")
                items.append(Item(name, "method", match.group(1), _split_arguments(usage)))
    return items


# --------------------------------------------------------------------------- the Python side


def resolve(dotted: str) -> Any:
    """The object named ``dotted`` below the package (``"Patient.studies_ids"``).

    Attributes are looked up statically, so a property is returned as the
    ``property`` object, not run.

    Raises
    ------
    LookupError
        When no such object exists.
    """
    parts = dotted.split(".")
    for cut in range(len(parts), -1, -1):
        module_name = ".".join([PACKAGE, *parts[:cut]])
        try:
            found: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        for attribute in parts[cut:]:
            try:
                found = inspect.getattr_static(found, attribute)
            except AttributeError:
                raise LookupError(f"{PACKAGE}.{dotted} does not exist") from None
            if isinstance(found, (staticmethod, classmethod)):
                found = found.__func__
        return found
    raise LookupError(f"{PACKAGE}.{dotted} does not exist")


_CLASSES_BY_OWNER = {"OrthancAsync": "AsyncOrthanc"}


def _default_python_name(item: Item) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", item.name)
    if item.kind == "class" or not item.owner:
        return name
    return f"{_CLASSES_BY_OWNER.get(item.owner, item.owner)}.{name}"


def _r_default_matches(r_default: str | None, python_default: Any) -> bool:
    """Whether R's default text means Python's default (unknown R expressions: yes)."""
    if r_default is None:
        return True  # required in R: a Python default only makes it optional
    literals: dict[str, tuple[Any, ...]] = {
        "NULL": (None,),
        "TRUE": (True,),
        "FALSE": (False,),
        "list()": (None, (), [], {}),
        "character()": (None, (), []),
    }
    if r_default in literals:
        return any(
            python_default is value
            or (type(python_default) is type(value) and python_default == value)
            for value in literals[r_default]
        )
    if re.fullmatch(r"-?\d+L?", r_default):
        return python_default == int(r_default.rstrip("L")) and not isinstance(python_default, bool)
    if re.fullmatch(r'"[^"]*"', r_default):
        return python_default == r_default[1:-1]
    return True


def check(item: Item, target: Any) -> str | None:
    """Why ``target`` does not serve the R form of ``item``, or None when it does."""
    if item.kind in ("binding", "field"):
        if inspect.isfunction(target) or inspect.ismethod(target):
            return "a method here, an attribute in R"
        return None
    if item.kind == "class":
        return None if inspect.isclass(target) else "not a class"
    if not callable(target):
        return "not callable"
    if item.arguments is None:
        return None
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    parameters = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("self", "cls")
    ]
    wanted = [a for a in item.arguments if a.name != "..."]
    for position, argument in enumerate(wanted):
        if position >= len(parameters):
            return f"R's argument {position + 1} ({argument.name}) is not positional here"
        parameter = parameters[position]
        if parameter.name != argument.name:
            return f"R's argument {position + 1} is {argument.name}, here {parameter.name}"
        if not _r_default_matches(argument.default, parameter.default):
            return (
                f"{argument.name}'s default is {argument.default} in R, {parameter.default!r} here"
            )
    return None


def _kind_note(item: Item, target: Any) -> str:
    if item.kind == "class":
        return "class"
    if item.kind in ("binding", "field"):
        return "property"
    routes = _routes()
    if item.owner in ("Orthanc", "OrthancAsync") and item.name.replace(".", "_") in routes:
        return f"`{routes[item.name.replace('.', '_')]}`"
    if item.kind == "function":
        return "function, same arguments"
    return "method, same arguments"


def _routes() -> dict[str, str]:
    from orthanc_frames.client.generated import OPERATIONS

    return {name: f"{verb} {route}" for verb, route, name in OPERATIONS}


def load_mapping(path: Path = MAPPING_PATH) -> dict[str, dict[str, Any]]:
    """The hand-kept mapping: item key -> ``python``, ``status``, ``note`` (and ``check``).

    Keys are ``Class$member``, a function's or a class's name, or
    ``*$member`` for a member of that name in every class. ``python`` is
    the dotted path below the package (``{class}`` stands for the item's
    Python class); ``check = false`` skips the signature check where R's
    usage cannot apply (``print(x, ...)``).
    """
    mapping: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    for key, entry in mapping.items():
        unknown = set(entry) - {"python", "status", "note", "check"}
        if unknown:
            raise ValueError(f"{path.name}: {key} has unknown fields {sorted(unknown)}")
        if entry.get("status") not in ("renamed", "extended"):
            raise ValueError(f"{path.name}: {key} needs status 'renamed' or 'extended'")
        if not entry.get("note"):
            raise ValueError(f"{path.name}: {key} needs a one-line note")
    return mapping


def rows(items: Sequence[Item], mapping: dict[str, dict[str, Any]]) -> list[Row]:
    """One row per item: its Python equivalent, status and note."""
    out = []
    keys = {item.key for item in items} | {f"*${item.name}" for item in items if item.owner}
    stale = sorted(set(mapping) - keys)
    if stale:
        raise ValueError(f"{MAPPING_PATH.name} names items the manual does not have: {stale}")
    for item in items:
        entry = mapping.get(item.key) or (mapping.get(f"*${item.name}", {}) if item.owner else {})
        python_class = _CLASSES_BY_OWNER.get(item.owner, item.owner)
        python = entry.get("python", _default_python_name(item)).replace("{class}", python_class)
        try:
            target = resolve(python)
        except LookupError as error:
            out.append(Row(item, None, "missing", str(error)))
            continue
        problem = check(item, target) if entry.get("check", True) else None
        if entry:
            note = str(entry["note"]).replace("{class}", python_class)
            if problem is not None and entry["status"] == "renamed":
                out.append(Row(item, python, "missing", f"{problem} ({note})"))
            else:
                out.append(Row(item, python, str(entry["status"]), note))
        elif problem is not None:
            out.append(Row(item, python, "missing", problem))
        else:
            out.append(Row(item, python, "same", _kind_note(item, target)))
    return out


# --------------------------------------------------------------------------- the table


_OWNER_TITLES = {"": "Functions"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(table: Sequence[Row]) -> str:
    """The Markdown of ``docs/parity.md``."""
    counts = Counter(row.status for row in table)
    kinds = Counter(row.item.kind for row in table)
    lines = [
        "# Parity with the R package `orthanc` 0.1.0",
        "",
        "Generated by `scripts/make_parity.py` from the package's reference manual",
        "(`docs/r-orthanc-0.1.0-manual.txt`) and the hand-kept `docs/parity-map.json`;",
        "`tests/test_parity.py` fails when this file is stale, when an item has no",
        "Python equivalent, or when a Python name below does not exist.",
        "",
        f"**{len(table)} items** ({kinds['class']} classes, {kinds['method']} methods, "
        f"{kinds['binding']} active bindings, {kinds['field']} public fields, "
        f"{kinds['function']} functions): **{counts['same']} same**, "
        f"**{counts['renamed']} renamed**, **{counts['extended']} extended**, "
        f"**{counts['missing']} missing**.",
        "",
        "- `same`: the same name, called the R way (methods: R's arguments by position,",
        "  in R's order, with R's defaults; bindings and fields: attributes read without",
        "  a call).",
        "- `renamed`: another name in Python, called the same way.",
        "- `extended`: the Python form differs on purpose (keyword-only options, a",
        "  richer answer, another argument order); the note says how the R form fares:",
        "  it works, or fails with an error that names the Python way.",
        "",
        "Values are Python values throughout: dates are `datetime.date`, numbers are",
        "numbers, multi-valued tags are lists, absent tags `None`.",
        "",
        "Python names are below `orthanc_frames` (`Patient.studies_ids` is",
        "`orthanc_frames.Patient.studies_ids`).",
    ]
    owners = list(dict.fromkeys(row.item.owner for row in table))
    for owner in owners:
        lines += [
            "",
            f"## {_OWNER_TITLES.get(owner, owner)}",
            "",
            "| R | Python | status | note |",
            "| --- | --- | --- | --- |",
        ]
        for row in table:
            if row.item.owner != owner:
                continue
            python = f"`{row.python}`" if row.python else "—"
            lines.append(
                f"| `{_cell(row.item.r_name)}` | {python} | {row.status} | {_cell(row.note)} |"
            )
    return "\n".join(lines) + "\n"


def build() -> tuple[list[Row], str]:
    """The rows and the Markdown, from the manual and the mapping in the repository."""
    table = rows(parse_manual(), load_mapping())
    return table, render(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the table is stale or an item is missing"
    )
    arguments = parser.parse_args(argv)
    table, text = build()
    missing = [row for row in table if row.status == "missing"]
    for row in missing:
        sys.stderr.write(f"missing: {row.item.r_name}: {row.note}\n")
    if arguments.check:
        current = TABLE_PATH.read_text(encoding="utf-8") if TABLE_PATH.exists() else ""
        if current != text:
            sys.stderr.write(
                f"{TABLE_PATH.name} is stale: run `python scripts/make_parity.py` and commit it.\n"
            )
            return 1
        return 1 if missing else 0
    TABLE_PATH.write_text(text, encoding="utf-8")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
