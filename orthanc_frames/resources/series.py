"""A series on an Orthanc server."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .base import main_tag_property
from .instance import Instance
from .parent import ParentResource

if TYPE_CHECKING:
    from .patient import Patient
    from .study import Study

__all__ = ["Series"]


class Series(ParentResource):
    """A series on an Orthanc server.

    Parameters
    ----------
    id : str
        The Orthanc ID of the series.
    client : Orthanc
        The client of the server.
    lock_children : bool
        Keep the instances read the first time (see :class:`Resource`).
    """

    level = "series"
    _child_class = Instance

    @property
    def uid(self) -> str | None:
        """``SeriesInstanceUID``."""
        return self._typed_main_tag("SeriesInstanceUID")

    @property
    def modality(self) -> str | None:
        """``Modality`` (``"CT"``, ``"MR"``...)."""
        return self._typed_main_tag("Modality")

    @property
    def description(self) -> str | None:
        """``SeriesDescription``."""
        return self._typed_main_tag("SeriesDescription")

    @property
    def series_number(self) -> int | None:
        """``SeriesNumber``."""
        return self._typed_main_tag("SeriesNumber")

    @property
    def date(self) -> dt.date | None:
        """``SeriesDate``."""
        return self._typed_main_tag("SeriesDate")

    @property
    def time(self) -> dt.time | None:
        """``SeriesTime``."""
        return self._typed_main_tag("SeriesTime")

    @property
    def image_orientation_patient(self) -> list[float] | None:
        """``ImageOrientationPatient``: six direction cosines."""
        return self._typed_main_tag("ImageOrientationPatient")

    manufacturer = main_tag_property("Manufacturer", "Manufacturer")
    body_part_examined = main_tag_property("BodyPartExamined", "Body part examined")
    station_name = main_tag_property("StationName", "Station name")
    protocol_name = main_tag_property("ProtocolName", "Protocol name")
    sequence_name = main_tag_property("SequenceName", "Sequence name")
    series_type = main_tag_property("SeriesType", "Series type")
    operators_name = main_tag_property("OperatorsName", "Operators' names")
    performed_procedure_step_description = main_tag_property(
        "PerformedProcedureStepDescription", "Performed procedure step"
    )
    acquisition_device_processing_description = main_tag_property(
        "AcquisitionDeviceProcessingDescription", "Acquisition device processing"
    )
    contrast_bolus_agent = main_tag_property("ContrastBolusAgent", "Contrast/bolus agent")
    cardiac_number_of_images = main_tag_property("CardiacNumberOfImages", "Cardiac images")
    images_in_acquisition = main_tag_property("ImagesInAcquisition", "Images in acquisition")
    image_in_acquisition = images_in_acquisition
    """``ImagesInAcquisition`` under the R package's name (see :attr:`images_in_acquisition`)."""
    number_of_temporal_positions = main_tag_property(
        "NumberOfTemporalPositions", "Temporal positions"
    )
    number_of_slices = main_tag_property("NumberOfSlices", "Slices")
    number_of_time_slices = main_tag_property("NumberOfTimeSlices", "Time slices")

    @property
    def expected_number_of_instances(self) -> int | None:
        """How many instances the series should have, when Orthanc can tell."""
        value = self._info("ExpectedNumberOfInstances")
        return None if value is None else int(value)

    @property
    def status(self) -> str | None:
        """Orthanc's completeness status (``"Complete"``, ``"Missing"``, ``"Unknown"``...)."""
        value = self._info("Status")
        return None if value is None else str(value)

    @property
    def study_identifier(self) -> str:
        """The Orthanc ID of the parent study."""
        return str(self._info("ParentStudy"))

    @property
    def parent_study(self) -> Study:
        """The study of this series."""
        from .study import Study

        return self._parent_resource(Study)

    @property
    def parent_patient(self) -> Patient:
        """The patient of this series."""
        return self.parent_study.parent_patient

    @property
    def instances(self) -> list[Instance]:
        """The series' instances, with their main tags, in one request."""
        return self._resources_below(Instance)

    def get_nifti(self, compress: bool = False) -> bytes:
        """The series as a NIfTI volume, in memory (needs Orthanc's ``neuro`` plugin).

        Parameters
        ----------
        compress : bool
            gzip-compressed NIfTI (``.nii.gz``).
        """
        return self._get_nifti(compress)

    def download_nifti(self, path: str | os.PathLike[str], compress: bool = False) -> Path:
        """Write the series as NIfTI to ``path`` (needs the ``neuro`` plugin).

        Parameters
        ----------
        path : path-like
            A file, or an existing folder: the file is then
            ``{SeriesInstanceUID}.nii`` (``.nii.gz`` when compressed) in it.
        compress : bool
            gzip-compressed NIfTI.

        Returns
        -------
        pathlib.Path
            The file written (written under a temporary name, then renamed).
        """
        return self._download_nifti(path, compress)

    def remove_empty_instances(self) -> None:
        """The R package's ``remove_empty_instances``: the rule of ``remove_empty_*``, one level down.

        ``remove_empty_studies`` and ``remove_empty_series`` drop, from the
        locked children, those left with no children of their own (after
        :func:`orthanc_frames.find_and_filter_patients` or
        :meth:`set_child_resources`). An instance is a file and has no
        children: it is never empty, so every locked instance stays. The
        instances an ``instance_filter`` refused are not in the list to
        begin with. The call is kept so that R code runs unchanged.
        """
        self._remove_empty_children()
