"""Write notebooks/*.ipynb from their reviewable sources in notebooks/src/*.py.

A source is a Python file in the "percent" format: ``# %%`` starts a code
cell, ``# %% [markdown]`` a Markdown cell whose lines are comments
(``# text``). Optional cell tags follow: ``# %% tags=["raises-exception"]``.
Notebooks are written without outputs and with stable cell ids, so that the
same source always gives the same file.

Usage::

    python scripts/make_notebooks.py            # (re)write every notebook
    python scripts/make_notebooks.py --check    # exit 1 if a notebook is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebooks" / "src"
NOTEBOOKS = ROOT / "notebooks"
_CELL_MARKER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _markdown_text(lines: list[str]) -> str:
    text = []
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    for line in lines:
        if line.startswith("# "):
            text.append(line[2:])
        elif line.rstrip() == "#":
            text.append("")
        else:
            raise ValueError(f"a Markdown line must be a comment: {line!r}")
    return "\n".join(text).strip("\n")


def notebook_from_source(source: str, name: str = "notebook") -> nbformat.NotebookNode:
    """Build a notebook (no outputs) from a percent-format source.

    Parameters
    ----------
    source : str
        The text of a ``notebooks/src/*.py`` file.
    name : str
        The notebook's name, used in cell ids and error messages.

    Returns
    -------
    nbformat.NotebookNode
        A valid nbformat 4 notebook.
    """
    cells = []
    kind: str | None = None
    tags: list[str] = []
    lines: list[str] = []

    def flush() -> None:
        if kind is None:
            return
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(_markdown_text(lines))
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines).strip("\n"))
        if tags:
            cell.metadata["tags"] = list(tags)
        cell.id = f"{name[:40]}-{len(cells):02d}"
        cells.append(cell)

    for number, line in enumerate(source.splitlines(), start=1):
        marker = _CELL_MARKER.match(line)
        if marker:
            flush()
            kind = "markdown" if marker["markdown"] else "code"
            tags = json.loads(marker["tags"]) if marker["tags"] else []
            lines = []
        elif kind is None:
            if line.strip():
                raise ValueError(f"{name}:{number}: text before the first '# %%' marker")
        else:
            lines.append(line)
    flush()
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def render(source_path: Path) -> str:
    """The ``.ipynb`` text for one source file."""
    notebook = notebook_from_source(source_path.read_text(encoding="utf-8"), source_path.stem)
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, compare) every notebook; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if a notebook differs from its source"
    )
    args = parser.parse_args(argv)
    stale = []
    for source_path in sorted(SOURCES.glob("*.py")):
        target = NOTEBOOKS / f"{source_path.stem}.ipynb"
        text = render(source_path)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(
            f"out of date: {', '.join(stale)}; run `python scripts/make_notebooks.py`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
