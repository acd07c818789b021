"""Progress bars, the same way everywhere: on in notebooks and terminals, off otherwise."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["progress_bar", "resolve_progress"]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def resolve_progress(progress: bool | None) -> bool:
    """Whether to show a progress bar.

    ``True``/``False`` are obeyed. ``None`` (the default everywhere) shows
    one in a Jupyter notebook or an interactive terminal, and none when
    output goes to a file, a pipe, CI or a test run
    (``ORTHANC_FRAMES_PROGRESS=0`` turns them off, ``=1`` on).
    """
    if progress is not None:
        return bool(progress)
    forced = os.environ.get("ORTHANC_FRAMES_PROGRESS", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False
    if forced in ("1", "true", "yes", "on"):
        return True
    if os.environ.get("CI") or "PYTEST_CURRENT_TEST" in os.environ:
        return False
    if _in_notebook():
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(
    total: int | None,
    desc: str = "",
    enabled: bool | None = None,
    unit: str = "it",
    **kwargs: Any,
) -> Any:
    """A ``tqdm.auto`` bar (notebook widget in Jupyter, text in a terminal).

    Use it as a context manager and call ``.update(n)``. When disabled
    (see :func:`resolve_progress`) it is a silent bar with the same API.
    """
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not resolve_progress(enabled),
        leave=kwargs.pop("leave", True),
        **kwargs,
    )
