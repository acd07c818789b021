"""Frames: an Orthanc server as four linked pandas DataFrames.

This is the only layer that builds DataFrames. See :class:`Frames`.
"""

from __future__ import annotations

from . import accessor as accessor  # registers the df.orthanc accessor
from .registry import FramesLinkError, attach, lookup, register

__all__ = ["FramesLinkError", "attach", "lookup", "register"]
