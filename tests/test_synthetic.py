"""The synthetic cohort: deterministic, valid where meant, invalid where asked."""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict
from pathlib import Path

import nibabel
import pydicom
import pytest

from orthanc_frames.local_server import LocalOrthanc
from orthanc_frames.synthetic import (
    INVALID_BIRTH_DATE,
    INVALID_SLICE_THICKNESS,
    SLICE_THICKNESSES,
    CohortSummary,
    main,
    write_cohort,
)

SMALL = {"patients": 2, "studies": 1, "series": 2, "instances": 2, "size": 8}


def _relative_bytes(summary: CohortSummary) -> dict[str, bytes]:
    return {
        str(path.relative_to(summary.outdir)): path.read_bytes()
        for path in sorted(summary.outdir.rglob("*.dcm"))
    }


def _datasets(summary: CohortSummary) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(path) for path in summary.files]


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_cohort(tmp_path / "a", invalid_values=True, **SMALL)
    second = write_cohort(tmp_path / "b", invalid_values=True, **SMALL)
    assert _relative_bytes(first) == _relative_bytes(second)
    assert first.series_uids == second.series_uids


def test_another_seed_changes_uids_and_patient_ids(tmp_path: Path) -> None:
    first = write_cohort(tmp_path / "a", seed=0, **SMALL)
    second = write_cohort(tmp_path / "b", seed=1, **SMALL)
    assert not set(first.study_uids) & set(second.study_uids)
    assert not set(first.series_uids) & set(second.series_uids)
    assert not set(first.patient_ids) & set(second.patient_ids)
    first_sops = {ds.SOPInstanceUID for ds in _datasets(first)}
    second_sops = {ds.SOPInstanceUID for ds in _datasets(second)}
    assert len(first_sops) == first.instances
    assert not first_sops & second_sops


def test_counts_match_the_files_on_disk(tmp_path: Path) -> None:
    summary = write_cohort(tmp_path, patients=3, studies=2, series=3, instances=2, size=8)
    datasets = _datasets(summary)
    assert (summary.patients, summary.studies, summary.series, summary.instances) == (
        3,
        6,
        18,
        36,
    )
    assert sorted(summary.outdir.rglob("*.dcm")) == sorted(summary.files)
    assert len({ds.PatientID for ds in datasets}) == 3
    assert len({ds.StudyInstanceUID for ds in datasets}) == 6
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 18
    assert {ds.Rows for ds in datasets} == {8}


def test_invalid_values_add_one_patient(tmp_path: Path) -> None:
    plain = write_cohort(tmp_path / "plain", **SMALL)
    with_invalid = write_cohort(tmp_path / "invalid", invalid_values=True, **SMALL)
    assert plain.invalid_birth_date_patient_id is None
    assert plain.invalid_slice_thickness_series_uid is None
    assert with_invalid.patients == plain.patients + 1
    assert with_invalid.instances == plain.instances * 3 // 2


def test_the_invalid_values_are_written_verbatim(cohort_dir: CohortSummary) -> None:
    by_series = defaultdict(list)
    for ds in _datasets(cohort_dir):
        by_series[ds.SeriesInstanceUID].append(ds)
    invalid_series = by_series[cohort_dir.invalid_slice_thickness_series_uid]
    assert invalid_series
    for ds in invalid_series:
        assert ds.PatientID == cohort_dir.invalid_birth_date_patient_id
        assert ds.data_element("PatientBirthDate").value == INVALID_BIRTH_DATE
        raw_thickness = ds.get_item("SliceThickness").value
        assert raw_thickness.strip() == INVALID_SLICE_THICKNESS.encode()
    del by_series[cohort_dir.invalid_slice_thickness_series_uid]
    thicknesses = {float(ds.SliceThickness) for series in by_series.values() for ds in series}
    assert thicknesses == set(SLICE_THICKNESSES)


def test_valid_values_parse_and_vary(cohort_dir: CohortSummary) -> None:
    datasets = [
        ds
        for ds in _datasets(cohort_dir)
        if ds.PatientID != cohort_dir.invalid_birth_date_patient_id
    ]
    birth_dates = {datetime.datetime.strptime(ds.PatientBirthDate, "%Y%m%d") for ds in datasets}
    study_dates = {datetime.datetime.strptime(ds.StudyDate, "%Y%m%d").date() for ds in datasets}
    assert len(birth_dates) == cohort_dir.patients - 1
    assert len({(d.year, d.month) for d in study_dates}) == len(study_dates) == 8
    assert len({d.year for d in study_dates}) >= 2
    assert {ds.Modality for ds in datasets} == {"CT", "MR"}
    assert {ds.PatientSex for ds in datasets} >= {"M", "F"}
    for keyword in (
        "AccessionNumber",
        "InstitutionName",
        "Manufacturer",
        "StudyDescription",
        "SeriesDescription",
        "BodyPartExamined",
    ):
        assert all(ds.get(keyword) for ds in datasets), keyword


