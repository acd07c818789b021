"""Finding resources: completeness, queries, labels, request counts, predicate trees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import PASSWORD, USERNAME, load_into
from transports import CountingTransport

import orthanc_frames as of


class ServerWithoutLabels(httpx.BaseTransport):
    """A real server whose /system answers like Orthanc 1.11 (which a real 1.12 cannot do)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.finds: list[Any] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tools/find":
            self.finds.append(json.loads(request.content))
        response = self.inner.handle_request(request)
        if request.url.path != "/system":
            return response
        response.read()
        system = response.json()
        system.update({"Version": "1.11.3", "HasLabels": False, "Capabilities": {}})
        return httpx.Response(200, json=system)


def _client(server: Any, transport: httpx.BaseTransport | None = None) -> of.Orthanc:
    auth = {"username": USERNAME, "password": PASSWORD} if server.auth_enabled else {}
    return of.Orthanc(server.url, transport=transport, **auth)


@pytest.fixture
def limited_client(limited_server: Any) -> Iterator[of.Orthanc]:
    with _client(limited_server) as client:
        yield client


@pytest.fixture(scope="module")
def labelled_server(make_server: Any, cohort_dir: Any) -> Any:
    """The cohort on a server of this module, with labels on some studies."""
    server = make_server("FIND_LABELS")
    load_into(server, cohort_dir.outdir)
    with _client(server) as client:
        studies = sorted(of.find_studies(client), key=lambda s: s.uid or "")
        for study in studies[:4]:
            study.add_label("red")
        for study in studies[2:6]:
            study.add_label("blue")
    return server


def test_every_match_despite_limit_find_results(
    limited_client: of.Orthanc, cohort_dir: Any
) -> None:
    assert len(of.find_patients(limited_client)) == cohort_dir.patients
    assert len(of.find_studies(limited_client)) == cohort_dir.studies
    series = of.find_series(limited_client)
    assert len(series) == cohort_dir.series
    assert {s.uid for s in series} == set(cohort_dir.series_uids)
    instances = of.find_instances(limited_client)
    assert len({i.id for i in instances}) == cohort_dir.instances


@pytest.mark.needs("paged_find")
def test_query_filters_on_the_server(limited_client: of.Orthanc, cohort_dir: Any) -> None:
    ct = of.find_series(limited_client, {"Modality": "CT"})
    expected = [uid for uid, modality in cohort_dir.modalities.items() if modality == "CT"]
    assert sorted(s.uid for s in ct) == sorted(expected)
    assert all(s.modality == "CT" for s in ct)
    one = cohort_dir.patient_ids[1]
    studies = of.find_studies(limited_client, {"PatientID": one})
    assert {s.parent_patient.patient_id for s in studies} == {one}
    assert of.find_patients(limited_client, {"PatientID": "no-such-patient"}) == []


def test_query_orthanc_levels_since_and_limit(limited_client: of.Orthanc) -> None:
    every = of.query_orthanc(limited_client, "Series")
    assert all(isinstance(s, of.Series) for s in every)
    assert of.query_orthanc(limited_client, "series", since=5) == every[5:]
    assert (
        of.query_orthanc(limited_client, "series", limit=7, retrieve_all_resources=False)
        == every[:7]
    )
    assert (
        of.query_orthanc(limited_client, "series", since=4, limit=5, retrieve_all_resources=False)
        == every[4:9]
    )
    locked = of.query_orthanc(limited_client, "patient", lock_children=True)
    assert all(p.lock_children for p in locked)
    with pytest.raises(ValueError, match="level: unknown level"):
        of.query_orthanc(limited_client, "frame")


@pytest.mark.needs("extended_find")
def test_request_count_grows_with_pages_not_resources(cohort_server: Any) -> None:
    transport = CountingTransport()
    with _client(cohort_server, transport) as client:
        client.capabilities  # noqa: B018
        transport.requests.clear()
        series = of.find_series(client)
        read = [
            (
                s.modality,
                s.series_number,
                s.parent_study.date,
                s.parent_study.description,
                s.parent_patient.name,
                s.parent_patient.sex,
            )
            for s in series
        ]
    n = len(series)
    assert n == 20 and len(read) == n
    # count-resources + one page; one request per series would be >= n.
    assert len(transport.requests) <= 3 < n
    assert all(path in ("/tools/find", "/tools/count-resources") for _, path in transport.requests)


def test_parents_cost_a_few_requests_on_every_server(cohort_server: Any) -> None:
    # Without extended find the rows name only their parent's ID: the parents
    # come from their own rows, read for all resources at once.
    transport = CountingTransport()
    with _client(cohort_server, transport) as client:
        client.capabilities  # noqa: B018
        transport.requests.clear()
        instances = of.find_instances(client)
        read = {
            (i.parent_series.modality, i.parent_study.date, i.parent_patient.name)
            for i in instances
        }
    assert len(instances) == 80 and read
    # Finds (or listings) per level, never a request per instance or per series.
    assert len(transport.requests) <= 3 + 2 * 3 + 8
    assert len({id(i.parent_series) for i in instances}) == 20


