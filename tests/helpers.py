"""Helpers shared by the tests (plain functions and constants, no fixtures).

Fixtures live in ``tests/conftest.py`` and reach every test by name; they
are never imported. What a test imports comes from here (``from helpers
import load_into``) or from ``transports.py`` (fakes at the HTTP transport).
``tests/`` is on ``sys.path`` through ``pythonpath`` in ``pyproject.toml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orthanc_frames.local_server import (
    SERVER_KINDS,
    LocalOrthanc,
    OrthancNotInstalled,
    find_orthanc_binary,
    find_postgresql_bin,
)

MakeServer = Callable[..., LocalOrthanc]
"""The type of the ``make_server`` fixture."""

USERNAME = "orthanc"
PASSWORD = "orthanc"

SERVER_KIND = os.environ.get("ORTHANC_FRAMES_SERVER", "sqlite")
if SERVER_KIND not in SERVER_KINDS:
    raise pytest.UsageError(
        f"ORTHANC_FRAMES_SERVER={SERVER_KIND!r}: use one of {', '.join(SERVER_KINDS)}."
    )
# What each kind lacks, with the reason a test needing it is skipped.
MISSING_FEATURES: dict[str, dict[str, str]] = {
    "sqlite": {},
    "postgres": {"extended_find": "the PostgreSQL index plugin has no extended find"},
    "1.10": {
        "labels": "Orthanc 1.10 has no labels (1.12.0+)",
        "plugins": "the Orthanc 1.10 server runs without plugins",
        "requested_tags": "Orthanc 1.10 has no RequestedTags (1.11+)",
        "extended_find": "Orthanc 1.10 has no extended find (1.12.5+)",
        "response_content": "Orthanc 1.10 has no ResponseContent (1.12.5+)",
        "paged_find": "Orthanc 1.10 answers at most LimitFindResults + 1 matches of a "
        "filtered find, whatever Since asks: a capped 1.10 cannot be paged past its cap",
        "modify_1_12": "Orthanc 1.10 modifies by older rules (a patient needs a new "
        "PatientID, no 2023b DICOM version for anonymization)",
    },
}
FEATURES = frozenset(f for missing in MISSING_FEATURES.values() for f in missing)
SERVER_VERSION = {"sqlite": "1.12.7", "postgres": "1.12.7", "1.10": "1.10.1"}[SERVER_KIND]


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


def missing_feature(feature: str, kind: str = SERVER_KIND) -> str | None:
    """Why servers of ``kind`` lack ``feature`` (None when they have it)."""
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}: use one of {sorted(FEATURES)}")
    return MISSING_FEATURES[kind].get(feature)


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def installed_binary(kind: str) -> str:
    """The Orthanc executable of ``kind``: skips the test when missing, fails in CI."""
    try:
        binary = find_orthanc_binary(kind)
        if kind == "postgres":
            find_postgresql_bin()
        return binary
    except OrthancNotInstalled as error:
        if _running_in_ci():
            pytest.fail(f"CI needs a real Orthanc of kind {kind!r}: {error}", pytrace=False)
        pytest.skip(str(error))
