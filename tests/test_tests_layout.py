"""The tests mirror the package: one folder per subpackage, fixtures never imported."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "orthanc_frames"
OWN_HARNESS = {"browser"}  # the real-browser test: Voila, Playwright, its own README


def _test_folders() -> set[str]:
    return {p.name for p in TESTS.iterdir() if p.is_dir() and any(p.glob("test_*.py"))}


def test_every_test_folder_is_a_subpackage() -> None:
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert _test_folders() - OWN_HARNESS <= subpackages


def test_no_test_imports_conftest() -> None:
    # Fixtures reach tests by name; helpers come from helpers.py.
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if "conftest" in names:
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert offenders == []
