"""Every notebook runs top to bottom against a real Orthanc holding the demo cohort.

The notebooks are executed in order (``01`` ... ``05``) by nbclient, in a
kernel that runs this very Python (the project's venv), on one demo server
(the same mechanism as ``orthanc-frames demo`` and Binder's ``start``) that
the kernel finds through ``ORTHANC_URL``, ``ORTHANC_USERNAME`` and
``ORTHANC_PASSWORD``. Any error in a cell fails the test, and so does a cell
tagged ``raises-exception`` (a guard being shown) that raises nothing. The committed
notebooks carry no outputs, and match their sources in ``notebooks/src``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from orthanc_frames.demo import server_env, start_demo_server
from orthanc_frames.local_server import LocalOrthanc

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = (
    "01-quickstart",
    "02-cohort-filtering",
    "03-anonymize-and-export",
    "04-browse",
    "05-from-folder",
)
KERNEL_NAME = "orthanc-frames-test"
CELL_TIMEOUT_SECONDS = 120


def _load_script() -> object:
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", ROOT / "scripts" / "make_notebooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_server(
    orthanc_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalOrthanc]:
    server = start_demo_server(tmp_path_factory.mktemp("notebook-demo"), binary=orthanc_bin)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kernel_env(
    demo_server: LocalOrthanc, orthanc_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A kernelspec running this Python, with the demo server's settings in its environment."""
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    kernel_dir = jupyter_path / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True)
    env = {**server_env(demo_server), "ORTHANC_BIN": orthanc_bin, "MPLBACKEND": "agg"}
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "orthanc-frames tests",
        "language": "python",
        "env": env,
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(jupyter_path))
        yield


def test_every_expected_notebook_is_there() -> None:
    assert tuple(path.stem for path in NOTEBOOKS) == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_has_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs; clear them"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


def test_notebooks_match_their_sources() -> None:
    script = _load_script()
    assert script.main(["--check"]) == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, kernel_env: None, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        errors = [output for output in cell.outputs if output.get("output_type") == "error"]
        meant_to_fail = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == meant_to_fail, (
            f"{path.name}, cell {number}: "
            + ("tagged raises-exception but raised nothing" if meant_to_fail else "raised")
            + f"\n{cell.source}"
        )
