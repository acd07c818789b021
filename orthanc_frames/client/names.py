"""The rules for text that becomes part of a route: Orthanc IDs, labels, metadata and attachment names.

Each rule is checked here, once, before anything is sent; every layer
(resources, bulk actions, the browser) calls these checkers. A refused value
raises ``TypeError`` (not a string) or ``ValueError`` naming the argument and
the value. Routes themselves are built by :func:`orthanc_frames.client.route`,
which quotes every segment; these rules say which values make sense at all.

Orthanc's own rules:

- **Orthanc IDs** are SHA-1 digests written as five groups of eight
  lowercase hexadecimal digits joined by ``-`` (44 characters).
- **Labels** are 1 to 64 letters, digits, ``_`` or ``-`` (Orthanc refuses
  anything else).
- **Metadata** are named by a built-in name (``LastUpdate``,
  ``AnonymizedFrom``...), a user metadata declared in the configuration
  (``UserMetadata``) or its number (1024-65535); **attachments** likewise
  (``dicom``, ``UserContentType`` names, numbers). Orthanc resolves the
  name on its side; here a name is 1 to 64 letters, digits, ``_``, ``-``
  or ``.``, and not only dots.
"""

from __future__ import annotations

import re

__all__ = [
    "check_attachment_name",
    "check_label",
    "check_metadata_name",
    "check_orthanc_id",
    "is_orthanc_id",
]

_ORTHANC_ID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{8}){4}")
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_orthanc_id(value: object) -> bool:
    """Whether ``value`` is written like an Orthanc ID (``"0946fcb6-cf12ab43-..."``)."""
    return isinstance(value, str) and _ORTHANC_ID.fullmatch(value) is not None


def _require_text(value: object, argument: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"{argument} must be a string ({what}), not {type(value).__name__} {value!r}."
        )
    return value


def check_orthanc_id(value: object, argument: str = "id") -> str:
    """Return ``value`` if it is an Orthanc ID; raise otherwise.

    Parameters
    ----------
    value : object
        The candidate, e.g. ``"0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c"``.
    argument : str
        The argument's name, for the message.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        ``value`` is not a string.
    ValueError
        ``value`` is not five groups of eight lowercase hex digits joined by ``-``.

    Examples
    --------
    >>> check_orthanc_id("0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c")
    '0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c'
    >>> check_orthanc_id("../patients")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: id must be an Orthanc ID ...
    """
    text = _require_text(value, argument, "an Orthanc ID")
    if _ORTHANC_ID.fullmatch(text) is None:
        raise ValueError(
            f"{argument} must be an Orthanc ID (five groups of 8 lowercase hex digits joined "
            f"by '-', like '0946fcb6-cf12ab43-bad958c1-bf057ad5-0fc6f54c'), not {text!r}."
        )
    return text


def check_label(value: object, argument: str = "label") -> str:
    """Return ``value`` if Orthanc accepts it as a label; raise otherwise.

    A label is 1 to 64 letters, digits, ``_`` or ``-``. Parameters, return
    value and errors as in :func:`check_orthanc_id`.

    Examples
    --------
    >>> check_label("cohort-a")
    'cohort-a'
    >>> check_label("lbl?x=1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: label 'lbl?x=1' is not a valid Orthanc label: ...
    """
    text = _require_text(value, argument, "a label")
    if _LABEL.fullmatch(text) is None:
        raise ValueError(
            f"{argument} {text!r} is not a valid Orthanc label: as Orthanc requires, a label "
            "is a non-empty alphanumeric string (ASCII letters and digits), possibly with '_' "
            f"or '-', of at most 64 characters{_why(text, 64)}."
        )
    return text


def _check_name(value: object, argument: str, kind: str, examples: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a user metadata or content type by its number
    text = _require_text(value, argument, f"{kind} name")
    if _NAME.fullmatch(text) is None or set(text) == {"."}:
        raise ValueError(
            f"{argument} {text!r} is not a valid {kind} name: a name is 1 to 64 letters, "
            f"digits, '_', '-' or '.' (not only dots), e.g. {examples}{_why(text, 64)}."
        )
    return text


def check_metadata_name(value: object, argument: str = "name") -> str:
    """Return ``value`` if it can name a metadata; raise otherwise.

    Orthanc names metadata by a built-in name (``LastUpdate``...), a name
    from its ``UserMetadata`` configuration, or a number (1024-65535).

    Parameters
    ----------
    value : str or int
        The candidate name (an int is taken as the metadata's number).
    argument : str
        The argument's name, for the message.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        ``value`` is neither a string nor an integer.
    ValueError
        ``value`` is empty, too long, only dots, or holds another character
        than letters, digits, ``_``, ``-`` and ``.``.
    """
    return _check_name(value, argument, "metadata", "'LastUpdate', a UserMetadata name or '1024'")


def check_attachment_name(value: object, argument: str = "name") -> str:
    """Return ``value`` if it can name an attachment; raise otherwise.

    Orthanc names attachments by a built-in name (``dicom``...), a name from
    its ``UserContentType`` configuration, or a number (1024-65535). The
    rule is that of :func:`check_metadata_name`.
    """
    return _check_name(value, argument, "attachment", "'dicom', a UserContentType name or '1024'")


def _why(text: str, longest: int) -> str:
    if not text:
        return " (it is empty)"
    if len(text) > longest:
        return f" (it has {len(text)} characters)"
    return ""
