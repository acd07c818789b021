"""refresh() equals a fresh load after uploads, deletions, label changes and a modify."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from helpers import load_into

import orthanc_frames as of
from orthanc_frames.frames.load import ExtraTagsCostWarning
from orthanc_frames.synthetic import write_cohort


def assert_frames_equal(left: Any, right: Any) -> None:
    assert left.loaded_levels == right.loaded_levels
    for level in left.loaded_levels:
        a = left.frame(level).sort_index()
        b = right.frame(level).sort_index()
        pd.testing.assert_frame_equal(a, b, check_like=False)
    cols = ["level", "id", "column", "value"]
    pd.testing.assert_frame_equal(
        left.problems.sort_values(cols).reset_index(drop=True),
        right.problems.sort_values(cols).reset_index(drop=True),
    )


@pytest.fixture
def two_cohorts(tmp_path: Any) -> tuple[Any, Any]:
    first = write_cohort(
        tmp_path / "a", patients=3, studies=2, series=2, instances=6, seed=1, invalid_values=True
    )
    second = write_cohort(tmp_path / "b", patients=1, studies=1, series=1, instances=3, seed=2)
    return first, second


def _client(server: Any, **kw: Any) -> of.Orthanc:
    return of.Orthanc(server.url, username="orthanc", password="orthanc", **kw)


def _recording_client(server: Any, folder: Any, seed: int, **shape: int) -> tuple[of.Orthanc, Any]:
    """A cohort of ``shape`` loaded into ``server``; a client recording its requests."""
    from transports import RecordingTransport

    cohort = write_cohort(folder, seed=seed, **shape)
    load_into(server, cohort.outdir)
    transport = RecordingTransport()
    return _client(server, transport=transport), transport


def _series_pages(transport: Any) -> list[bytes]:
    """What the unfiltered series pages asked for: a find's body, or a list route's query."""
    return [
        r.content if r.method == "POST" else r.url.query
        for r in transport.sent
        if b'"Level":"Series","Query":{}' in r.content
        or (r.method == "GET" and r.url.path == "/series" and b"response-content" in r.url.query)
    ]


def _mutate(c: Any, second: Any) -> None:
    """Uploads, deletions at several levels, label changes, a modify."""
    for path in second.files:
        c.post_instances(data=path.read_bytes())
    patients = sorted(c.get_patients())
    studies = sorted(c.get_studies())
    c.delete_patients_id(patients[0])
    remaining_series = sorted(c.get_series())
    c.delete_series_id(remaining_series[0])
    instances = sorted(c.get_instances())
    c.delete_instances_id(instances[0])
    studies = sorted(c.get_studies())
    c.put_studies_id_labels_label(studies[0], "reviewed")
    c.put_series_id_labels_label(remaining_series[-1], "keep")
    c.put_instances_id_labels_label(instances[-1], "key-image")
    c.put_patients_id_labels_label(sorted(c.get_patients())[-1], "vip")
    c.post_studies_id_modify(
        studies[-1], json={"Replace": {"StudyDescription": "modified"}, "Force": True}
    )


@pytest.mark.needs("labels")
def test_refresh_equals_a_fresh_load_after_changes(empty_server: Any, two_cohorts: Any) -> None:
    first, second = two_cohorts
    load_into(empty_server, first.outdir)
    with _client(empty_server) as c:
        c.put_instances_id_labels_label(sorted(c.get_instances())[1], "old-label")
        f = c.frames(tags={"series": ["SliceThickness"]})
        before = len(f.instances)
        c.delete_instances_id_labels_label(sorted(c.get_instances())[1], "old-label")
        _mutate(c, second)
        assert f.refresh() is f
        assert f.last_refresh["instances"] == "incremental"
        assert f.last_refresh["new"] and f.last_refresh["deleted"]
        fresh = c.frames(tags={"series": ["SliceThickness"]})
        assert len(fresh.instances) != before  # the test changed something
        assert_frames_equal(f, fresh)
        assert "modified" in set(f.studies["StudyDescription"].dropna())
        assert f.instances["labels"].map(len).sum() == 1


@pytest.mark.needs("labels")
def test_refresh_with_a_filter_and_lazy_levels(empty_server: Any, two_cohorts: Any) -> None:
    first, second = two_cohorts
    load_into(empty_server, first.outdir)
    with _client(empty_server) as c:
        f = c.frames(query={"Modality": "CT"}, levels=("study", "series", "instance"))
        _mutate(c, second)
        f.refresh()
        fresh = c.frames(query={"Modality": "CT"}, levels=("study", "series", "instance"))
        assert_frames_equal(f, fresh)


@pytest.mark.needs("response_content")
def test_refresh_cost_is_small_when_little_changed(empty_server: Any, tmp_path: Any) -> None:
    from transports import CountingTransport

    cohort = write_cohort(tmp_path / "c", patients=2, studies=2, series=2, instances=10, seed=3)
    extra = write_cohort(tmp_path / "d", patients=1, studies=1, series=1, instances=1, seed=4)
    load_into(empty_server, cohort.outdir)
    transport = CountingTransport()
    with _client(empty_server, transport=transport) as c:
        f = c.frames(workers=1)
        c.post_instances(data=extra.files[0].read_bytes())
        transport.clear()
        f.refresh()
        refresh_routes = list(transport.routes)
        transport.clear()
        fresh = c.frames(workers=1)
        assert_frames_equal(f, fresh)
    # The refresh reads no instance page besides the one new series, counts
    # nothing it can know otherwise, and reads only the new rows of each level:
    # the log, the statistics, three check pages, four row finds, the labels.
    assert not any(r.startswith("/instances/") for r in refresh_routes)
    assert "/tools/count-resources" not in refresh_routes
    assert refresh_routes.count("/changes") == 1
    assert refresh_routes.count("/tools/find") <= 3 + 4
    assert f.last_refresh["rows_read"] == {"series": 1, "study": 1, "patient": 1}


def test_refresh_needs_a_server(client: Any, tmp_path: Any) -> None:
    f = client.frames(levels=["patient"])
    f.to_parquet(tmp_path / "snap")
    offline = of.Frames.read_parquet(tmp_path / "snap")
    with pytest.raises(ValueError, match="no server"):
        offline.refresh()


@pytest.mark.needs("labels")
def test_refresh_sees_instances_stored_into_a_series_it_holds(
    empty_server: Any, tmp_path: Any
) -> None:
    """New instances in an existing series, deletions elsewhere, a label removed."""
    cohort = write_cohort(tmp_path / "e", patients=2, studies=1, series=2, instances=5, seed=5)
    load_into(empty_server, cohort.outdir)
    with _client(empty_server) as c:
        series = sorted(c.get_series())
        held_back = sorted(c.get_series_id_instances(series[0]), key=lambda i: i["ID"])[:2]
        files = [c.get_instances_id_file(i["ID"]) for i in held_back]
        for instance in held_back:
            c.delete_instances_id(instance["ID"])
        labelled = sorted(c.get_series_id_instances(series[1]), key=lambda i: i["ID"])[0]["ID"]
        c.put_instances_id_labels_label(labelled, "gone-soon")
        f = c.frames()
        assert f.instances.loc[labelled, "labels"] == ["gone-soon"]
        for data in files:
            c.post_instances(data=data)
        c.delete_instances_id(
            sorted(c.get_series_id_instances(series[2]), key=lambda i: i["ID"])[0]["ID"]
        )
        c.delete_instances_id_labels_label(labelled, "gone-soon")
        f.refresh()
        assert f.last_refresh["instances"] == "incremental"
        assert f.last_refresh["new"] == 2 and f.last_refresh["deleted"] == 1
        assert_frames_equal(f, c.frames())
        assert f.instances.loc[labelled, "labels"] == []


@pytest.mark.needs("response_content")
def test_refresh_reads_again_the_ancestors_of_instances_stored_into_held_series(
    empty_server: Any, tmp_path: Any
) -> None:
    """The log names only an unknown instance: its series, study and patient come from its row."""
    cohort = write_cohort(tmp_path / "h", patients=2, studies=1, series=2, instances=4, seed=6)
    load_into(empty_server, cohort.outdir)
    with _client(empty_server) as c:
        instance = sorted(c.get_instances())[0]
        data = c.get_instances_id_file(instance)
        c.delete_instances_id(instance)
        f = c.frames()
        c.post_instances(data=data)
        f.refresh()
        assert f.last_refresh["instances"] == "incremental" and f.last_refresh["new"] == 1
        assert f.last_refresh["rows_read"] == {"series": 1, "study": 1, "patient": 1}
        assert_frames_equal(f, c.frames())


def test_refresh_after_deletions_only_lists_ids_of_changed_series(
    empty_server: Any, tmp_path: Any
) -> None:
    """Pure deletions: no instance row is read again, only the changed series' children."""
    client, transport = _recording_client(
        empty_server, tmp_path / "g", 6, patients=2, studies=2, series=2, instances=5
    )
    with client as c:
        f = c.frames(workers=1)
        series = sorted(c.get_series())
        c.delete_instances_id(c.get_series_id_instances(series[0])[0]["ID"])
        c.delete_series_id(series[1])
        c.delete_patients_id(sorted(c.get_patients())[0])
        transport.clear()
        f.refresh()
        bodies = [r.content for r in transport.sent if r.url.path == "/tools/find"]
        assert f.last_refresh["instances"] == "incremental"
        assert f.last_refresh["series_read"] == 0 and f.last_refresh["deleted"] >= 1
        assert not any(b'"Level":"Instance"' in b and b"MainDicomTags" in b for b in bodies)
        assert_frames_equal(f, c.frames(workers=1))


