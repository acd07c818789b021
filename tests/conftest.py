"""Shared fixtures: real Orthanc servers and a synthetic cohort.

Every server is a real Orthanc process (see ``orthanc_frames.local_server``)
on free loopback ports, of the kind named by the environment variable
``ORTHANC_FRAMES_SERVER``: ``sqlite`` (default: Orthanc 1.12.7, SQLite
index), ``postgres`` (Orthanc 1.12.7, PostgreSQL index in one throw-away
cluster for the session) or ``1.10`` (Orthanc 1.10.1, no plugins). Tests
that need what a kind lacks are marked ``@pytest.mark.needs("labels")``
(features: see ``MISSING_FEATURES``) and skipped on that kind with the
reason. ``SERVER_VERSION`` is the Orthanc version of the run's kind. Servers shared by the session are READ-ONLY by
convention: a test that stores, modifies, labels or deletes anything uses
``empty_server`` or its own ``make_server(...)``.

Fixtures (session-scoped unless stated)
---------------------------------------
server_kind
    The kind of this run (``SERVER_KIND``).
orthanc_bin
    Path of the Orthanc executable of that kind. Missing Orthanc: the test is skipped
    locally and FAILS in CI (env ``CI=true``).
make_server
    Factory ``make_server(name="ORTHANC", start=True, **kw) -> LocalOrthanc``
    (keywords of ``LocalOrthanc``: ``auth``, ``extra``, ``aet``, ``kind``
    (default: the run's kind) ...). The
    server is started unless ``start=False``; all servers are stopped at the
    end of the session (signalled together, so stopping costs ~3 s once).
cohort_dir
    ``CohortSummary`` of the synthetic cohort on disk (default sizes,
    ``invalid_values=True``: 5 patients, 10 studies, 20 series, 80
    instances). ``cohort_dir.outdir`` is the folder, ``cohort_dir.files``
    the files.
cohort_server
    ``LocalOrthanc`` with authentication (orthanc / orthanc) holding the
    cohort. READ-ONLY.
limited_server
    Like ``cohort_server`` with ``LimitFindResults=3`` and
    ``LimitFindInstances=3``: finds are truncated as on many real servers.
    READ-ONLY.
server_pair
    ``(a, b)``: two empty servers that know each other as DICOM modality
    and Orthanc peer (``a`` knows ``b`` as ``"B"``, ``b`` knows ``a`` as
    ``"A"``). Session-scoped: tests that store into them clean up or use
    resources they created.
empty_server  (function-scoped)
    A fresh, empty server with authentication, for a test that mutates.
client  (function-scoped)
    ``orthanc_frames.Orthanc`` connected to ``cohort_server``, closed after
    the test.
small_cohort
    ``CohortSummary`` of a small cohort on disk, not on any server (2
    patients, 1 study each, 2 series each, 2 instances each, 8x8 pixels: 8
    instances); tests that change a server load it into their own.
pydicom_files
    Paths of real DICOM files bundled with pydicom that Orthanc accepts:
    ``CT_small.dcm``, ``MR_small.dcm``, ``chrGreek.dcm`` (ISO_IR 126,
    "Διονυσιος") and ``chrH31.dcm`` (ISO 2022 Japanese,
    "Yamada^Tarou=山田^太郎=やまだ^たろう").

Helpers (``load_into``, ``USERNAME``, ``PASSWORD``, ``SERVER_KIND``,
``SERVER_VERSION``, ``installed_binary``, ``missing_feature``) are in
``helpers.py``: ``from helpers import load_into``. Fixtures are never imported.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    FEATURES,
    PASSWORD,
    SERVER_KIND,
    USERNAME,
    MakeServer,
    installed_binary,
    load_into,
    missing_feature,
)

from orthanc_frames.local_server import LocalOrthanc, PostgresCluster, stop_all
from orthanc_frames.synthetic import CohortSummary, write_cohort

PYDICOM_TEST_FILES = ("CT_small.dcm", "MR_small.dcm")
PYDICOM_CHARSET_FILES = ("chrGreek.dcm", "chrH31.dcm")

_empty_server_numbers = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs(*features): skip on a server kind that lacks one of these features "
        f"({', '.join(sorted(FEATURES))})",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"orthanc-frames server kind: {SERVER_KIND} (ORTHANC_FRAMES_SERVER)"


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        for feature in marker.args:
            reason = missing_feature(feature)
            if reason:
                pytest.skip(f"needs {feature}: {reason}")


@pytest.fixture(scope="session")
def server_kind() -> str:
    return SERVER_KIND


@pytest.fixture(scope="session")
def orthanc_bin() -> str:
    return installed_binary(SERVER_KIND)


@pytest.fixture(scope="session")
def make_server(orthanc_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeServer]:
    servers: list[LocalOrthanc] = []
    clusters: list[PostgresCluster] = []

    def make(name: str = "ORTHANC", start: bool = True, **kwargs: Any) -> LocalOrthanc:
        kwargs.setdefault("username", USERNAME)
        kwargs.setdefault("password", PASSWORD)
        kind = kwargs.setdefault("kind", SERVER_KIND)
        if kind == "postgres" and "postgres" not in kwargs:
            # One cluster for the session, one database per server.
            if not clusters:
                clusters.append(PostgresCluster())
            kwargs["postgres"] = clusters[0]
        binary = orthanc_bin if kind == SERVER_KIND else installed_binary(kind)
        workdir = tmp_path_factory.mktemp(name.lower())
        server = LocalOrthanc(workdir, name=name, binary=binary, **kwargs)
        servers.append(server)
        return server.start() if start else server

    yield make
    stop_all(servers)
    for cluster in clusters:
        cluster.stop()


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> CohortSummary:
    return write_cohort(tmp_path_factory.mktemp("cohort"), invalid_values=True)


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> CohortSummary:
    return write_cohort(
        tmp_path_factory.mktemp("small-cohort"),
        patients=2,
        studies=1,
        series=2,
        instances=2,
        size=8,
    )


@pytest.fixture(scope="session")
def cohort_server(make_server: MakeServer, cohort_dir: CohortSummary) -> LocalOrthanc:
    server = make_server("COHORT", auth=True)
    load_into(server, cohort_dir.outdir)
    return server


@pytest.fixture(scope="session")
def limited_server(make_server: MakeServer, cohort_dir: CohortSummary) -> LocalOrthanc:
    server = make_server("LIMITED", extra={"LimitFindResults": 3, "LimitFindInstances": 3})
    load_into(server, cohort_dir.outdir)
    return server


@pytest.fixture(scope="session")
def server_pair(make_server: MakeServer) -> tuple[LocalOrthanc, LocalOrthanc]:
    a = make_server("PAIR_A", aet="PAIRA")
    b = make_server("PAIR_B", aet="PAIRB")
    # Registered over REST once both run: ports are then known and taken,
    # so neither side can lose a port race to the other.
    a.register_modality("B", b)
    a.register_peer("B", b)
    b.register_modality("A", a)
    b.register_peer("A", a)
    return a, b


@pytest.fixture
def empty_server(make_server: MakeServer) -> Iterator[LocalOrthanc]:
    server = make_server(f"EMPTY_{next(_empty_server_numbers)}")
    yield server
    # Only signalled here: the session's make_server waits for all at the end.
    server.signal_stop()


@pytest.fixture
def client(cohort_server: LocalOrthanc) -> Iterator[Any]:
    from orthanc_frames import Orthanc

    with Orthanc(cohort_server.url, username=USERNAME, password=PASSWORD) as orthanc:
        yield orthanc


@pytest.fixture(scope="session")
def pydicom_files() -> list[Path]:
    from pydicom.data import get_charset_files, get_testdata_file

    found = [get_testdata_file(name, download=False) for name in PYDICOM_TEST_FILES]
    found += [path for name in PYDICOM_CHARSET_FILES for path in get_charset_files(name)]
    expected = len(PYDICOM_TEST_FILES) + len(PYDICOM_CHARSET_FILES)
    paths = [Path(str(path)) for path in found if path is not None]
    if len(paths) != expected:
        pytest.fail(
            f"pydicom no longer ships all of {PYDICOM_TEST_FILES + PYDICOM_CHARSET_FILES}; "
            "pick other bundled files in tests/conftest.py"
        )
    return paths
