"""Widget-model tests of the browser against a real Orthanc (no web browser).

The browser is driven as a person would (set filter values, pick rows,
move the slider, click buttons) and its state, ``selection`` and the
server are checked. Read-only tests use the session's cohort server;
tests that act on the server get their own ``empty_server``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from helpers import PASSWORD, USERNAME, load_into
from transports import RecordingTransport

pytest.importorskip("ipywidgets")

import orthanc_frames as of
from orthanc_frames.frames import FramesLinkError
from orthanc_frames.widgets import Browser, FilterState, browse
from orthanc_frames.widgets.tables import _fit, format_cell

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cohort_frames(cohort_server) -> Iterator[of.Frames]:
    with of.Orthanc(cohort_server.url, username=USERNAME, password=PASSWORD) as client:
        yield of.Frames.load(client)


@pytest.fixture
def browser(cohort_frames) -> Browser:
    return browse(cohort_frames)


def _stored_frames(server, cohort_dir, **client_kwargs) -> of.Frames:
    load_into(server, cohort_dir.outdir)
    client = of.Orthanc(server.url, username=USERNAME, password=PASSWORD, **client_kwargs)
    return of.Frames.load(client)


def _ids(df: pd.DataFrame) -> set[str]:
    return {str(identifier) for identifier in df.index}


# -- the tables and their links ------------------------------------------------


def test_opens_on_every_patient_study_and_series(browser, cohort_frames, cohort_dir):
    assert _ids(browser.patients_table.rows) == _ids(cohort_frames.patients)
    assert len(browser.patients_table.rows) == cohort_dir.patients
    assert len(browser.studies_table.rows) == cohort_dir.studies
    assert len(browser.series_table.rows) == cohort_dir.series
    assert f"{cohort_dir.patients:,} patients" in browser.summary.value
    # counts shown in the tables come from the linked frames
    rows = browser.patients_table.rows
    expected_studies = cohort_frames.studies["patient"].value_counts()
    for patient, count in rows["n_studies"].items():
        assert count == expected_studies[patient]
    assert (browser.series_table.rows["n_instances"] > 0).all()
    # nothing picked: the selection is every patient, linked to the server
    selection = browser.selection
    assert selection.index.name == "patient"
    assert _ids(selection) == _ids(cohort_frames.patients)
    assert selection.orthanc.level == "patient"


def test_picking_a_patient_then_a_study_narrows_the_tables_below(browser, cohort_frames):
    patient = browser.patients_table.page_ids[1]
    browser.patients_table.pick(patient)
    studies = cohort_frames.studies
    assert _ids(browser.studies_table.rows) == _ids(studies[studies["patient"] == patient])
    series = cohort_frames.series
    assert _ids(browser.series_table.rows) == _ids(series[series["patient"] == patient])
    assert list(browser.selection.index) == [patient]

    study = browser.studies_table.page_ids[0]
    browser.studies_table.pick(study)
    assert _ids(browser.series_table.rows) == _ids(series[series["study"] == study])
    selection = browser.selection
    assert selection.index.name == "study" and list(selection.index) == [study]
    assert "1 study" in browser.actions.target.value

    # a click in the list (what the page sends) is the same as pick()
    first_series = browser.series_table.page_ids[0]
    browser.series_table.list.value = (first_series,)
    assert browser.series_table.picked == [first_series]
    assert browser.selection.index.name == "series"
    assert list(browser.selection.index) == [first_series]
    assert browser.selection.orthanc.ids == [first_series]

    # unpicking the patient widens the studies again and drops nothing else it still shows
    browser.patients_table.set_picked([])
    assert len(browser.studies_table.rows) == len(studies)


def test_tables_page_and_sort_without_sending_every_row(cohort_frames):
    browser = browse(cohort_frames, page_size=4)
    table = browser.series_table
    assert len(table.list.options) == 4
    assert table.num_pages == 5
    assert "1–4 of 20" in table.page_label.value
    first_page = table.page_ids
    picked = first_page[2]
    table.pick(picked)
    table.next_page.click()
    assert table.page == 1
    assert not set(table.page_ids) & set(first_page)
    assert table.picked == [picked]  # picks survive paging
    table.list.value = (table.page_ids[0],)
    assert table.picked == [picked, table.page_ids[0]]
    table.previous_page.click()
    assert table.list.value == (picked,)

    patients = browser.patients_table
    patients.sort_by.value = "PatientID"
    patients.descending.value = True
    ids = cohort_frames.patients.sort_values("PatientID", ascending=False).index
    shown = [patients.rows.at[identifier, "PatientID"] for identifier in patients.rows.index]
    assert shown == [cohort_frames.patients.at[identifier, "PatientID"] for identifier in ids]
    assert patients.page == 0


def test_rows_read_as_aligned_text():
    assert format_cell(dt.date(2020, 3, 1)) == "2020-03-01"
    assert format_cell(["a", "b"]) == "a, b"
    assert format_cell(pd.NA) == ""
    assert format_cell("Müller^Jürgen") == "Müller Jürgen"
    assert format_cell(5.0) == "5"
    # wide characters take two cells, so the columns stay aligned
    assert _fit("山田 太郎", 10, "left") == "山田\u00a0太郎\u00a0"
    assert _fit("山田 太郎", 6, "left") == "山田…\u00a0"
    assert _fit("12", 4, "right") == "\u00a0\u00a012"


# -- filters -------------------------------------------------------------------


def test_free_text_narrows_all_three_tables(browser, cohort_frames):
    flat = cohort_frames.flat("series")
    browser.filters.text.value = "CHEST"
    matching = flat[
        flat["SeriesDescription"].str.contains("chest", case=False)
        | flat["StudyDescription"].str.contains("chest", case=False)
        | flat["BodyPartExamined"].str.contains("chest", case=False)
    ]
    assert 0 < len(matching) < len(flat)
    assert _ids(browser.series_table.rows) == _ids(matching)
    assert _ids(browser.studies_table.rows) == set(matching["study"])
    assert _ids(browser.patients_table.rows) == set(matching["patient"])
    assert "match the filters" in browser.summary.value

    # words must all match; IDs and names count
    patient = cohort_frames.patients.loc[matching["patient"].iloc[0]]
    browser.filters.text.value = f"{patient['PatientID']} chest"
    assert set(browser.series_table.rows["patient"]) == {patient.name}
    browser.filters.text.value = str(patient.name)[:17]  # a prefix of the Orthanc ID
    assert _ids(browser.patients_table.rows) == {patient.name}
    family_name = str(patient["PatientName"]).split("^")[0]
    browser.filters.text.value = family_name.lower()
    assert patient.name in _ids(browser.patients_table.rows)


def test_modality_and_date_filters(browser, cohort_frames):
    browser.filters.modality.value = ("MR",)
    series = browser.series_table.rows
    assert len(series) and set(series["Modality"]) == {"MR"}
    assert _ids(series) == _ids(cohort_frames.series.query("Modality == 'MR'"))

    browser.filters.clear()
    start, end = dt.date(2020, 1, 1), dt.date(2021, 6, 30)
    browser.filters.date_from.value = start
    browser.filters.date_to.value = end
    studies = cohort_frames.studies
    in_range = studies[(studies["StudyDate"] >= start) & (studies["StudyDate"] <= end)]
    assert 0 < len(in_range) < len(studies)
    assert _ids(browser.studies_table.rows) == _ids(in_range)
    assert set(browser.series_table.rows["study"]) == _ids(in_range)
    assert browser.state == FilterState(date_from=start, date_to=end)

    # nothing picked: the selection is the filtered rows of the start level
    assert _ids(browser.selection) == set(in_range["patient"])

    browser.filters.reset.click()
    assert browser.state.is_empty
    assert len(browser.studies_table.rows) == len(studies)


def test_filters_drop_picks_they_hide(browser):
    mr = browser.series_table.rows.query("Modality == 'MR'").index[0]
    browser.series_table.pick(mr)
    assert browser.preview.series_id == mr
    browser.filters.modality.value = ("CT",)
    assert browser.series_table.picked == []
    assert browser.preview.series_id is None
    assert browser.tags.instance_id is None


# -- preview and tags ----------------------------------------------------------


def test_preview_slider_and_tags_follow_the_picked_series(browser, cohort_frames, client):
    series_id = browser.series_table.page_ids[0]
    browser.series_table.pick(series_id)
    preview = browser.preview
    instances = cohort_frames.instances
    expected = list(
        instances[instances["series"] == series_id].sort_values("index_in_series").index
    )
    assert preview.instance_ids == expected
    assert (preview.slider.min, preview.slider.max) == (1, len(expected))
    assert preview.slider.value == len(expected) // 2 + 1  # the middle instance
    middle = expected[len(expected) // 2]
    assert preview.instance_id == middle
    assert bytes(preview.image.value).startswith(PNG_SIGNATURE)
    assert bytes(preview.image.value) == client.GET(f"/instances/{middle}/preview")
    assert f"instance {len(expected) // 2 + 1} of {len(expected)}" in preview.caption.value

    # the tags are those of the shown instance
    assert browser.tags.instance_id == middle
    uid = dict((name, value) for _, name, value in browser.tags.all_rows)["SOPInstanceUID"]
    assert uid == instances.at[middle, "SOPInstanceUID"]

    # moving the slider shows another instance and its tags
    preview.slider.value = 1
    assert preview.instance_id == expected[0]
    assert browser.tags.instance_id == expected[0]
    uid = dict((name, value) for _, name, value in browser.tags.all_rows)["SOPInstanceUID"]
    assert uid == instances.at[expected[0], "SOPInstanceUID"]
    assert bytes(preview.image.value) == client.GET(f"/instances/{expected[0]}/preview")


def test_tags_are_searchable(browser, cohort_frames):
    series_id = browser.series_table.page_ids[0]
    browser.series_table.pick(series_id)
    tags = browser.tags
    assert len(tags.all_rows) > 20
    tags.search.value = "patientname"
    assert [name for _, name, _ in tags.rows] == ["PatientName"]
    patient = cohort_frames.series.at[series_id, "patient"]
    assert tags.rows[0][2] == cohort_frames.patients.at[patient, "PatientName"]
    assert "PatientName" in tags.table.value
    tags.search.value = "0028,0010"  # by tag number
    assert [name for _, name, _ in tags.rows] == ["Rows"]
    tags.search.value = "no-such-tag-anywhere"
    assert tags.rows == []
    assert "0 of" in tags.table.value


def test_preview_lists_instances_when_the_instance_level_is_not_loaded(cohort_server):
    with of.Orthanc(cohort_server.url, username=USERNAME, password=PASSWORD) as client:
        frames = of.Frames.load(client, levels=("patient", "study", "series"))
        assert "instance" not in frames.loaded_levels
        browser = browse(frames)
        series_id = browser.series_table.page_ids[0]
        browser.series_table.pick(series_id)
        assert len(browser.preview.instance_ids) == frames.series.at[series_id, "num_instances"]
        assert bytes(browser.preview.image.value).startswith(PNG_SIGNATURE)
        assert "instance" not in frames.loaded_levels  # the browser did not load every instance


# -- starting from a selection -------------------------------------------------


def test_browse_a_filtered_frame_starts_from_it(cohort_frames):
    ct = cohort_frames.series.query("Modality == 'CT'").head(3)
    browser = of.browse(ct)
    assert browser.start_level == "series"
    assert _ids(browser.series_table.rows) == _ids(ct)
    assert _ids(browser.studies_table.rows) == set(ct["study"])
    assert _ids(browser.patients_table.rows) == set(ct["patient"])
    # nothing picked: the selection is the frame it started from, still linked
    selection = browser.selection
    assert selection.index.name == "series"
    assert _ids(selection) == _ids(ct)
    assert selection.orthanc.ids == list(ct.index)

    instances = cohort_frames.instances.head(5)
    browser = browse(instances)
    assert _ids(browser.series_table.rows) == set(instances["series"])
    assert _ids(browser.selection) == _ids(instances)
    assert browser.selection.orthanc.level == "instance"
    series_id = str(instances["series"].iloc[0])
    browser.series_table.pick(series_id)
    assert set(browser.preview.instance_ids) == _ids(instances[instances["series"] == series_id])

    studies = cohort_frames.studies.head(2)
    browser = browse(studies)
    assert _ids(browser.studies_table.rows) == _ids(studies)
    assert set(browser.series_table.rows["study"]) == _ids(studies)


def test_browse_refuses_what_it_cannot_link(cohort_frames):
    merged = cohort_frames.series.reset_index().merge(
        cohort_frames.studies.reset_index(), on="study"
    )
    with pytest.raises(FramesLinkError, match=r"[Rr]e-attach"):
        browse(merged)
    with pytest.raises(TypeError, match="takes a Frames"):
        browse([1, 2, 3])


# -- actions on a server of its own ------------------------------------------------


def test_label_actions_from_the_bar(empty_server, cohort_dir):
    frames = _stored_frames(empty_server, cohort_dir)
    client = frames.client
    browser = browse(frames)
    bar = browser.actions

    # nothing typed: the bar says so and runs nothing
    browser.patients_table.pick(browser.patients_table.page_ids[0])
    browser.studies_table.pick(browser.studies_table.page_ids[0])
    bar.action.value = "add_label"
    bar.argument.value = ""
    bar.run_button.click()
    assert not bar.running and bar.result is None
    assert "Type a label" in bar.status.value

    picked_series = list(browser.series_table.page_ids)
    browser.series_table.set_picked(picked_series)
    bar.argument.value = "reviewed"
    bar.run_button.click()
    result = bar.wait(60)
    assert result is not None
    assert list(result.index) == picked_series
    assert set(result["status"]) == {"ok"}
    assert browser.last_result is result
    assert "ok" in bar.result_view.value and "of-result-table" in bar.result_view.value
    assert bar.progress.value == len(picked_series) and bar.progress.bar_style == "success"
    for series_id in picked_series:
        assert client.GET(f"/series/{series_id}/labels") == ["reviewed"]

    # the browser reloaded: the new label is a filter that narrows every table
    assert "reviewed" in browser.filters.labels.options
    assert browser.series_table.picked == picked_series  # picks survive the reload
    browser.series_table.set_picked([])
    browser.filters.labels.value = ("reviewed",)
    assert _ids(browser.series_table.rows) == set(picked_series)
    assert len(browser.patients_table.rows) == 1

    # labels of parents count; "all" needs every picked label
    study = frames.series.at[picked_series[0], "study"]
    client.PUT(f"/studies/{study}/labels/baseline")
    browser.reload()
    browser.filters.labels.value = ("reviewed", "baseline")
    browser.filters.labels_mode.value = "all"
    assert _ids(browser.series_table.rows) == set(picked_series)
    browser.filters.labels_mode.value = "any"
    assert _ids(browser.series_table.rows) == _ids(frames.series[frames.series["study"] == study])

    # remove it again, acting on the selection
    browser.filters.clear()
    browser.series_table.set_picked(picked_series)
    bar.action.value = "remove_label"
    bar.argument.value = "reviewed"
    bar.run_button.click()
    assert set(bar.wait(60)["status"]) == {"ok"}
    for series_id in picked_series:
        assert client.GET(f"/series/{series_id}/labels") == []
    client.close()


def test_anonymize_and_download_from_the_bar(empty_server, cohort_dir, tmp_path):
    frames = _stored_frames(empty_server, cohort_dir)
    client = frames.client
    browser = browse(frames)
    bar = browser.actions
    series_id = browser.series_table.page_ids[0]
    browser.series_table.pick(series_id)

    bar.action.value = "anonymize"
    assert bar.keep_originals.value is True
    bar.run_button.click()  # keeping the originals destroys nothing: no confirmation
    result = bar.wait(120)
    assert list(result.index) == [series_id]
    assert result.at[series_id, "status"] == "ok", result.at[series_id, "error"]
    new_id = result.at[series_id, "new_id"]
    copy = client.GET(f"/series/{new_id}")
    assert len(copy["Instances"]) == frames.series.at[series_id, "num_instances"]
    assert client.GET(f"/series/{series_id}")["ID"] == series_id  # the original stays
    assert new_id in set(browser.series_table.rows.index)  # reloaded: the copy is browsable
    assert len(browser.patients_table.rows) == cohort_dir.patients + 1

    browser.series_table.pick(series_id)
    bar.action.value = "download"
    assert bar.argument.value == "orthanc-download"
    target = tmp_path / "export"
    bar.argument.value = str(target)
    bar.run_button.click()
    result = bar.wait(60)
    assert result.at[series_id, "status"] == "ok", result.at[series_id, "error"]
    files = [path for path in Path(target).rglob("*") if path.is_file()]
    assert len(files) == frames.series.at[series_id, "num_instances"]
    client.close()


def test_delete_asks_for_confirmation_in_the_widget(empty_server, cohort_dir):
    frames = _stored_frames(empty_server, cohort_dir)
    client = frames.client
    browser = browse(frames)
    bar = browser.actions
    patient = browser.patients_table.page_ids[0]
    browser.patients_table.pick(patient)

    bar.action.value = "delete"
    bar.run_button.click()
    assert bar.awaiting_confirmation and not bar.running
    assert bar.confirm_box.layout.display == "flex"
    assert "Delete 1 patient" in bar.confirm_text.value
    bar.back_button.click()
    assert not bar.awaiting_confirmation and bar.result is None
    assert client.GET(f"/patients/{patient}")["ID"] == patient  # nothing deleted

    bar.run_button.click()
    bar.confirm_button.click()
    result = bar.wait(60)
    assert result.at[patient, "status"] == "ok"
    with pytest.raises(of.NotFound):
        client.GET(f"/patients/{patient}")
    assert patient not in set(browser.patients_table.rows.index)
    assert len(browser.patients_table.rows) == cohort_dir.patients - 1
    assert browser.patients_table.picked == []

    # anonymize that deletes the originals is destructive too
    browser.series_table.pick(browser.series_table.page_ids[0])
    bar.action.value = "anonymize"
    bar.keep_originals.value = False
    bar.run_button.click()
    assert bar.awaiting_confirmation
    assert "delete the originals" in bar.confirm_text.value
    bar.back_button.click()

    # what the server refuses is reported per row, and the bar is ready again
    two = browser.series_table.page_ids[:2]
    browser.series_table.set_picked(two)
    bar.action.value = "add_label"
    bar.argument.value = "not a label!"
    bar.run_button.click()
    result = bar.wait(60)
    assert list(result.index) == two
    assert set(result["status"]) == {"failed"}
    assert result["error"].notna().all()
    assert bar.progress.bar_style == "danger"
    assert "2 failed" in bar.status.value
    assert not bar.run_button.disabled and bar.cancel_button.disabled
    client.close()


class _GateTransport(httpx.BaseTransport):
    """Holds the first label request until the test releases it (a slow server on demand)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "/labels/" in request.url.path:
            with self._lock:
                first = not self.entered.is_set()
                self.entered.set()
            if first:
                self.release.wait(30)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_cancel_stops_between_groups_and_reports_the_rest(empty_server, cohort_dir):
    gate = _GateTransport()
    frames = _stored_frames(empty_server, cohort_dir, transport=gate)
    client = frames.client
    browser = browse(frames, chunk_size=2)
    bar = browser.actions
    all_series = list(browser.series_table.rows.index)
    browser.series_table.set_picked(all_series)
    bar.argument.value = "batch"
    bar.run_button.click()
    try:
        assert gate.entered.wait(30)
        assert bar.running and not bar.cancel_button.disabled
        assert bar.run_button.disabled  # one run at a time
        bar.cancel_button.click()
    finally:
        gate.release.set()
    result = bar.wait(60)
    assert list(result.index) == all_series
    done = result[result["status"] == "ok"]
    assert list(done.index) == all_series[:2]  # the group in flight finishes
    rest = result.iloc[2:]
    assert set(rest["status"]) == {"skipped"}
    assert set(rest["error"]) == {"cancelled before it started"}
    assert "cancelled" in bar.status.value
    assert bar.progress.bar_style == "warning"
    labelled = [s for s in all_series if client.GET(f"/series/{s}/labels") == ["batch"]]
    assert labelled == all_series[:2]
    client.close()


