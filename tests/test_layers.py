"""The package's layers, read from its imports: every import points down.

The layers (DESIGN.md), lowest last::

    4    orthanc_frames (the package root: the public names)
    3.1  cli.py                                       the command
    3    widgets/  demo.py                            person-facing
    2    frames/                                      DataFrames
    1.3  find.py  local_server.py                    finds; the test harness
    1.2  transfer/                                    downloads and uploads
    1.1  resources/                                   Patient ... Instance, Job, Modality
    1.0  paging.py  synthetic.py                      the find pager; the test cohort
    0.2  client/                                      HTTP, errors, generated REST
    0.15 dicom_values.py                              the rules of values
    0.1  _parallel.py  dicom_tags.py                  the worker pool; tags and VRs
    0.05 orthanc_ids.py                               Orthanc's IDs
    0    _version.py  _html.py  _progress.py  _deprecation.py  levels.py

A module may import its own unit and any unit of a lower layer, never one of
its own layer or above. The documented convenience entry points that reach
up (``Orthanc.frames``, ``AsyncOrthanc.frames``, ``Frames.browse``, and
``Resource.download`` of a folder, which is :func:`orthanc_frames.download`)
import lazily, with a plain ``import`` inside the function, and are listed
here by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orthanc_frames"

LAYERS: dict[str, float] = {
    "_version": 0.0,
    "_html": 0.0,
    "_progress": 0.0,
    "_deprecation": 0.0,
    "levels": 0.0,
    "orthanc_ids": 0.05,
    "_parallel": 0.1,
    "dicom_tags": 0.1,
    "dicom_values": 0.15,
    "client": 0.2,
    "paging": 1.0,
    "synthetic": 1.0,
    "resources": 1.1,
    "transfer": 1.2,
    "find": 1.3,
    "local_server": 1.3,
    "frames": 2,
    "widgets": 3.0,
    "demo": 3.0,
    "cli": 3.1,
    "": 4,
}

# (importing module, imported unit, the function that imports it lazily)
ENTRY_POINTS = {
    ("client.sync", "frames", "frames"),
    ("client.async_", "frames", "frames"),
    ("frames.container", "widgets", "browse"),
    ("resources.base", "transfer", "download"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str:
    return module.split(".", 1)[0]


def _resolve(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Package-relative names of the orthanc_frames modules one import statement reaches."""
    if isinstance(node, ast.Import):
        return [
            alias.name.removeprefix("orthanc_frames").lstrip(".")
            for alias in node.names
            if alias.name == "orthanc_frames" or alias.name.startswith("orthanc_frames.")
        ]
    if node.level == 0:
        if node.module is None or not (
            node.module == "orthanc_frames" or node.module.startswith("orthanc_frames.")
        ):
            return []
        base = node.module.removeprefix("orthanc_frames").lstrip(".")
    else:
        here = module.split(".") if module else []
        if not is_package:
            here = here[:-1]
        here = here[: len(here) - (node.level - 1)] if node.level > 1 else here
        base = ".".join([*here, *([node.module] if node.module else [])])
    # ``from .. import transfer`` imports a module, ``from .. import __version__`` a name
    targets = []
    for alias in node.names:
        candidate = ".".join(p for p in (base, alias.name) if p)
        targets.append(candidate if _is_module(candidate) else base)
    return targets


def _is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.functions: list[str] = []
        self.found: list[tuple[str, str | None, int]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        # ``if TYPE_CHECKING:`` imports are for the type checker only
        if getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self._add(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._add(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name in {"import_module", "__import__"}:
            self.found.append(("<dynamic import>", self._function(), node.lineno))
        self.generic_visit(node)

    def _function(self) -> str | None:
        return self.functions[-1] if self.functions else None

    def _add(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in _resolve(self.module, self.is_package, node):
            self.found.append((target, self._function(), node.lineno))


def _imports() -> list[tuple[str, str, str | None, int]]:
    """(importing module, imported module, enclosing function, line) for the whole package."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        edges += [(module, target, function, line) for target, function, line in visitor.found]
    return edges


def _where(module: str, line: int) -> str:
    return f"orthanc_frames/{module.replace('.', '/') or '__init__'}.py:{line}"


def test_every_unit_has_a_layer() -> None:
    units = {_unit(_module_name(path)) for path in PACKAGE.rglob("*.py")}
    assert units <= set(LAYERS), (
        f"give these a layer in tests/test_layers.py: {units - set(LAYERS)}"
    )


def test_no_dynamic_imports() -> None:
    dynamic = [_where(m, line) for m, target, _, line in _imports() if target == "<dynamic import>"]
    assert not dynamic, f"importlib hides an import from this test and from readers: {dynamic}"


def test_imports_point_down() -> None:
    upward = set()
    for module, target, function, line in _imports():
        if target == "<dynamic import>":
            continue
        source, dest = _unit(module), _unit(target)
        if source == dest or LAYERS[dest] < LAYERS[source]:
            continue
        if (module, dest, function) in ENTRY_POINTS:
            continue
        upward.add(f"{_where(module, line)} imports {target or 'orthanc_frames'}")
    assert not upward, "imports that point up or sideways:\n" + "\n".join(sorted(upward))


def test_no_private_names_imported_across_units() -> None:
    crossing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            for target in _resolve(module, path.name == "__init__.py", node):
                if _unit(target) == _unit(module):
                    continue
                private = [
                    a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"
                ]
                private_module = any(part.startswith("_") for part in target.split(".")[1:])
                if private or (private_module and path.name != "__init__.py"):
                    crossing.append(f"{_where(module, node.lineno)} imports {target} {private}")
    if crossing:
        pytest.fail("private helpers used across units:\n" + "\n".join(sorted(set(crossing))))
