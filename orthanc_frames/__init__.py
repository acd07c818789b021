"""orthanc-frames: an Orthanc DICOM server as four linked pandas DataFrames.

The package is layered (imports only point down)::

    widgets/  cli.py                 person-facing: browser, actions, demo command
    frames/                          Frames container, loaders, schema, df.orthanc accessor
    resources/ find.py transfer.py   Patient/Study/Series/Instance, Job, Modality, find, transfer
    client/                          Orthanc / AsyncOrthanc: HTTP, auth, retries, errors, REST

Start with :class:`Orthanc` (or :meth:`Orthanc.from_env`) and ``c.frames()``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .client import (
    AsyncOrthanc,
    BadRequest,
    Capabilities,
    ConfigurationError,
    ConnectionError,
    Forbidden,
    HTTPError,
    InsecureTLSWarning,
    NotFound,
    Orthanc,
    OrthancError,
    ServerError,
    Timeout,
    Unauthorized,
    UnsupportedByServer,
)
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
from .frames import accessor as _accessor  # registers the df.orthanc accessor
from .resources import (
    Instance,
    Job,
    JobFailed,
    JobState,
    JobTimeout,
    Patient,
    Resource,
    Series,
    Study,
)

__all__ = [
    "AsyncOrthanc",
    "BadRequest",
    "Capabilities",
    "ConfigurationError",
    "ConnectionError",
    "Forbidden",
    "Frames",
    "HTTPError",
    "InsecureTLSWarning",
    "Instance",
    "Job",
    "JobFailed",
    "JobState",
    "JobTimeout",
    "NotFound",
    "Orthanc",
    "OrthancError",
    "Patient",
    "Resource",
    "Series",
    "ServerError",
    "Study",
    "Timeout",
    "Unauthorized",
    "UnsupportedByServer",
    "__version__",
    "find_and_filter_instances",
    "find_and_filter_patients",
    "find_and_filter_series",
    "find_and_filter_studies",
    "find_instances",
    "find_patients",
    "find_series",
    "find_studies",
    "query_orthanc",
]
