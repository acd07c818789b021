"""Write ``browser_page.ipynb``: the page the real-browser test serves with Voila.

The notebook is committed without outputs; regenerate it after changing
the cells here::

    .venv/bin/python tests/browser/make_notebook.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "browser_page.ipynb"

CELL_BROWSER = """\
# The test fixture sets ORTHANC_URL, ORTHANC_USERNAME and ORTHANC_PASSWORD.
import orthanc_frames as of

client = of.Orthanc.from_env()
frames = client.frames(levels=("patient", "study", "series"))
browser = of.browse(frames, page_size=8)
browser
"""


def build(path: Path = NOTEBOOK) -> Path:
    """Write the notebook to ``path`` and return it."""
    notebook = new_notebook(cells=[new_code_cell(CELL_BROWSER)])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number}"  # stable ids: regenerating gives the same file
    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else NOTEBOOK))
