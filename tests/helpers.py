"""Helpers shared by the tests (plain functions and constants, no fixtures).

Fixtures live in ``tests/conftest.py`` and reach every test by name; they
are never imported. What a test imports comes from here (``from helpers
import load_into``) or from ``transports.py`` (fakes at the HTTP transport).
``tests/`` is on ``sys.path`` through ``pythonpath`` in ``pyproject.toml``.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from orthanc_frames.local_server import LocalOrthanc

USERNAME = "orthanc"
PASSWORD = "orthanc"


def load_into(server: LocalOrthanc, folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Store every file under ``folder`` in ``server``; return Orthanc's answers."""
    return server.load(folder, workers=4)


def server_version(server: LocalOrthanc) -> str:
    """The version ``server`` reports on ``/system``, read with plain httpx.

    Tests compare the client's view with this, never with a version written
    in the test: the suite runs against other Orthanc versions too.
    """
    answer = httpx.get(f"{server.url}/system", auth=server.auth, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["Version"])


def version_tuple(version: str) -> tuple[int, ...]:
    """``"1.12.7"`` -> ``(1, 12, 7)``."""
    return tuple(int(part) for part in version.split("."))