def test_refresh_reloads_instances_when_much_changed(empty_server: Any, tmp_path: Any) -> None:
    cohort = write_cohort(tmp_path / "h", patients=1, studies=1, series=1, instances=4, seed=7)
    more = write_cohort(tmp_path / "i", patients=2, studies=1, series=2, instances=4, seed=8)
    load_into(empty_server, cohort.outdir)
    with _client(empty_server) as c:
        f = c.frames()
        load_into(empty_server, more.outdir)
        f.refresh()
        assert f.last_refresh["instances"] == "reloaded"
        assert_frames_equal(f, c.frames())


def test_few_rows_are_parsed_in_groups_like_column_by_column() -> None:
    """A refresh's few re-read rows: columns of one VR parsed together, same result."""
    from orthanc_frames.frames.schema import parse_tag_column, parse_tag_columns

    index = pd.Index(["a", "b", "c"], name="series", dtype="string[pyarrow]")
    raw = {
        "SeriesDate": ["20240131", "2024-13-01", None],
        "StudyDate": ["bad", "20230101", ""],
        "SeriesTime": ["101010.5", "99", None],
        "SliceThickness": ["1.5", "x", " 2 "],
        "SeriesNumber": ["3", "3.5", None],
        "ImageOrientationPatient": ["1\\0\\0\\0\\1\\0", "1\\a\\0\\0\\1\\0", None],
        "PixelSpacing": ["0.5\\0.5", None, ""],
        "SeriesDescription": [" head ", "", None],
        "0011,0010": ["private", None, "x"],
    }
    grouped_problems: list[Any] = []
    grouped = parse_tag_columns(raw, index, level="series", problems=grouped_problems)
    single_problems: list[Any] = []
    for name, values in raw.items():
        column = pd.Series(values, index=index, dtype=object)
        expected = parse_tag_column(column, name, level="series", problems=single_problems)
        pd.testing.assert_series_equal(grouped[name], expected)
    assert grouped_problems == single_problems
    assert {p.column for p in grouped_problems} >= {"SeriesDate", "StudyDate", "SliceThickness"}


