"""The link between a DataFrame and the server it came from.

pandas deep-copies ``DataFrame.attrs`` on almost every operation, so a
frame carries only two small strings there::

    df.attrs["orthanc_frames"] == {"key": "frames-3", "level": "series"}

The key names an entry of a process-wide registry that holds the client
(a small object) and, through a weak reference, the
:class:`~orthanc_frames.frames.Frames` the frame belongs to: a selection
such as ``c.frames().series`` keeps working after its Frames is gone,
and registering never keeps a Frames (and its DataFrames) alive.

Most pandas operations (boolean masks, ``query``, ``loc``, ``head``,
``sort_values``, ``copy``) keep ``attrs``; some (``merge``, ``concat`` of
frames from different sources) drop them. The accessor then raises
:class:`FramesLinkError`, which says how to re-attach: ``f.attach(df,
"series")`` or ``orthanc_frames.frames.attach(df, f, "series")``.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..levels import LEVEL_NAMES, level_name

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ATTRS_KEY",
    "LEVELS",
    "FramesLinkError",
    "attach",
    "level_of",
    "lookup",
    "register",
]

ATTRS_KEY = "orthanc_frames"
"""The key of ``DataFrame.attrs`` under which a frame keeps its link."""

LEVELS = LEVEL_NAMES
"""Resource levels, top down; also the index names of the four frames."""


class FramesLinkError(LookupError):
    """A DataFrame is not (or no longer) linked to an Orthanc server."""


@dataclass
class _Entry:
    client: Any | None  # None: frames without a server (from a folder)
    frames_ref: weakref.ref[Any] | None


_entries: dict[str, _Entry] = {}
_keys_by_object: dict[int, str] = {}
_counter = itertools.count(1)
_lock = threading.Lock()


def _client_of(source: Any) -> tuple[Any, Any | None]:
    """``(client, frames or None)`` for a Frames (anything with ``.client``) or a client."""
    if hasattr(source, "client") and not callable(source.client):
        return source.client, source  # a Frames; its client may be None
    return source, None


def register(source: Any) -> str:
    """Register a Frames or a client; return the small key frames carry in ``attrs``.

    Parameters
    ----------
    source : Frames or Orthanc
        A :class:`~orthanc_frames.frames.Frames` (anything with a ``client``
        attribute) or an :class:`~orthanc_frames.Orthanc` client. The client
        is kept; a Frames only through a weak reference. Registering the
        same object twice gives the same key.

    Returns
    -------
    str
        A key such as ``"frames-3"``.
    """
    client, frames = _client_of(source)
    with _lock:
        existing = _keys_by_object.get(id(source))
        if existing is not None:
            entry = _entries.get(existing)
            if entry is not None and _owner(entry) is source:
                return existing
        key = f"frames-{next(_counter)}"
        frames_ref = weakref.ref(frames) if frames is not None else None
        _entries[key] = _Entry(client, frames_ref)
        _keys_by_object[id(source)] = key
        return key


def _owner(entry: _Entry) -> Any:
    if entry.frames_ref is not None:
        return entry.frames_ref()
    return entry.client


def attach(df: pd.DataFrame, source: Any, level: str) -> pd.DataFrame:
    """Link ``df`` to a Frames or a client at ``level``; return ``df`` (changed in place).

    Parameters
    ----------
    df : pandas.DataFrame
        Rows are resources of ``level``; the index holds their Orthanc IDs.
    source : Frames, Orthanc or str
        What to link to, or a key returned by :func:`register`.
    level : {"patient", "study", "series", "instance"}

    Returns
    -------
    pandas.DataFrame
        ``df`` itself, so that ``attach(df.merge(...), f, "series")`` reads well.
    """
    level = level_name(level)
    key = source if isinstance(source, str) else register(source)
    if key not in _entries:
        raise FramesLinkError(f"No Frames or client is registered under key {key!r}.")
    df.attrs[ATTRS_KEY] = {"key": key, "level": level}
    return df


def level_of(df: pd.DataFrame) -> str | None:
    """The level a frame holds: from its link, else from its index name, else None."""
    link = df.attrs.get(ATTRS_KEY)
    if isinstance(link, dict) and link.get("level") in LEVELS:
        return str(link["level"])
    name = df.index.name
    return name if name in LEVELS else None


def lookup(df: pd.DataFrame) -> tuple[Any, str, Any | None]:
    """``(client, level, frames or None)`` of a linked frame.

    ``client`` is None for frames that have no server (``Frames.from_folder``).

    Raises
    ------
    FramesLinkError
        When ``df`` carries no link (an operation such as ``merge`` dropped
        it), or when the client it was linked to no longer exists. The
        message says how to re-attach.
    """
    level_hint = level_of(df) or "series"
    how = (
        f"Re-attach it with f.attach(df, {level_hint!r}) or "
        f"orthanc_frames.frames.attach(df, f, {level_hint!r}), where f is the Frames "
        "(or pass an Orthanc client instead of f)."
    )
    link = df.attrs.get(ATTRS_KEY)
    if not isinstance(link, dict) or "key" not in link:
        raise FramesLinkError(
            "This DataFrame is not linked to an Orthanc server: the operation that made "
            "it (a merge, a concat, a new DataFrame, ...) dropped the link. " + how
        )
    level = level_of(df)
    if level is None:
        raise FramesLinkError(f"This DataFrame's link names no valid level ({link!r}). " + how)
    with _lock:
        entry = _entries.get(str(link["key"]))
    frames = entry.frames_ref() if entry is not None and entry.frames_ref is not None else None
    client = entry.client if entry is not None else None
    if entry is None or (client is None and frames is None):
        raise FramesLinkError(
            f"This DataFrame was linked (key {link['key']!r}) to a client or Frames that "
            "no longer exists. " + how
        )
    return client, level, frames