def test_nothing_selected_runs_nothing(cohort_frames):
    browser = browse(cohort_frames)
    browser.filters.text.value = "no patient is called like this"
    assert len(browser.selection) == 0
    browser.actions.argument.value = "x"
    browser.actions.run_button.click()
    assert browser.actions.result is None and not browser.actions.running
    assert "Nothing is selected" in browser.actions.status.value


def test_display_reprs_exist(cohort_frames, client):
    assert "<" in cohort_frames._repr_html_()
    series = cohort_frames.series.head(1).orthanc.resources()[0]
    assert series.id in series._repr_html_()


def test_browsing_costs_requests_per_click_not_per_resource(cohort_server):
    recorder = RecordingTransport()
    with of.Orthanc(
        cohort_server.url, username=USERNAME, password=PASSWORD, transport=recorder
    ) as client:
        frames = of.Frames.load(client, levels=("patient", "study", "series"))
        recorder.clear()
        browser = browse(frames, page_size=3)
        browser.filters.text.value = "imaging"
        browser.filters.modality.value = ("CT",)
        browser.series_table.next_page.click()
        browser.patients_table.sort_by.value = "PatientID"
        browser.patients_table.pick(browser.patients_table.page_ids[0])
        browser.studies_table.pick(browser.studies_table.page_ids[0])
        assert recorder.requests == []  # filters, paging, sorting, links: all local

        series_id = browser.series_table.page_ids[0]
        browser.series_table.pick(series_id)
        middle = browser.preview.instance_id
        assert recorder.requests == [
            ("GET", f"/series/{series_id}/instances"),
            ("GET", f"/instances/{middle}/preview"),
            ("GET", f"/instances/{middle}/tags"),
        ]
        recorder.clear()
        browser.preview.step(1)
        first = browser.preview.instance_ids[0]
        assert recorder.requests == [
            ("GET", f"/instances/{first}/preview"),
            ("GET", f"/instances/{first}/tags"),
        ]
        recorder.clear()
        browser.preview.step(len(browser.preview.instance_ids) // 2 + 1)  # seen before: cached
        assert browser.preview.instance_id == middle
        assert recorder.requests == []