def _next_second() -> None:
    """Wait until Orthanc's ``LastUpdate`` (whole seconds) can differ from the last one set."""
    import time

    time.sleep(1.1)


@pytest.mark.needs("response_content", "labels")
def test_refresh_takes_the_last_update_of_series_that_lost_instances(
    empty_server: Any, tmp_path: Any
) -> None:
    """The series check page has no LastUpdate: a deletion's comes with the children listing."""
    client, transport = _recording_client(
        empty_server, tmp_path / "j", 9, patients=2, studies=1, series=2, instances=3
    )
    with client as c:
        f = c.frames()
        series = sorted(c.get_series())[0]
        before = f.series.loc[series, "last_update"]
        _next_second()
        c.delete_instances_id(c.get_series_id_instances(series)[0]["ID"])
        transport.clear()
        f.refresh()
        assert f.series.loc[series, "last_update"] > before
        assert f.last_refresh["rows_read"]["series"] == 0  # no full series row read again
        check_pages = _series_pages(transport)
        assert check_pages and all(b"Metadata" not in asked for asked in check_pages)
        assert_frames_equal(f, c.frames())


@pytest.mark.needs("response_content", "labels")
def test_refresh_of_series_without_instances_reads_series_that_lost_some(
    empty_server: Any, tmp_path: Any
) -> None:
    cohort = write_cohort(tmp_path / "k", patients=2, studies=1, series=2, instances=3, seed=10)
    load_into(empty_server, cohort.outdir)
    levels = ("patient", "study", "series")
    with _client(empty_server) as c:
        f = c.frames(levels=levels)
        series = sorted(c.get_series())
        _next_second()
        c.delete_instances_id(c.get_series_id_instances(series[0])[0]["ID"])
        c.put_series_id_labels_label(series[1], "seen")
        f.refresh()
        assert f.last_refresh["rows_read"]["series"] == 1  # the one whose count moved
        assert f.last_refresh["rows_read"]["study"] == 0  # its study's check row says enough
        assert_frames_equal(f, c.frames(levels=levels))


