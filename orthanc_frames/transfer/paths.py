"""Safe local paths built from DICOM values.

Every folder and file name of a download comes from values a remote party
controls (``PatientID``, ``PatientName``, descriptions). Two rules keep
those values from writing anywhere else:

1. :func:`safe_component` turns any value into one harmless path
   component (no separator, no ``..``, no control character, no reserved
   Windows name, bounded length);
2. :func:`join_inside` joins components under a root and *proves* the
   result lies inside the root after resolving it, or refuses.

Examples
--------
>>> safe_component("../../etc/passwd")
'etc_passwd'
>>> safe_component("CON", fallback="x")
'_CON'
>>> safe_component("...", fallback="1.2.3")
'1.2.3'
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from ..client.errors import OrthancError

__all__ = [
    "MAX_COMPONENT_BYTES",
    "UnsafePathError",
    "join_inside",
    "safe_component",
    "unique_names",
]

MAX_COMPONENT_BYTES = 120
"""Longest component, in UTF-8 bytes (file systems allow 255; room is left for suffixes)."""

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
# Separators of every OS, characters Windows forbids, and every control character.
_FORBIDDEN = re.compile(r'[/\\<>:"|?*\x00-\x1f\x7f-\x9f]')
_RUNS_OF_REPLACEMENTS = re.compile(r"_{2,}")
_WHITESPACE = re.compile(r"[ \t\n\r\f\v\u00a0\u2000-\u200b\u3000]+")


K = TypeVar("K", bound=Hashable)


class UnsafePathError(OrthancError, ValueError):
    """A path built from DICOM values would lie outside the download folder."""


def safe_component(value: object, fallback: str = "unnamed") -> str:
    """Turn any value into one harmless file or folder name.

    Separators (``/``, ``\\``), characters Windows forbids (``<>:"|?*``),
    NUL and other control characters become ``_``; whitespace runs become
    one space; leading and trailing dots and spaces go (so ``..`` and
    hidden names cannot appear); reserved Windows device names (``CON``,
    ``NUL``, ``COM1``...) get a leading ``_``; the result is cut to
    :data:`MAX_COMPONENT_BYTES` UTF-8 bytes.

    Parameters
    ----------
    value : object
        The raw value, e.g. a ``PatientName``; ``None`` counts as empty.
    fallback : str
        Used when nothing is left of ``value`` (typically an Orthanc ID or a
        UID); it is sanitized the same way and must not end up empty.

    Returns
    -------
    str
        A non-empty name without any path meaning.

    Raises
    ------
    ValueError
        When both ``value`` and ``fallback`` sanitize to nothing.
    """
    name = _clean(value)
    if not name:
        name = _clean(fallback)
    if not name:
        raise ValueError(
            f"Neither {value!r} nor the fallback {fallback!r} gives a usable file name; "
            "pass a non-empty fallback such as the resource's Orthanc ID."
        )
    return name


def _clean(value: object) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = _WHITESPACE.sub(" ", text)
    text = _FORBIDDEN.sub("_", text)
    text = _RUNS_OF_REPLACEMENTS.sub("_", text)
    text = text.strip(" ._")
    text = _truncate_utf8(text, MAX_COMPONENT_BYTES).rstrip(" .")
    stem = text.split(".", 1)[0].strip().upper()
    if stem in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def join_inside(root: str | os.PathLike[str], *components: str) -> Path:
    """Join ``components`` under ``root`` and prove the result lies inside it.

    The joined path is resolved (``..`` and symbolic links followed) and
    must be strictly inside the resolved ``root``; nothing is created.

    Parameters
    ----------
    root : path-like
        The download folder.
    *components : str
        Path components, normally from :func:`safe_component`.

    Returns
    -------
    pathlib.Path
        The resolved path.

    Raises
    ------
    UnsafePathError
        When the result would be ``root`` itself or outside it (a component
        that escapes, or a symbolic link inside ``root`` pointing out).
    """
    base = Path(root).resolve()
    candidate = base.joinpath(*components).resolve()
    if candidate == base or not candidate.is_relative_to(base):
        raise UnsafePathError(
            f"Refusing to write {'/'.join(components)!r}: it resolves to {candidate}, "
            f"which is not inside the download folder {base}. The names come from DICOM "
            "values; pass them through safe_component(), and check for symbolic links in "
            "the download folder."
        )
    return candidate


def unique_names(names: Mapping[K, str], suffixes: Mapping[K, str]) -> dict[K, str]:
    """Make names unique within one folder, case-insensitively.

    Keys whose names collide (``"A"`` and ``"a"`` are the same file on
    macOS and Windows) get ``" [suffix]"`` appended, where the suffix is
    given per key (e.g. the first 8 characters of the Orthanc ID); when a
    collision remains, the whole suffix text replaces the name. The result
    depends only on the input, so a re-run names everything the same way.

    Parameters
    ----------
    names : mapping
        Key (e.g. an Orthanc ID) to proposed name.
    suffixes : mapping
        Key to a distinguishing text, unique per key.

    Returns
    -------
    dict
        Key to final name, unique when compared case-insensitively.
    """
    groups: dict[str, list[K]] = {}
    for key, name in names.items():
        groups.setdefault(name.casefold(), []).append(key)
    result: dict[K, str] = {}
    for keys in groups.values():
        if len(keys) == 1:
            result[keys[0]] = names[keys[0]]
            continue
        for key in keys:
            result[key] = _with_suffix(names[key], suffixes[key])
    if len({name.casefold() for name in result.values()}) < len(result):
        taken = _collisions(result.values())
        for key, name in result.items():
            if name.casefold() in taken:
                result[key] = safe_component(suffixes[key])
    return result


def _with_suffix(name: str, suffix: str) -> str:
    tail = f" [{suffix}]"
    room = MAX_COMPONENT_BYTES - len(tail.encode("utf-8"))
    return _truncate_utf8(name, max(room, 1)).rstrip(" .") + tail


def _collisions(names: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    twice: set[str] = set()
    for name in names:
        folded = name.casefold()
        (twice if folded in seen else seen).add(folded)
    return twice
