"""Moving DICOM data between an Orthanc server and local files.

- :func:`download` (and ``retrieve_and_write_patients`` / ``_studies`` /
  ``_series`` / ``_instances`` for resource objects): DICOM files in a
  ``Patient/Study/Series`` layout, ZIP archives or NIfTI volumes, with
  sanitized names proven to stay inside the download folder, atomic
  writes, and skipping of complete files on a re-run;
- :func:`upload`: files, folders, ZIP archives and pydicom datasets, with
  an account of what was stored and what was rejected and why;
- :func:`safe_component` / :func:`join_inside`: the path rules downloads
  follow, usable on their own.
"""

from __future__ import annotations

from .download import (
    DownloadFormat,
    DownloadItem,
    DownloadReport,
    download,
    retrieve_and_write_instances,
    retrieve_and_write_patients,
    retrieve_and_write_series,
    retrieve_and_write_studies,
)
from .paths import UnsafePathError, join_inside, safe_component
from .upload import RejectedFile, StoredInstance, UploadReport, upload

__all__ = [
    "DownloadFormat",
    "DownloadItem",
    "DownloadReport",
    "RejectedFile",
    "StoredInstance",
    "UnsafePathError",
    "UploadReport",
    "download",
    "join_inside",
    "retrieve_and_write_instances",
    "retrieve_and_write_patients",
    "retrieve_and_write_series",
    "retrieve_and_write_studies",
    "safe_component",
    "upload",
]