@pytest.mark.needs("response_content", "labels")
def test_refresh_places_an_instance_stored_where_another_was_deleted(
    empty_server: Any, tmp_path: Any
) -> None:
    """Same count in the series, a new instance the log names: the series' LastUpdate says where."""
    client, transport = _recording_client(
        empty_server, tmp_path / "l", 11, patients=1, studies=1, series=3, instances=4
    )
    with client as c:
        series = sorted(c.get_series())[1]
        instances = sorted(i["ID"] for i in c.get_series_id_instances(series))
        data = c.get_instances_id_file(instances[0])
        c.delete_instances_id(instances[0])
        f = c.frames()
        _next_second()
        c.post_instances(data=data)
        c.delete_instances_id(instances[1])
        transport.clear()
        f.refresh()
        assert f.last_refresh["instances"] == "incremental"
        assert f.last_refresh["new"] == 1 and f.last_refresh["deleted"] == 1
        # the fallback: one series page with metadata, to find the series that moved
        assert any(b"Metadata" in asked for asked in _series_pages(transport))
        assert_frames_equal(f, c.frames())


@pytest.mark.needs("response_content", "labels")
def test_refresh_reads_the_patient_of_a_study_read_again_for_its_tags(
    empty_server: Any, tmp_path: Any
) -> None:
    """Studies and patients are read at once; a study read later still brings its patient."""
    cohort = write_cohort(tmp_path / "m", patients=2, studies=1, series=2, instances=2, seed=12)
    load_into(empty_server, cohort.outdir)
    tags = {"study": ["Manufacturer"]}  # read from files: moved studies are read again
    with _client(empty_server) as c, pytest.warns(ExtraTagsCostWarning):
        f = c.frames(tags=tags)
        _next_second()
        c.delete_instances_id(sorted(c.get_instances())[0])
        f.refresh()
        assert f.last_refresh["rows_read"]["study"] == 1
        assert f.last_refresh["rows_read"]["patient"] == 1
        assert_frames_equal(f, c.frames(tags=tags))


def test_many_refreshes_keep_columns_in_few_chunks(empty_server: Any, tmp_path: Any) -> None:
    """Rows are joined without copies; a column split into many chunks is made one again."""
    from orthanc_frames.frames.refresh import _MAX_CHUNKS

    cohort = write_cohort(tmp_path / "n", patients=1, studies=1, series=1, instances=2, seed=13)
    more = write_cohort(
        tmp_path / "o", patients=_MAX_CHUNKS + 2, studies=1, series=1, instances=1, seed=14
    )
    load_into(empty_server, cohort.outdir)
    with _client(empty_server) as c:
        f = c.frames()
        for path in more.files:
            c.post_instances(data=path.read_bytes())
            f.refresh()
        for level in f.loaded_levels:
            for name, column in f.frame(level).items():
                if isinstance(column.dtype, pd.ArrowDtype):
                    chunks = column.array.__arrow_array__()
                    assert getattr(chunks, "num_chunks", 1) <= _MAX_CHUNKS, (level, name)
        assert_frames_equal(f, c.frames())


