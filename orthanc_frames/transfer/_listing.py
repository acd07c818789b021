"""The capped listing of failed files that download and upload errors show."""

from __future__ import annotations

from collections.abc import Sequence

_SHOWN = 10


def capped_listing(lines: Sequence[str]) -> str:
    """The first ten ``lines``, one a line, then how many more there are."""
    more = f"\n... and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
    return "\n".join(lines[:_SHOWN]) + more
