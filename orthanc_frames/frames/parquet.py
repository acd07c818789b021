"""Frames on disk: one Parquet file per level, the problems, and ``frames.json``.

Layout of a snapshot folder::

    patient.parquet  study.parquet  series.parquet  instance.parquet   (levels held)
    problems.parquet
    frames.json      format, package version, levels, load arguments,
                     last change seq, server URL (never credentials), time

Arrow-backed dtypes round-trip exactly. A snapshot read with
``client=`` continues :meth:`~orthanc_frames.frames.Frames.refresh` from
the change it had seen.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from ..dicom_tags import LEVELS
from .load import LoadSpec
from .registry import ATTRS_KEY
from .schema import PROBLEM_COLUMNS, empty_problems

if TYPE_CHECKING:
    from .container import Frames

__all__ = ["FORMAT_VERSION", "METADATA_FILE", "read_frames", "write_frames"]

FORMAT_VERSION = 1
METADATA_FILE = "frames.json"
PROBLEMS_FILE = "problems.parquet"


def _url_without_credentials(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _without_link(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy(deep=False)
    out.attrs = {k: v for k, v in frame.attrs.items() if k != ATTRS_KEY}
    return out


def write_frames(frames: Frames, path: str | os.PathLike[str]) -> Path:
    """Write ``frames`` into the folder ``path`` (created if needed); return it."""
    from .. import __version__

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for level in frames.loaded_levels:
        _without_link(frames.frame(level)).to_parquet(folder / f"{level}.parquet")
    frames.problems.to_parquet(folder / PROBLEMS_FILE, index=False)
    metadata = {
        "format": FORMAT_VERSION,
        "orthanc_frames_version": __version__,
        "levels": list(frames.loaded_levels),
        "spec": frames.spec.to_json(),
        "last_change_seq": frames.last_change_seq,
        "server_url": _url_without_credentials(frames.server_url),
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
