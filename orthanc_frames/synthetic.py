"""A deterministic synthetic DICOM cohort for tests, demos and benchmarks.

:func:`write_cohort` writes ``patients x studies x series x instances``
valid CT and MR Image Storage files (Explicit VR Little Endian, real
16-bit pixel data, consistent axial geometry, so Orthanc's neuro plugin
exports NIfTI). The same arguments always give the same bytes: UIDs are
derived from the seed and the position in the cohort.

What the cohort exercises:

- UTF-8 names (``SpecificCharacterSet`` ``ISO_IR 192``), a Latin-1 name
  (``ISO_IR 100``) and plain ASCII names without a character set;
- multi-valued tags: ``ImageType``, ``PixelSpacing``,
  ``ImageOrientationPatient``, ``ImagePositionPatient``;
- ``StudyDate`` over several months and years, ``SliceThickness`` of 1.0,
  2.5 and 5.0 mm, CT and MR series in every study;
- with ``invalid_values=True``, one more patient whose ``PatientBirthDate``
  is ``"19991399"`` (no such date) and, in it, one series whose
  ``SliceThickness`` is ``"thick"`` (not a number). Orthanc stores both.

Command line::

    python -m orthanc_frames.synthetic OUTDIR --patients 4 --studies 2 --series 2 --instances 4
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

__all__ = [
    "INVALID_BIRTH_DATE",
    "INVALID_SLICE_THICKNESS",
    "SLICE_THICKNESSES",
    "CohortSummary",
    "main",
    "write_cohort",
]

SOP_CLASS_UIDS = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4"}
SLICE_THICKNESSES = (1.0, 2.5, 5.0)
INVALID_BIRTH_DATE = "19991399"
INVALID_SLICE_THICKNESS = "thick"

# (PatientName, SpecificCharacterSet or None); patients past the list are ASCII.
_NAMED_PATIENTS: tuple[tuple[str, str | None], ...] = (
    ("Müller^Jürgen", "ISO_IR 192"),
    ("Dupont^Hélène", "ISO_IR 100"),
    ("Ωμέγα^Άλφα", "ISO_IR 192"),
    ("山田^太郎", "ISO_IR 192"),
    ("Smith^John", None),
)
_INVALID_PATIENT_NAME = "Invalid^Values"
_SEXES = ("M", "F", "O")
_BODY_PARTS = ("HEAD", "CHEST", "ABDOMEN", "PELVIS")
_INSTITUTIONS = ("General Hospital", "Clinique Saint-Luc", "University Medical Center")
_MANUFACTURERS = {"CT": "ACME Medical", "MR": "Imaging Corp"}
_FIRST_STUDY_DATE = datetime.date(2019, 1, 15)
_DAYS_BETWEEN_STUDIES = 137


@dataclass(frozen=True)
class CohortSummary:
    """What :func:`write_cohort` wrote.

    Attributes
    ----------
    outdir : Path
        Root folder; files are ``outdir/p{P}/st{S}/se{R}/{I:04d}.dcm``.
    patients, studies, series, instances : int
        Number of resources written at each level (totals, including the
        invalid-values patient when there is one).
    files : tuple of Path
        Every file written, in write order.
    patient_ids : tuple of str
        ``PatientID`` of each patient, in order.
    patient_names : dict of str to str
        ``PatientName`` by ``PatientID``.
    study_uids, series_uids : tuple of str
        ``StudyInstanceUID`` and ``SeriesInstanceUID`` values, in order.
    modalities : dict of str to str
        ``Modality`` by ``SeriesInstanceUID``.
    invalid_birth_date_patient_id : str or None
        ``PatientID`` of the patient with ``PatientBirthDate`` ``"19991399"``.
    invalid_slice_thickness_series_uid : str or None
        ``SeriesInstanceUID`` of the series with ``SliceThickness`` ``"thick"``.
    """

    outdir: Path
    patients: int
    studies: int
    series: int
    instances: int
    files: tuple[Path, ...]
    patient_ids: tuple[str, ...]
    patient_names: dict[str, str] = field(default_factory=dict)
    study_uids: tuple[str, ...] = ()
    series_uids: tuple[str, ...] = ()
    modalities: dict[str, str] = field(default_factory=dict)
    invalid_birth_date_patient_id: str | None = None
    invalid_slice_thickness_series_uid: str | None = None


@dataclass(frozen=True)
class _PatientSpec:
    index: int
    patient_id: str
    name: str
    charset: str | None
    birth_date: str
    sex: str
    invalid: bool


def _uid(seed: int, *position: object) -> str:
    return generate_uid(entropy_srcs=["orthanc-frames", str(seed), *map(str, position)])


def _raw(keyword_tag: int, vr: str, text: str) -> RawDataElement:
    # Written verbatim: pydicom would refuse (or "fix") a value that breaks its VR.
    value = text.encode("ascii")
    if len(value) % 2:
        value += b" "
    return RawDataElement(Tag(keyword_tag), vr, len(value), value, 0, False, True)


def _patient_spec(index: int, seed: int, invalid: bool) -> _PatientSpec:
    if invalid:
        return _PatientSpec(
            index, f"OF{seed}-INVALID", _INVALID_PATIENT_NAME, None, INVALID_BIRTH_DATE, "O", True
        )
    name, charset = (
        _NAMED_PATIENTS[index]
        if index < len(_NAMED_PATIENTS)
        else (f"Doe^Patient{index:03d}", None)
    )
    birth = datetime.date(1940 + (index * 7) % 60, index % 12 + 1, (index * 5) % 28 + 1)
    return _PatientSpec(
        index,
        f"OF{seed}-P{index:03d}",
        name,
        charset,
        birth.strftime("%Y%m%d"),
        _SEXES[index % len(_SEXES)],
        False,
    )


def _pixels(size: int, slice_index: int, series_index: int, seed: int) -> bytes:
    y, x = np.mgrid[0:size, 0:size]
    centre = (size - 1) / 2
    radius = np.hypot(x - centre, y - centre)
    phantom = np.where(radius < size * 0.4, 1000 + 20 * slice_index, 24)
    texture = (x * 7 + y * 3 + slice_index * 13 + series_index * 5 + seed * 17) % 64
    return (phantom + texture).astype("<u2").tobytes()


def write_cohort(
    outdir: str | os.PathLike[str],
    patients: int = 4,
    studies: int = 2,
    series: int = 2,
    instances: int = 4,
    size: int = 32,
    seed: int = 0,
    invalid_values: bool = False,
    modalities: Sequence[str] = ("CT", "MR"),
) -> CohortSummary:
    """Write a deterministic synthetic cohort of DICOM files.

    Parameters
    ----------
    outdir : str or Path
        Folder to write into (created if needed).
    patients : int
        Regular patients (the invalid-values patient comes on top).
    studies : int
        Studies per patient.
    series : int
        Series per study; modalities alternate along ``modalities``.
    instances : int
        Slices per series.
    size : int
        Rows and columns of every image.
    seed : int
        Changes every UID, ``PatientID`` and the pixel texture; tag values
        otherwise depend only on the position in the cohort.
    invalid_values : bool
        Add one patient with ``PatientBirthDate`` ``"19991399"`` whose first
        series has ``SliceThickness`` ``"thick"``.
    modalities : sequence of str
        Modalities to cycle through, among ``"CT"`` and ``"MR"``.

    Returns
    -------
    CohortSummary
        Counts per level, the files written, the patient ids and UIDs.

    Raises
    ------
    ValueError
        For a modality other than CT or MR, or a count below 1.

    Examples
    --------
    >>> import tempfile
    >>> summary = write_cohort(tempfile.mkdtemp(), patients=1, studies=1, series=2, instances=2)
    >>> summary.instances, sorted(summary.modalities.values())
    (4, ['CT', 'MR'])
    """
    unknown = sorted(set(modalities) - set(SOP_CLASS_UIDS))
    if unknown or not modalities:
        raise ValueError(
            f"modalities {list(modalities)!r}: only {sorted(SOP_CLASS_UIDS)} can be generated"
        )
    counts = {"patients": patients, "studies": studies, "series": series, "instances": instances}
    if min(counts.values()) < 1 or size < 1:
        raise ValueError(f"every count and size must be at least 1, got {counts}, size={size}")

    root = Path(outdir)
    specs = [_patient_spec(index, seed, invalid=False) for index in range(patients)]
    if invalid_values:
        specs.append(_patient_spec(patients, seed, invalid=True))

    files: list[Path] = []
    study_uids: list[str] = []
    series_uids: list[str] = []
    series_modalities: dict[str, str] = {}
    invalid_series_uid: str | None = None
    for patient in specs:
        for study_index in range(studies):
            study_uid = _uid(seed, "study", patient.index, study_index)
            study_uids.append(study_uid)
            study_number = patient.index * studies + study_index
            for series_index in range(series):
                series_uid = _uid(seed, "series", patient.index, study_index, series_index)
                series_uids.append(series_uid)
                modality = modalities[(patient.index + series_index) % len(modalities)]
                series_modalities[series_uid] = modality
                thickness_is_invalid = patient.invalid and study_index == 0 and series_index == 0
                if thickness_is_invalid:
                    invalid_series_uid = series_uid
                folder = root / f"p{patient.index}" / f"st{study_index}" / f"se{series_index}"
                folder.mkdir(parents=True, exist_ok=True)
                template = _series_template(
                    patient, study_index, study_number, study_uid, series_index, series_uid,
                    modality, size, seed, thickness_is_invalid,
                )  # fmt: skip
                for slice_index in range(instances):
                    dataset = _instance(template, slice_index, series_index, size, seed)
                    path = folder / f"{slice_index:04d}.dcm"
                    dataset.save_as(path, enforce_file_format=True)
                    files.append(path)

    return CohortSummary(
        outdir=root,
        patients=len(specs),
        studies=len(study_uids),
        series=len(series_uids),
        instances=len(files),
        files=tuple(files),
        patient_ids=tuple(spec.patient_id for spec in specs),
        patient_names={spec.patient_id: spec.name for spec in specs},
        study_uids=tuple(study_uids),
        series_uids=tuple(series_uids),
        modalities=series_modalities,
        invalid_birth_date_patient_id=specs[-1].patient_id if invalid_values else None,
        invalid_slice_thickness_series_uid=invalid_series_uid,
    )


def _series_template(
    patient: _PatientSpec,
    study_index: int,
    study_number: int,
    study_uid: str,
    series_index: int,
    series_uid: str,
    modality: str,
    size: int,
    seed: int,
    thickness_is_invalid: bool,
) -> Dataset:
    study_date = _FIRST_STUDY_DATE + datetime.timedelta(days=study_number * _DAYS_BETWEEN_STUDIES)
    body_part = _BODY_PARTS[study_number % len(_BODY_PARTS)]
    thickness = SLICE_THICKNESSES[(study_number * 2 + series_index) % len(SLICE_THICKNESSES)]
    pixel_spacing = 0.5 + 0.25 * (series_index % 3)

    ds = Dataset()
    if patient.charset:
        ds.SpecificCharacterSet = patient.charset
    ds.ImageType = (
        ["ORIGINAL", "PRIMARY", "AXIAL"] if modality == "CT" else ["ORIGINAL", "PRIMARY", "M", "ND"]
    )
    ds.SOPClassUID = SOP_CLASS_UIDS[modality]
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date.strftime("%Y%m%d")
    ds.StudyTime = f"{8 + study_number % 10:02d}{(study_number * 7) % 60:02d}00"
    ds.SeriesTime = ds.ContentTime = (
        f"{8 + study_number % 10:02d}{(study_number * 7) % 60:02d}{10 + series_index:02d}"
    )
    ds.AccessionNumber = f"A{seed % 100:02d}{patient.index:04d}{study_index:02d}"
    ds.Modality = modality
    ds.Manufacturer = _MANUFACTURERS[modality]
    ds.InstitutionName = _INSTITUTIONS[patient.index % len(_INSTITUTIONS)]
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"{body_part} imaging {study_index + 1}"
    ds.SeriesDescription = f"{modality} {body_part.lower()} axial " + (
        "thick" if thickness_is_invalid else f"{thickness:g} mm"
    )
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientSex = patient.sex
    ds.BodyPartExamined = body_part
    if modality == "CT":
        ds.KVP = 120
    else:
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = 500 + 100 * series_index
        ds.EchoTime = 15
        ds.MagneticFieldStrength = 1.5 if study_number % 2 else 3
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = f"S{study_index + 1}"
    ds.SeriesNumber = series_index + 1
    ds.FrameOfReferenceUID = _uid(seed, "frame-of-reference", series_uid)
    ds.PositionReferenceIndicator = ""
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.PixelSpacing = [pixel_spacing, pixel_spacing]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if modality == "CT":
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
    ds.WindowCenter = 40 if modality == "CT" else 600
    ds.WindowWidth = 400 if modality == "CT" else 1200
    if patient.invalid:
        ds[0x00100030] = _raw(0x00100030, "DA", patient.birth_date)
    else:
        ds.PatientBirthDate = patient.birth_date
    if thickness_is_invalid:
        ds[0x00180050] = _raw(0x00180050, "DS", INVALID_SLICE_THICKNESS)
        # The slices still need a spacing for a volume; the nominal one is 2 mm.
        ds.SpacingBetweenSlices = 2.0
    else:
        ds.SliceThickness = thickness
        ds.SpacingBetweenSlices = thickness
    return ds


def _instance(
    template: Dataset, slice_index: int, series_index: int, size: int, seed: int
) -> Dataset:
    ds = Dataset()
    ds.update(template)
    sop_uid = UID(_uid(seed, "instance", template.SeriesInstanceUID, slice_index))
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = slice_index + 1
    spacing = float(template.SpacingBetweenSlices)
    pixel_spacing = float(template.PixelSpacing[0])
    origin = -(size * pixel_spacing) / 2
    z = round(slice_index * spacing, 4)
    ds.ImagePositionPatient = [origin, origin, z]
    ds.SliceLocation = z
    ds.PixelData = _pixels(size, slice_index, series_index, seed)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = template.SOPClassUID
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m orthanc_frames.synthetic OUTDIR [--patients N ...]``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Process exit code.
    """
    parser = argparse.ArgumentParser(
        prog="python -m orthanc_frames.synthetic",
        description="Write a deterministic synthetic DICOM cohort (CT and MR with pixel data).",
    )
    parser.add_argument("outdir", help="folder to write into")
    parser.add_argument("--patients", type=int, default=4)
    parser.add_argument("--studies", type=int, default=2, help="studies per patient")
    parser.add_argument("--series", type=int, default=2, help="series per study")
    parser.add_argument("--instances", type=int, default=4, help="slices per series")
    parser.add_argument("--size", type=int, default=32, help="rows and columns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--invalid-values",
        action="store_true",
        help=f"add a patient born {INVALID_BIRTH_DATE} with a series {INVALID_SLICE_THICKNESS!r} thick",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    summary = write_cohort(
        args.outdir,
        patients=args.patients,
        studies=args.studies,
        series=args.series,
        instances=args.instances,
        size=args.size,
        seed=args.seed,
        invalid_values=args.invalid_values,
    )
    print(
        f"wrote {summary.instances} instances ({summary.patients} patients, "
        f"{summary.studies} studies, {summary.series} series) to {summary.outdir} "
        f"in {time.monotonic() - started:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
