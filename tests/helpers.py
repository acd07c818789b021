"""Helpers shared by the tests (plain functions and constants, no fixtures).

Fixtures live in ``tests/conftest.py`` and reach every test by name; they
are never imported. What a test imports comes from here (``from helpers
import load_into``) or from ``transports.py`` (fakes at the HTTP transport).
``tests/`` is on ``sys.path`` through ``pythonpath`` in ``pyproject.toml``.
"""

from __future__ import annotations

import os
from typing import Any

from orthanc_frames.local_server import LocalOrthanc

USERNAME = "orthanc"
PASSWORD = "orthanc"


def load_into(server: LocalOrthanc, folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Store every file under ``folder`` in ``server``; return Orthanc's answers."""
    return server.load(folder, workers=4)
