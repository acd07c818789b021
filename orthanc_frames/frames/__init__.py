"""Frames: an Orthanc server as four linked pandas DataFrames.

This is the only layer that builds DataFrames. See :class:`Frames`.
"""

from __future__ import annotations

from .container import Frames
from .registry import FramesLinkError, attach, lookup, register

__all__ = ["Frames", "FramesLinkError", "attach", "lookup", "register"]