def test_multi_valued_tags(cohort_dir: CohortSummary) -> None:
    for ds in _datasets(cohort_dir):
        assert len(ds.ImageType) == (3 if ds.Modality == "CT" else 4)
        assert ds.ImageType[:2] == ["ORIGINAL", "PRIMARY"]
        assert len(ds.PixelSpacing) == 2
        assert list(ds.ImageOrientationPatient) == [1, 0, 0, 0, 1, 0]
        assert len(ds.ImagePositionPatient) == 3


def test_slices_are_evenly_spaced_along_the_normal(cohort_dir: CohortSummary) -> None:
    by_series = defaultdict(list)
    for ds in _datasets(cohort_dir):
        by_series[ds.SeriesInstanceUID].append(ds)
    for series in by_series.values():
        series.sort(key=lambda ds: ds.InstanceNumber)
        spacing = float(series[0].SpacingBetweenSlices)
        positions = [[float(v) for v in ds.ImagePositionPatient] for ds in series]
        assert {(x, y) for x, y, _ in positions} == {tuple(positions[0][:2])}
        steps = {round(b[2] - a[2], 6) for a, b in itertools.pairwise(positions)}
        assert steps == {spacing}
        assert len({ds.FrameOfReferenceUID for ds in series}) == 1
        assert series[0].pixel_array.shape == (series[0].Rows, series[0].Columns)


def test_rejects_an_unknown_modality(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PT"):
        write_cohort(tmp_path, modalities=("CT", "PT"))


def test_command_line_writes_a_cohort(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(tmp_path), "--patients", "1", "--studies", "1", "--series", "1"]
    assert main([*args, "--instances", "3", "--size", "8", "--invalid-values"]) == 0
    assert len(list(tmp_path.rglob("*.dcm"))) == 6
    assert "wrote 6 instances (2 patients" in capsys.readouterr().out


# -- through a real Orthanc -----------------------------------------------------


def test_orthanc_stores_every_file(cohort_server: LocalOrthanc, cohort_dir: CohortSummary) -> None:
    with cohort_server.http() as http:
        statistics = http.get("/statistics").json()
    assert (
        statistics["CountPatients"],
        statistics["CountStudies"],
        statistics["CountSeries"],
        statistics["CountInstances"],
    ) == (cohort_dir.patients, cohort_dir.studies, cohort_dir.series, cohort_dir.instances)


def test_names_round_trip_through_orthanc(
    cohort_server: LocalOrthanc, cohort_dir: CohortSummary
) -> None:
    with cohort_server.http() as http:
        patients = http.get("/patients", params={"expand": ""}).json()
    names = {p["MainDicomTags"]["PatientID"]: p["MainDicomTags"]["PatientName"] for p in patients}
    assert names == cohort_dir.patient_names
    assert {"Müller^Jürgen", "Dupont^Hélène", "Ωμέγα^Άλφα", "山田^太郎"} <= set(names.values())


def test_orthanc_keeps_the_invalid_values(
    cohort_server: LocalOrthanc, cohort_dir: CohortSummary
) -> None:
    with cohort_server.http() as http:
        patient = http.post(
            "/tools/find",
            json={
                "Level": "Patient",
                "Query": {"PatientID": cohort_dir.invalid_birth_date_patient_id},
                "Expand": True,
            },
        ).json()
        series = http.post(
            "/tools/find",
            json={
                "Level": "Series",
                "Query": {"SeriesInstanceUID": cohort_dir.invalid_slice_thickness_series_uid},
            },
        ).json()
        instance = http.get(f"/series/{series[0]}/instances").json()[0]
        tags = http.get(f"/instances/{instance['ID']}/simplified-tags").json()
    assert patient[0]["MainDicomTags"]["PatientBirthDate"] == INVALID_BIRTH_DATE
    assert tags["SliceThickness"] == INVALID_SLICE_THICKNESS
    assert tags["ImageType"] == "ORIGINAL\\PRIMARY\\AXIAL"


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_orthanc_exports_a_series_as_nifti(
    cohort_server: LocalOrthanc, cohort_dir: CohortSummary, modality: str
) -> None:
    with cohort_server.http() as http:
        found = http.post(
            "/tools/find",
            json={"Level": "Series", "Query": {"Modality": modality}, "Expand": True},
        ).json()
        series = next(
            s
            for s in found
            if s["MainDicomTags"]["SeriesInstanceUID"]
            != cohort_dir.invalid_slice_thickness_series_uid
        )
        first = http.get(f"/series/{series['ID']}/instances").json()[0]
        tags = http.get(f"/instances/{first['ID']}/simplified-tags").json()
        nifti = http.get(f"/series/{series['ID']}/nifti").content
    image = nibabel.Nifti1Image.from_bytes(nifti)
    assert image.shape == (32, 32, 4)
    pixel_spacing = float(tags["PixelSpacing"].split("\\")[0])
    expected_zooms = (pixel_spacing, pixel_spacing, float(tags["SpacingBetweenSlices"]))
    assert tuple(float(z) for z in image.header.get_zooms()) == pytest.approx(expected_zooms)
    assert float(image.get_fdata().std()) > 0
