"""orthanc-frames: an Orthanc DICOM server as four linked pandas DataFrames.

The package is layered (imports only point down)::

    widgets/  cli.py                 person-facing: browser, actions, demo command
    frames/                          Frames container, loaders, schema, df.orthanc accessor
    resources/ find.py transfer.py   Patient/Study/Series/Instance, Job, Modality, find, transfer
    client/                          Orthanc / AsyncOrthanc: HTTP, auth, retries, errors, REST

Start with :class:`Orthanc` (or :meth:`Orthanc.from_env`) and ``c.frames()``.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .client import (
    AsyncOrthanc,
    BadRequest,
    Capabilities,
    ConfigurationError,
    ConnectionError,  # noqa: F401  (of.ConnectionError; not in __all__, see there)
    Forbidden,
    HTTPError,
    InsecureTLSWarning,
    NotFound,
    Orthanc,
    OrthancAsync,
    OrthancError,
    OutcomeUnknown,
    ServerError,
    Timeout,  # noqa: F401  (of.Timeout; not in __all__, see there)
    Unauthorized,
    UnsupportedByServer,
)
from .dicom_tags import UnknownKeywordError
from .find import (
    find_and_filter_instances,
    find_and_filter_patients,
    find_and_filter_series,
    find_and_filter_studies,
    find_instances,
    find_patients,
    find_series,
    find_studies,
    query_orthanc,
)
from .frames import Frames
from .frames import accessor as _accessor  # noqa: F401  (registers the df.orthanc accessor)
from .frames.accessor import OrthancLinkError
from .frames.load import ExtraTagsCostWarning
from .levels import Level
from .resources import (
    Instance,
    Job,
    JobError,
    JobFailed,
    JobLost,
    JobState,
    JobTimeout,
    Patient,
    Resource,
    Series,
    Study,
)
from .resources.modality import (
    EchoResult,
    Modality,
    Peer,
    QueryAnswers,
    RemoteModality,
    list_modalities,
    list_peers,
)
from .transfer import (
    DownloadItem,
    DownloadReport,
    RejectedFile,
    StoredInstance,
    UnsafePathError,
    UploadReport,
    download,
    retrieve_and_write_instances,
    retrieve_and_write_patients,
    retrieve_and_write_series,
    retrieve_and_write_studies,
    upload,
)


def browse(frames_or_df: Any, *, page_size: int = 10, chunk_size: int = 4) -> Any:
    """Open an ipywidgets browser on frames or on a linked selection of them.

    Filters (free text, modality, date range, labels), linked patient →
    study → series tables, a preview with a slider over the instances of the
    picked series, its tags, and an action bar (label, anonymize, download,
    delete) with progress, Cancel and a result table.

    Parameters
    ----------
    frames_or_df : Frames or pandas.DataFrame
        ``f`` from ``client.frames()``, or a selection of it to start from,
        e.g. ``f.series.query("Modality == 'CT'")``.
    page_size : int
        Rows per table page.
    chunk_size : int
        Resources acted on at once; Cancel stops between two groups.

    Returns
    -------
    orthanc_frames.widgets.Browser
        Display it; ``browser.selection`` is the picked rows as a linked
        DataFrame (``browser.selection.orthanc.add_label(...)`` works).

    Notes
    -----
    Needs the ``widgets`` extra (ipywidgets 8). See
    :func:`orthanc_frames.widgets.browse`.
    """
    from .widgets import browse as _browse

    return _browse(frames_or_df, page_size=page_size, chunk_size=chunk_size)


__all__ = [
    "AsyncOrthanc",
    "BadRequest",
    "Capabilities",
    "ConfigurationError",
    "DownloadItem",
    "DownloadReport",
    "EchoResult",
    "ExtraTagsCostWarning",
    "Forbidden",
    "Frames",
    "HTTPError",
    "InsecureTLSWarning",
    "Instance",
    "Job",
    "JobError",
    "JobFailed",
    "JobLost",
    "JobState",
    "JobTimeout",
    "Level",
    "Modality",
    "NotFound",
    "Orthanc",
    "OrthancAsync",
    "OrthancError",
    "OrthancLinkError",
    "OutcomeUnknown",
    "Patient",
    "Peer",
    "QueryAnswers",
    "RejectedFile",
    "RemoteModality",
    "Resource",
    "Series",
    "ServerError",
    "StoredInstance",
    "Study",
    "Unauthorized",
    "UnknownKeywordError",
    "UnsafePathError",
    "UnsupportedByServer",
    "UploadReport",
    "__version__",
    "browse",
    "download",
    "find_and_filter_instances",
    "find_and_filter_patients",
    "find_and_filter_series",
    "find_and_filter_studies",
    "find_instances",
    "find_patients",
    "find_series",
    "find_studies",
    "list_modalities",
    "list_peers",
    "query_orthanc",
    "retrieve_and_write_instances",
    "retrieve_and_write_patients",
    "retrieve_and_write_series",
    "retrieve_and_write_studies",
    "upload",
]
"""What ``from orthanc_frames import *`` gives.

:class:`ConnectionError` and :class:`Timeout` are left out on purpose: the
first would replace Python's own ``ConnectionError`` in the importing
module, the second takes a name too common to claim. Use them as
``of.ConnectionError`` and ``of.Timeout``; they subclass the builtins
``ConnectionError`` and ``TimeoutError``, so ``except ConnectionError`` and
``except TimeoutError`` catch them too.
"""
