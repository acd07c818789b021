"""Frames.load against real servers: counts, dtypes, links, problems, filters, tags."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from helpers import missing_feature

import orthanc_frames as of
from orthanc_frames.frames.load import ExtraTagsCostWarning

LEVEL_COUNTS = {
    "patient": "patients",
    "study": "studies",
    "series": "series",
    "instance": "instances",
}


@pytest.fixture(scope="module")
def frames(cohort_server: Any) -> Any:
    if missing_feature("requested_tags"):
        pytest.skip(f"loads tags= beyond the main tags: {missing_feature('requested_tags')}")
    with of.Orthanc(cohort_server.url, username="orthanc", password="orthanc") as c:
        yield c.frames(tags={"series": ["SliceThickness"]})


def test_counts_per_level_equal_the_servers(frames: Any, client: Any) -> None:
    stats = client.get_statistics()
    assert len(frames.patients) == stats["CountPatients"]
    assert len(frames.studies) == stats["CountStudies"]
    assert len(frames.series) == stats["CountSeries"]
    assert len(frames.instances) == stats["CountInstances"]
    assert set(frames.series.index) == set(client.get_series())


def test_index_names_and_links(frames: Any, client: Any) -> None:
    assert frames.patients.index.name == "patient"
    assert frames.studies.index.name == "study"
    assert frames.series.index.name == "series"
    assert frames.instances.index.name == "instance"
    assert list(frames.instances.columns[:3]) == ["patient", "study", "series"]
    # links agree with the server's own parents
    some = frames.instances.index[0]
    info = client.get_instances_id(some)
    row = frames.instances.loc[some]
    assert row["series"] == info["ParentSeries"]
    series_info = client.get_series_id(row["series"])
    assert row["study"] == series_info["ParentStudy"]
    assert row["patient"] == client.get_studies_id(row["study"])["ParentPatient"]
    # walking up and down
    assert frames.studies.loc[frames.series["study"]].shape[0] == len(frames.series)
    assert set(frames.series["study"]) == set(frames.studies.index)


def test_dtypes_follow_the_vr(frames: Any) -> None:
    p, st, se, i = frames.patients, frames.studies, frames.series, frames.instances
    assert p["PatientBirthDate"].dtype == pd.ArrowDtype(pa.date32())
    assert st["StudyDate"].dtype == pd.ArrowDtype(pa.date32())
    assert st["StudyTime"].dtype == pd.ArrowDtype(pa.time64("us"))
    assert se["SeriesNumber"].dtype == pd.ArrowDtype(pa.int64())
    assert se["SliceThickness"].dtype == pd.ArrowDtype(pa.float64())
    assert i["ImagePositionPatient"].dtype == pd.ArrowDtype(pa.list_(pa.float64()))
    assert p["PatientName"].dtype == pd.ArrowDtype(pa.string())
    assert i["labels"].dtype == pd.ArrowDtype(pa.list_(pa.string()))
    assert se["is_stable"].dtype == pd.ArrowDtype(pa.bool_())
    assert se["last_update"].dtype.pyarrow_dtype == pa.timestamp("us")
    assert i["file_size"].dtype == pd.ArrowDtype(pa.int64())
    assert (i["file_size"] > 0).all()
    assert i["index_in_series"].notna().all()
    assert isinstance(st["StudyDate"].dropna().iloc[0], dt.date)
    assert set(se["num_instances"]) == {4}
    assert (frames.studies["num_series"] == 2).all()
    assert set(se["SliceThickness"].dropna()) <= {1.0, 2.5, 5.0}


def test_invalid_values_are_missing_and_reported(frames: Any, cohort_dir: Any) -> None:
    problems = frames.problems
    assert list(problems.columns) == ["level", "id", "column", "value", "reason"]
    bad_birth = problems[problems["column"] == "PatientBirthDate"]
    assert bad_birth["value"].tolist() == ["19991399"]
    patient = bad_birth["id"].iloc[0]
    assert frames.patients.loc[patient, "PatientID"] == cohort_dir.invalid_birth_date_patient_id
    assert pd.isna(frames.patients.loc[patient, "PatientBirthDate"])
    thick = problems[problems["column"] == "SliceThickness"]
    assert thick["value"].tolist() == ["thick"]
    assert thick["level"].tolist() == ["series"]
    series = thick["id"].iloc[0]
    assert (
        frames.series.loc[series, "SeriesInstanceUID"]
        == cohort_dir.invalid_slice_thickness_series_uid
    )
    assert pd.isna(frames.series.loc[series, "SliceThickness"])


@pytest.mark.needs("requested_tags")
def test_extra_tags_warn_about_disk_reads(client: Any) -> None:
    with pytest.warns(ExtraTagsCostWarning, match="SliceThickness"):
        f = client.frames(tags={"instance": ["SliceThickness", "SOPClassUID"]}, levels=["instance"])
    assert {"SliceThickness", "SOPClassUID"} <= set(f.instances.columns)
    assert f.instances["SOPClassUID"].notna().all()


def _cost_warnings(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, ExtraTagsCostWarning)]


@pytest.mark.needs("requested_tags")
def test_extra_tags_warn_once_per_frames_at_the_users_line(client: Any) -> None:
    tags = {"series": ["SliceThickness"], "instance": ["ImageType"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = client.frames(tags=tags, levels=["series"])
        also = of.Frames.load(client, tags=tags, levels=["series"])
    found = _cost_warnings(caught)
    assert len(found) == 2  # one per Frames, for every level asked
    assert all(w.filename == __file__ for w in found)
    assert "SliceThickness" in str(found[0].message)
    assert "ImageType" in str(found[0].message)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "ImageType" in f.instances.columns  # a lazy level
        f.refresh()
        also.refresh()
    assert _cost_warnings(caught) == []


@pytest.mark.needs("requested_tags")
def test_main_tags_do_not_warn(client: Any) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.frames(tags={"series": ["PatientID"]}, levels=["series"])  # kept in the index
    assert _cost_warnings(caught) == []


def test_query_push_down_on_a_series_tag(client: Any, frames: Any) -> None:
    f = client.frames(query={"Modality": "MR"})
    assert (f.series["Modality"] == "MR").all()
    mr = frames.series[frames.series["Modality"] == "MR"]
    assert set(f.series.index) == set(mr.index)
    assert set(f.instances["series"]) == set(mr.index)
    assert len(f.instances) == int(mr["num_instances"].sum())
    assert set(f.studies.index) == set(mr["study"])
    assert set(f.patients.index) == set(mr["patient"])


def test_query_push_down_on_a_study_tag_restricts_every_level(client: Any, frames: Any) -> None:
    first = frames.studies["StudyDate"].min()
    pattern = f"-{first:%Y%m%d}"
    f = client.frames(query={"StudyDate": pattern})
    studies = frames.studies[frames.studies["StudyDate"] <= first]
    assert set(f.studies.index) == set(studies.index)
    assert set(f.series["study"]) == set(studies.index)
    assert set(f.instances["study"]) == set(studies.index)
    assert set(f.patients.index) == set(studies["patient"])


@pytest.mark.needs("labels")
def test_labels_push_down(empty_server: Any, cohort_dir: Any) -> None:
    from helpers import load_into

    load_into(empty_server, cohort_dir.outdir)
    with of.Orthanc(empty_server.url, username="orthanc", password="orthanc") as c:
        studies = c.get_studies()
        c.put_studies_id_labels_label(studies[0], "cohort-a")
        c.put_studies_id_labels_label(studies[1], "cohort-a")
        f = c.frames(labels=["cohort-a"])
        assert set(f.studies.index) == set(studies[:2])
        assert all("cohort-a" in labels for labels in f.studies["labels"])
        assert set(f.series["study"]) == set(studies[:2])
        assert set(f.instances["study"]) == set(studies[:2])
        none = c.frames(labels=["cohort-a"], labels_constraint="None", levels=["study"])
        assert set(none.studies.index) == set(studies) - set(studies[:2])
        mr = c.frames(labels=["cohort-a"], query={"Modality": "MR"})
        assert set(mr.series["study"]) == set(studies[:2])
        assert (mr.series["Modality"] == "MR").all() and len(mr.series) == 2
        assert set(mr.instances["series"]) == set(mr.series.index)
        assert set(mr.studies.index) == set(studies[:2])
        only_series = c.frames(labels=["cohort-a"], query={"Modality": "MR"}, levels=["series"])
        assert set(only_series.series.index) == set(mr.series.index)


def test_levels_skip_and_load_lazily(client: Any, frames: Any) -> None:
    f = client.frames(levels=("patient", "series"))
    assert f.loaded_levels == ("patient", "series")
    assert "instances=(lazy)" in repr(f)
    assert len(f.instances) == len(frames.instances)
    assert f.loaded_levels == ("patient", "series", "instance")


def test_flat_has_ancestors_columns(frames: Any) -> None:
    flat = frames.flat("series")
    assert flat.index.name == "series"
    assert flat.index.equals(frames.series.index)
    assert {"Modality", "StudyDate", "PatientName", "study_labels", "patient_labels"} <= set(
        flat.columns
    )
    row = flat.iloc[0]
    assert row["StudyDate"] == frames.studies.loc[row["study"], "StudyDate"]
    instances = frames.flat("instance")
    assert "series_ImageOrientationPatient" in instances.columns  # the collision
    assert "ImageOrientationPatient" in instances.columns
    assert len(instances) == len(frames.instances)


def test_frames_repr_and_html(frames: Any) -> None:
    text = repr(frames)
    assert "patients=5" in text and "problems=2" in text
    assert "orthanc:orthanc" not in text
    assert "<table>" in frames._repr_html_()


def test_bad_arguments_are_clear_errors(client: Any) -> None:
    with pytest.raises(ValueError, match="main DICOM"):
        client.frames(query={"SliceThickness": "1"})
    with pytest.raises(ValueError, match=r"tags\[.series.\]: .NoSuchTag. is not a DICOM keyword"):
        client.frames(tags={"series": ["NoSuchTag"]})
    with pytest.raises(ValueError, match="levels: unknown level 'serie'"):
        client.frames(levels=["serie"])


def test_links_travel_with_the_frames(frames: Any) -> None:
    from orthanc_frames.frames import lookup

    sel = frames.series[frames.series["Modality"] == "CT"].head(3)
    client, level, owner = lookup(sel)
    assert level == "series" and owner is frames and client is frames.client


def test_fallback_for_servers_before_extended_find_gives_the_same_frames(
    cohort_server: Any, frames: Any
) -> None:
    import dataclasses

    with of.Orthanc(cohort_server.url, username="orthanc", password="orthanc") as c:
        # Steer the client to its pre-1.12.5 path (Expand pages); the real
        # server answers those requests as older versions do.
        c.__dict__["capabilities"] = dataclasses.replace(c.capabilities, has_extended_find=False)
        with pytest.warns(ExtraTagsCostWarning):
            old_style = c.frames(tags={"series": ["SliceThickness"]})
    for level in frames.loaded_levels:
        pd.testing.assert_frame_equal(
            old_style.frame(level).sort_index(), frames.frame(level).sort_index()
        )


def test_an_unknown_level_in_tags_names_the_argument(client: Any) -> None:
    with pytest.raises(ValueError, match="tags: unknown level 'serie'"):
        client.frames(tags={"serie": ["SliceThickness"]})
