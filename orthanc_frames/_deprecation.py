"""Old keyword names kept working for a while: one rule for every renamed keyword."""

from __future__ import annotations

import warnings
from typing import TypeVar

__all__ = ["renamed_keyword"]

T = TypeVar("T")


def renamed_keyword(
    old: str, old_value: T | None, new: str, new_value: T | None, *, stacklevel: int = 3
) -> T | None:
    """The value of keyword ``new``, also given under its deprecated name ``old``.

    ``old=...`` still works but warns (:class:`DeprecationWarning`, naming
    ``new``); giving both is a :class:`TypeError`. ``stacklevel`` points the
    warning at the user's call (3: the caller of the function that asks).

    Examples
    --------
    >>> renamed_keyword("timeout", None, "wait", 5)
    5
    """
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"{old}= is the old name of {new}=: give {new}= only.")
    warnings.warn(
        f"{old}= is deprecated here: use {new}= (same meaning).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return old_value
