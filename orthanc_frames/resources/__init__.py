"""Resource objects: Patient, Study, Series, Instance (one shared base) and Job.

This layer knows nothing of DataFrames: it turns Orthanc's JSON into
Python objects with typed main DICOM tags, parents and children.
"""

from __future__ import annotations

from .base import Resource
from .instance import Instance
from .job import Job, JobError, JobFailed, JobLost, JobState, JobTimeout
from .modification import Modification, modification_options
from .patient import Patient
from .series import Series
from .study import Study

RESOURCE_CLASSES: dict[str, type[Resource]] = {
    "patient": Patient,
    "study": Study,
    "series": Series,
    "instance": Instance,
}
"""The resource class of each level name."""

__all__ = [
    "RESOURCE_CLASSES",
    "Instance",
    "Job",
    "JobError",
    "JobFailed",
    "JobLost",
    "JobState",
    "JobTimeout",
    "Modification",
    "Patient",
    "Resource",
    "Series",
    "Study",
    "modification_options",
]