@pytest.mark.needs("response_content", "labels")
def test_refresh_after_resources_became_stable_reads_no_row_again(
    make_server: Any, tmp_path: Any
) -> None:
    """Stability is in the check pages: the log's Stable* entries alone read nothing again."""
    import time

    server = make_server("STABLE_REFRESH", extra={"StableAge": 1})
    cohort = write_cohort(tmp_path / "p", patients=2, studies=1, series=2, instances=2, seed=15)
    load_into(server, cohort.outdir)
    with _client(server) as c:
        f = c.frames()
        assert not f.series["is_stable"].all()
        deadline = time.monotonic() + 60
        while not all(s["IsStable"] for s in c.get_series(params={"expand": True})):
            assert time.monotonic() < deadline, "the server did not mark its series stable"
            time.sleep(0.2)
        changes = c.get_changes(params={"since": f.last_change_seq, "limit": 1000})["Changes"]
        assert any(e["ChangeType"] == "StableSeries" for e in changes), changes
        f.refresh()
        assert f.last_refresh["rows_read"] == {"series": 0, "study": 0, "patient": 0}
        assert f.series["is_stable"].all() and f.patients["is_stable"].all()
        assert_frames_equal(f, c.frames())


@pytest.mark.needs("response_content", "labels")
def test_refresh_asks_instance_labels_only_when_it_keeps_instance_rows(
    empty_server: Any, tmp_path: Any
) -> None:
    """Labels are asked once the instance step has its rows; a reloaded level needs none."""
    client, transport = _recording_client(
        empty_server, tmp_path / "q", 16, patients=1, studies=1, series=1, instances=3
    )
    more = write_cohort(tmp_path / "r", patients=2, studies=1, series=2, instances=3, seed=17)
    with client as c:
        instance = sorted(c.get_instances())[0]
        c.put_instances_id_labels_label(instance, "kept")
        f = c.frames()
        c.delete_instances_id_labels_label(instance, "kept")
        c.put_instances_id_labels_label(sorted(c.get_instances())[1], "new")
        transport.clear()
        f.refresh()
        assert f.last_refresh["instances"] == "incremental"
        assert transport.routes.count("/tools/labels") == 1
        assert_frames_equal(f, c.frames())
        load_into(empty_server, more.outdir)
        transport.clear()
        f.refresh()
        assert f.last_refresh["instances"] == "reloaded"
        assert "/tools/labels" not in transport.routes
        assert_frames_equal(f, c.frames())


@pytest.mark.needs("response_content")
@pytest.mark.parametrize("new_series", [3, 20])
def test_refresh_asks_no_uid_of_held_rows_and_reads_those_of_new_rows(
    empty_server: Any, tmp_path: Any, new_series: int
) -> None:
    """Without extended find, held rows' UIDs come from the frames; new rows' are read."""
    from helpers import missing_feature

    client, transport = _recording_client(
        empty_server, tmp_path / "m", 21, patients=1, studies=1, series=4, instances=20
    )
    more = write_cohort(
        tmp_path / "n", seed=22, patients=1, studies=1, series=new_series, instances=1
    )
    with client as c:
        f = c.frames()
        held_series = list(f.series.index)
        load_into(empty_server, more.outdir)
        transport.clear()
        f.refresh()
        pages = _series_pages(transport)
        one_by_one = [
            r for r in transport.sent if r.method == "GET" and r.url.path.startswith("/series/")
        ]
        assert_frames_equal(f, c.frames())
    assert len(f.series) == 4 + new_series
    assert f.last_refresh["instances"] == "incremental"
    if not missing_feature("extended_find"):  # the check page asks every UID
        assert len(pages) == 1 and b"SeriesInstanceUID" in pages[0]
        assert one_by_one == []
    elif new_series <= 16:
        assert len(pages) == 1 and b"SeriesInstanceUID" not in pages[0]
        new_ids = set(f.series.index) - set(held_series)
        assert {r.url.path for r in one_by_one} == {f"/series/{i}" for i in new_ids}
    else:  # the check page, then one more with every row's UID
        assert len(pages) == 2 and b"SeriesInstanceUID" in pages[1]
        assert one_by_one == []
