"""Frames on disk: one Parquet file per level, the problems, and ``frames.json``.

Layout of a snapshot folder::

    patient.parquet  study.parquet  series.parquet  instance.parquet   (levels held)
    problems.parquet
    frames.json      format, package version, levels, load arguments,
                     last change seq, server URL (never credentials), time

Arrow-backed dtypes round-trip exactly. A snapshot read with
``client=`` continues :meth:`~orthanc_frames.frames.Frames.refresh` from
the change it had seen.

Each level file is also a plain Parquet file for other readers:
``pandas.read_parquet(path)`` gives the same values and dtypes as
:meth:`~orthanc_frames.frames.Frames.read_parquet`, except that list
columns (``labels``, multi-valued tags) come back as ``object`` columns of
arrays, since a pandas dtype string cannot name an Arrow list type
(``pandas.read_parquet(path, dtype_backend="pyarrow")`` gives them as
Arrow lists). pyarrow, DuckDB and Polars read the Arrow schema, which is
exact.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._version import __version__
from ..client.urls import without_credentials
from ..dicom_tags import LEVELS
from .load import LoadSpec
from .registry import ATTRS_KEY
from .schema import PROBLEM_COLUMNS, empty_problems

if TYPE_CHECKING:
    from .container import Frames

__all__ = ["FORMAT_VERSION", "METADATA_FILE", "read_frames", "write_frame_parquet", "write_frames"]

FORMAT_VERSION = 1
METADATA_FILE = "frames.json"
PROBLEMS_FILE = "problems.parquet"


def _without_link(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy(deep=False)
    out.attrs = {k: v for k, v in frame.attrs.items() if k != ATTRS_KEY}
    return out


def _readable_pandas_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """pandas' own metadata, rewritten so that ``pandas.read_parquet`` can follow it.

    pandas records each column's dtype as ``str(dtype)``, which its reader
    parses back with ``pandas.api.types.pandas_dtype``. Two Arrow dtypes do
    not survive that: ``list<item: ...>[pyarrow]`` does not parse at all
    (the reader fails), and ``string[pyarrow]`` parses as pandas'
    ``StringDtype``, not the Arrow ``string`` the frames hold.
    """
    for column in metadata.get("columns", []):
        recorded = str(column.get("numpy_type", ""))
        if recorded.startswith(("list<", "large_list<")):
            column["numpy_type"] = "object"
        elif recorded == "string[pyarrow]":
            column["numpy_type"] = "utf8[pyarrow]"  # the same Arrow type, as ArrowDtype
    return metadata


def write_frame_parquet(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write one frame to a Parquet file that pandas, pyarrow and DuckDB read back as is.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame of :class:`~orthanc_frames.frames.Frames` (or any DataFrame
        with Arrow-backed columns). Its link to the Frames is not written.
    path : str or os.PathLike
        The file to write (replaced if it exists).

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    ``pandas.read_parquet(path)`` gives the frame back with the same values
    and dtypes, except list columns, which come back as ``object`` columns
    of arrays (``dtype_backend="pyarrow"`` gives Arrow lists). The Arrow
    schema itself is exact.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(_without_link(frame))
    schema_metadata = dict(table.schema.metadata or {})
    if b"pandas" in schema_metadata:
        pandas_metadata = _readable_pandas_metadata(json.loads(schema_metadata[b"pandas"]))
        schema_metadata[b"pandas"] = json.dumps(pandas_metadata).encode("utf-8")
    target = Path(path)
    pq.write_table(table.replace_schema_metadata(schema_metadata), target)
    return target


def write_frames(frames: Frames, path: str | os.PathLike[str]) -> Path:
    """Write ``frames`` into the folder ``path`` (created if needed); return it."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for level in frames.loaded_levels:
        write_frame_parquet(frames.frame(level), folder / f"{level}.parquet")
    write_frame_parquet(frames.problems.reset_index(drop=True), folder / PROBLEMS_FILE)
    metadata = {
        "format": FORMAT_VERSION,
        "orthanc_frames_version": __version__,
        "levels": list(frames.loaded_levels),
        "spec": frames.spec.to_json(),
        "last_change_seq": frames.last_change_seq,
        "server_url": without_credentials(frames.server_url) if frames.server_url else None,
        "loaded_at": frames.loaded_at.isoformat(),
    }
    temporary = folder / (METADATA_FILE + ".tmp")
    temporary.write_text(json.dumps(metadata, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(folder / METADATA_FILE)
    return folder


def _read_arrow_backed(path: Path) -> pd.DataFrame:
    # pandas' own reader cannot rebuild list<...> Arrow dtypes from its metadata.
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas(types_mapper=pd.ArrowDtype)


def read_frames(cls: type[Frames], path: str | os.PathLike[str], client: Any = None) -> Frames:
    """Read a snapshot written by :func:`write_frames`."""
    folder = Path(path)
    meta_path = folder / METADATA_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{folder} holds no {METADATA_FILE}: it is not a folder written by Frames.to_parquet."
        )
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    if int(metadata.get("format", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{folder} was written by a newer orthanc-frames "
            f"({metadata.get('orthanc_frames_version')}); upgrade to read it."
        )
    frames = {}
    for level in metadata.get("levels", []):
        if level not in LEVELS:
            continue
        frame = _read_arrow_backed(folder / f"{level}.parquet")
        frame.attrs.pop(ATTRS_KEY, None)
        frames[level] = frame
    problems_path = folder / PROBLEMS_FILE
    problems = _read_arrow_backed(problems_path) if problems_path.is_file() else empty_problems()
    problems = problems[list(PROBLEM_COLUMNS)]
    loaded_at = (
        dt.datetime.fromisoformat(metadata["loaded_at"]) if metadata.get("loaded_at") else None
    )
    return cls(
        frames,
        problems=problems,
        client=client,
        spec=LoadSpec.from_json(metadata.get("spec") or {}),
        last_change_seq=metadata.get("last_change_seq"),
        loaded_at=loaded_at,
        server_url=metadata.get("server_url"),
    )
