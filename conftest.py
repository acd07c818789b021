"""The package's docstring examples run against a real Orthanc of the tests.

pytest applies ``tests/conftest.py`` to ``tests/`` only; the doctests of
``orthanc_frames/`` get the same server fixtures from here (re-exported, so
they are the tests' own definitions) and the names their examples use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import (  # noqa: F401  (fixtures, found by name)
    PASSWORD,
    USERNAME,
    CohortSummary,
    LocalOrthanc,
    MakeServer,
    load_into,
    make_server,
    orthanc_bin,
    small_cohort,
)


@pytest.fixture(scope="session")
def doctest_server(make_server: MakeServer, small_cohort: CohortSummary) -> LocalOrthanc:  # noqa: F811
    """The server the package's docstring examples run against (they may change it).

    It holds the small cohort and knows itself as DICOM modality ``"PACS"``.
    """
    server = make_server("DOCTEST", aet="DOCTEST")
    load_into(server, small_cohort.outdir)
    server.register_modality("PACS", server)
    return server


@pytest.fixture(autouse=True)
def _doctest_names(
    request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]
) -> Iterator[None]:
    """Names the docstring examples use, for doctests only (other tests start nothing).

    ``c``/``client``: an ``Orthanc`` on ``doctest_server``; ``study``/``study_id``:
    one of its studies; ``f``: its frames; ``of``. Each doctest runs in a
    fresh folder holding ``cohort/`` (the small cohort), so ``"out"`` or
    ``"cohort/"`` in an example are files of that folder.
    """
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    import orthanc_frames as of

    server = request.getfixturevalue("doctest_server")
    small = request.getfixturevalue("small_cohort")
    monkeypatch = request.getfixturevalue("monkeypatch")
    folder = request.getfixturevalue("tmp_path")
    (folder / "cohort").symlink_to(small.outdir, target_is_directory=True)
    monkeypatch.chdir(folder)
    with of.Orthanc(server.url, username=USERNAME, password=PASSWORD) as c:
        study = of.find_studies(c)[0]
        doctest_namespace.update(
            of=of, c=c, client=c, study=study, study_id=study.id, Study=of.Study, f=c.frames()
        )
        yield
