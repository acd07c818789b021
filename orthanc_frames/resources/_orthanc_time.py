"""Orthanc's own time stamps (``LastUpdate``, job times) as ``datetime``."""

from __future__ import annotations

import datetime as dt

__all__ = ["parse_orthanc_timestamp"]


def parse_orthanc_timestamp(text: str | None) -> dt.datetime | None:
    """``20240131T101500`` (optionally ``.ffffff``) as a naive datetime (server local time).

    Returns ``None`` for an empty value; raises ``ValueError`` for anything else.
    """
    if not text:
        return None
    for fmt in ("%Y%m%dT%H%M%S.%f", "%Y%m%dT%H%M%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"not an Orthanc time stamp (YYYYMMDDTHHMMSS): {text!r}")