def test_parent_ids_computed_from_tags_are_orthanc_s(client: of.Orthanc) -> None:
    for instance in of.find_instances(client)[:12]:
        truth = of.Instance(instance.id, client).get_main_information()["ParentSeries"]
        series = instance.parent_series
        assert series.id == truth
        study_truth = client.GET(f"/series/{truth}")["ParentStudy"]
        assert instance.parent_study.id == study_truth
        assert instance.parent_patient.id == client.GET(f"/studies/{study_truth}")["ParentPatient"]
        assert instance.parent_patient.name == series.parent_patient.name


def test_parents_are_shared_objects(client: of.Orthanc) -> None:
    series = of.find_series(client)
    by_study: dict[str, set[int]] = {}
    for s in series:
        by_study.setdefault(s.parent_study.id, set()).add(id(s.parent_study))
    assert all(len(objects) == 1 for objects in by_study.values())


@pytest.mark.parametrize(
    ("labels", "constraint", "expected"),
    [
        (["red"], "All", {0, 1, 2, 3}),
        (["red", "blue"], "All", {2, 3}),
        (["red", "blue"], "Any", {0, 1, 2, 3, 4, 5}),
        (["red", "blue"], "None", {6, 7, 8, 9}),
        ("blue", "All", {2, 3, 4, 5}),
    ],
)
@pytest.mark.needs("labels")
def test_labels_constraint(
    labelled_server: Any, labels: Any, constraint: str, expected: set[int]
) -> None:
    with _client(labelled_server) as client:
        every = sorted(of.find_studies(client), key=lambda s: s.uid or "")
        found = of.find_studies(client, labels=labels, labels_constraint=constraint)
        assert {every.index(s) for s in found} == expected
        assert {s for s in found} <= set(every)


@pytest.mark.needs("labels")
def test_labels_on_resources(labelled_server: Any) -> None:
    with _client(labelled_server) as client:
        red = of.find_studies(client, labels=["red"])
        assert all("red" in s.labels for s in red)
        assert of.find_series(client, labels=["red"]) == []  # labels are per level


def test_bad_labels_constraint(client: of.Orthanc) -> None:
    with pytest.raises(ValueError, match="labels_constraint"):
        of.find_studies(client, labels=["x"], labels_constraint="Some")


def test_labels_refused_by_a_server_without_labels(cohort_server: Any) -> None:
    transport = ServerWithoutLabels()
    with _client(cohort_server, transport) as client:
        with pytest.raises(of.UnsupportedByServer, match=r"1\.12"):
            of.find_studies(client, labels=["red"])
        assert transport.finds == []  # refused before asking: 1.11 would ignore the filter
        series = of.find_series(client, {"Modality": "MR"})  # Expand pages instead
        assert len(series) == 10 and all(s.modality == "MR" for s in series)
        assert all(f.get("Expand") for f in transport.finds)
        with pytest.raises(of.UnsupportedByServer):
            series[0].add_label("x")


def test_find_and_filter_patients(client: of.Orthanc, cohort_dir: Any) -> None:
    women = of.find_and_filter_patients(client, patient_filter=lambda p: p.sex == "F")
    assert {p.patient_id for p in women} == {
        p.patient_id for p in of.find_patients(client, {"PatientSex": "F"})
    }
    trees = of.find_and_filter_patients(
        client,
        study_filter=lambda s: s.study_id == "S1",
        series_filter=lambda s: s.modality == "MR",
        instance_filter=lambda i: i.instance_number == 1,
        workers=2,
    )
    assert len(trees) == cohort_dir.patients
    for patient in trees:
        (study,) = patient.studies
        assert study.study_id == "S1"
        (series,) = study.series
        assert series.modality == "MR"
        (instance,) = series.instances
        assert instance.instance_number == 1
        assert instance.parent_patient is patient


def test_find_and_filter_trims_empty_branches(client: of.Orthanc) -> None:
    assert of.find_and_filter_patients(client, series_filter=lambda s: s.modality == "PT") == []
    mr_studies = of.find_and_filter_studies(
        client, series_filter=lambda s: s.modality == "MR", workers=3
    )
    assert len(mr_studies) == len(of.find_studies(client))
    assert all(s.modality == "MR" for st in mr_studies for s in st.series)
    first = of.find_and_filter_series(client, instance_filter=lambda i: i.instance_number == 1)
    assert all(len(s.instances) == 1 for s in first)
    odd = of.find_and_filter_instances(client, lambda i: (i.instance_number or 0) % 2 == 1)
    assert len(odd) == len(of.find_instances(client)) // 2


def test_a_failing_predicate_names_the_resource(client: of.Orthanc) -> None:
    with pytest.raises(RuntimeError, match="patient filter predicate raised on Patient"):
        of.find_and_filter_patients(client, patient_filter=lambda p: p.birth_date.year > 0)
