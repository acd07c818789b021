"""Find resources on an Orthanc server: every match, as resource objects.

:func:`find_patients`, :func:`find_studies`, :func:`find_series`,
:func:`find_instances` and :func:`query_orthanc` ask the server's
``/tools/find`` (through :mod:`orthanc_frames.paging`, so the answer is
never truncated by ``LimitFindResults``) and return resource objects that
already carry their main DICOM tags, and on Orthanc 1.12.5+ their
parents' main tags too: reading ``series.modality``,
``series.parent_study.date`` or ``series.parent_patient.name`` costs no
request. The number of requests grows with the number of pages, not with
the number of resources.

:func:`find_and_filter_patients` (and ``_studies``, ``_series``,
``_instances``) walks the patient -> study -> series -> instance tree with
Python predicates, as the seed does, on a bounded thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._parallel import run_each
from .client.errors import NotFound
from .dicom_tags import LEVELS, main_tags
from .orthanc_ids import orthanc_id
from .paging import iter_find_pages, iter_list_pages, orthanc_level
from .resources import RESOURCE_CLASSES, Instance, Patient, Resource, Series, Study

if TYPE_CHECKING:
    from .client import Orthanc

__all__ = [
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

R = TypeVar("R", bound=Resource)
Query = Mapping[str, Any]
Labels = Sequence[str] | str
Predicate = Callable[[Any], bool]

_RESPONSE_CONTENT = ("MainDicomTags", "Parent", "Labels", "IsStable")
# What names a resource at each level, top-down: the inputs of its Orthanc ID.
_IDENTIFIERS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
_PARENT_KEY = {"study": "ParentPatient", "series": "ParentStudy", "instance": "ParentSeries"}
# When at most this many parents survive a filter, their children are read
# parent by parent; above it, one paged find over the whole child level.
_CHILDREN_PER_PARENT_LIMIT = 8


def _level_name(level: str) -> str:
    return orthanc_level(level).lower()


def _ancestors(level: str) -> tuple[str, ...]:
    """The levels above ``level``, nearest first."""
    return tuple(reversed(LEVELS[: LEVELS.index(level)]))


def _parent_tags_to_request(level: str) -> list[str]:
    return [tag for ancestor in _ancestors(level) for tag in main_tags(ancestor)]


def _find_resources(
    client: Orthanc,
    level: str,
    *,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    lock_children: bool = False,
    with_parents: bool = True,
    page_size: int | None = None,
    since: int = 0,
    limit: int | None = None,
) -> list[Resource]:
    """The resources of one find, built from the find's rows (no request per resource)."""
    labels_list = [labels] if isinstance(labels, str) else labels
    extended = client.capabilities.has_extended_find
    requested = _parent_tags_to_request(level) if with_parents and extended else None
    rows: list[dict[str, Any]] = []
    skipped = 0
    for page in iter_find_pages(
        client,
        level,
        query=query,
        labels=labels_list,
        labels_constraint=labels_constraint,
        response_content=list(_RESPONSE_CONTENT),
        requested_tags=requested,
        page_size=page_size,
    ):
        if skipped < since:
            drop = min(since - skipped, len(page))
            skipped += drop
            page = page[drop:]
        rows.extend(page)
        if limit is not None and len(rows) >= limit:
            del rows[limit:]
            break
    parents: dict[tuple[str, str], Resource] = {}
    resources = [
        _resource_from_row(client, level, row, lock_children, not extended, parents) for row in rows
    ]
    if with_parents and not extended:
        _attach_parents_from_their_rows(client, resources)
    return resources


def _attach_parents_from_their_rows(client: Orthanc, resources: Sequence[Resource]) -> None:
    """Servers without extended find: link resources to parents built from the parents' rows.

    ``Expand`` rows name their parent's ID only. The parents' rows are read
    level by level, for all resources at once: one ``GET`` per parent when
    there are few, else the parent level's expanded listing (the upper
    levels are the small ones). Parents shared by several resources are
    one object, and reading their tags costs no further request.
    """
    current = list(resources)
    while current and current[0].level in _PARENT_KEY:
        key = _PARENT_KEY[current[0].level]
        ancestor = LEVELS[LEVELS.index(current[0].level) - 1]
        wanted = {
            str(r._information[key])
            for r in current
            if r._information is not None and r._information.get(key)
        }
        if not wanted:
            return
        found = _rows_by_id(client, ancestor, wanted)
        objects = {
            rid: RESOURCE_CLASSES[ancestor]._from_information(client, row, complete=True)
            for rid, row in found.items()
        }
        for resource in current:
            info = resource._information or {}
            parent = objects.get(str(info.get(key)))
            if parent is not None:
                resource._parent = parent
        current = list(objects.values())


def _rows_by_id(client: Orthanc, level: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The expanded rows of these resources of ``level`` (those that still exist)."""
    route = {"patient": "patients", "study": "studies", "series": "series"}[level]
    if len(ids) <= _CHILDREN_PER_PARENT_LIMIT:
        rows: dict[str, dict[str, Any]] = {}
        for rid in sorted(ids):
            try:
                rows[rid] = dict(client.GET(f"/{route}/{rid}"))
            except NotFound:
                continue
        return rows
    return {
        str(row["ID"]): row
        for page in iter_list_pages(client, level, workers=4)
        for row in page
        if str(row["ID"]) in ids
    }


def _resource_from_row(
    client: Orthanc,
    level: str,
    row: Mapping[str, Any],
    lock_children: bool,
    complete: bool,
    parents: dict[tuple[str, str], Resource],
) -> Resource:
    information = dict(row)
    requested = information.pop("RequestedTags", None) or {}
    if level == "study" and requested and "PatientMainDicomTags" not in information:
        information["PatientMainDicomTags"] = _tags_of("patient", requested)
    resource = RESOURCE_CLASSES[level]._from_information(
        client, information, complete=complete, lock_children=lock_children
    )
    if requested:
        _attach_known_parents(
            client, resource, {**requested, **information["MainDicomTags"]}, parents
        )
    return resource


def _tags_of(level: str, tags: Mapping[str, Any]) -> dict[str, Any]:
    return {name: tags[name] for name in main_tags(level) if name in tags}


def _attach_known_parents(
    client: Orthanc,
    resource: Resource,
    tags: Mapping[str, Any],
    parents: dict[tuple[str, str], Resource],
) -> None:
    """Link ``resource`` to parent objects made from tags the find already returned.

    Parent IDs are computed from the DICOM identifiers (as Orthanc does);
    parents shared by several resources are one object.
    """
    child = resource
    for ancestor in _ancestors(resource.level):
        depth = LEVELS.index(ancestor) + 1
        identifiers = [tags.get(name) for name in _IDENTIFIERS[:depth]]
        if any(value in (None, "") for value in identifiers[1:]):
            return
        parent_id = orthanc_id(*identifiers)
        if child._information is not None and child.level in _PARENT_KEY:
            known = child._information.get(_PARENT_KEY[child.level])
            if known and known != parent_id:
                return  # identifiers were modified without Orthanc's knowledge: stay lazy
        key = (ancestor, parent_id)
        parent = parents.get(key)
        if parent is None:
            information: dict[str, Any] = {
                "ID": parent_id,
                "MainDicomTags": _tags_of(ancestor, tags),
            }
            if ancestor == "study":
                information["PatientMainDicomTags"] = _tags_of("patient", tags)
            if ancestor in _PARENT_KEY:
                information[_PARENT_KEY[ancestor]] = orthanc_id(*identifiers[:-1])
            parent = RESOURCE_CLASSES[ancestor]._from_information(client, information)
            parents[key] = parent
        child._parent = parent
        child = parent


def query_orthanc(
    client: Orthanc,
    level: str,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    limit: int | None = None,
    since: int = 0,
    retrieve_all_resources: bool = True,
    lock_children: bool = False,
) -> list[Resource]:
    """Find resources of any level, as resource objects carrying their main tags.

    Parameters
    ----------
    client : Orthanc
        The server to ask.
    level : {"patient", "study", "series", "instance"}
        Also accepted: Orthanc's ``"Patient"``, ``"Study"``... and plurals.
    query : dict, optional
        DICOM keyword -> Orthanc pattern: ``{"Modality": "CT"}``,
        ``{"StudyDate": "20200101-20201231"}``, ``{"PatientName": "Dup*"}``;
        a list means any of its values. Filter on main DICOM tags (others
        make the server read every file).
    labels : str or list of str, optional
        Only resources carrying these labels (Orthanc 1.12+; an older server
        raises :class:`~orthanc_frames.UnsupportedByServer` instead of
        silently ignoring the filter).
    labels_constraint : {"All", "Any", "None"}
        The resource has all the labels, any of them, or none of them.
    limit : int, optional
        With ``retrieve_all_resources=False``: return at most ``limit``
        resources. Otherwise the number of rows asked per page.
    since : int
        Skip the first ``since`` matches (in the server's stable order).
    retrieve_all_resources : bool
        Return every match from ``since`` on (default), paging as long as
        needed; never truncated by the server's ``LimitFindResults``.
    lock_children : bool
        Make the resources with ``lock_children=True``.

    Returns
    -------
    list of Patient, Study, Series or Instance
        In the server's order. Their main tags (and, on Orthanc 1.12.5+,
        their parents' main tags) come from the find: reading them costs
        no request.

    Examples
    --------
    >>> series = of.query_orthanc(c, "series", {"Modality": "MR"})  # doctest: +SKIP
    >>> [(s.parent_patient.name, s.description) for s in series]  # doctest: +SKIP
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be positive or None, not {limit}.")
    if since < 0:
        raise ValueError(f"since must be 0 or more, not {since}.")
    name = _level_name(level)
    return _find_resources(
        client,
        name,
        query=query,
        labels=labels,
        labels_constraint=labels_constraint,
        lock_children=lock_children,
        page_size=limit if retrieve_all_resources else None,
        since=since,
        limit=None if retrieve_all_resources else limit,
    )


def find_patients(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    lock_children: bool = False,
) -> list[Patient]:
    """Every patient matching ``query`` and ``labels`` (see :func:`query_orthanc`).

    Examples
    --------
    >>> of.find_patients(c, {"PatientName": "Dupont*"}, labels=["cohort-a"])  # doctest: +SKIP
    """
    found = query_orthanc(
        client, "patient", query, labels, labels_constraint, lock_children=lock_children
    )
    return [r for r in found if isinstance(r, Patient)]


def find_studies(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    lock_children: bool = False,
) -> list[Study]:
    """Every study matching ``query`` and ``labels`` (see :func:`query_orthanc`).

    Examples
    --------
    >>> of.find_studies(c, {"StudyDate": "2020*"})  # doctest: +SKIP
    """
    found = query_orthanc(
        client, "study", query, labels, labels_constraint, lock_children=lock_children
    )
    return [r for r in found if isinstance(r, Study)]


def find_series(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    lock_children: bool = False,
) -> list[Series]:
    """Every series matching ``query`` and ``labels`` (see :func:`query_orthanc`).

    Examples
    --------
    >>> of.find_series(c, {"Modality": "CT"})  # doctest: +SKIP
    """
    found = query_orthanc(
        client, "series", query, labels, labels_constraint, lock_children=lock_children
    )
    return [r for r in found if isinstance(r, Series)]


def find_instances(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
) -> list[Instance]:
    """Every instance matching ``query`` and ``labels`` (see :func:`query_orthanc`).

    Examples
    --------
    >>> of.find_instances(c, {"InstanceNumber": "1"})  # doctest: +SKIP
    """
    found = query_orthanc(client, "instance", query, labels, labels_constraint)
    return [r for r in found if isinstance(r, Instance)]


# -- find and filter with predicates ------------------------------------------


def _keep(
    resources: list[R], predicate: Predicate | None, workers: int, progress: bool | None, desc: str
) -> list[R]:
    if predicate is None or not resources:
        return resources
    outcomes = run_each(predicate, resources, workers=workers, progress=progress, desc=desc)
    for outcome in outcomes:
        if outcome.error is not None:
            raise RuntimeError(
                f"The {desc} predicate raised on {outcome.item!r}: "
                f"{type(outcome.error).__name__}: {outcome.error}. Fix the predicate "
                "(e.g. guard against missing tags, which are None)."
            ) from outcome.error
    return [outcome.item for outcome in outcomes if outcome.value]


def _load_children(
    client: Orthanc, parents: list[Resource], child_level: str, workers: int
) -> None:
    """Give every (locked) parent its children, with the fewest requests."""
    if len(parents) <= _CHILDREN_PER_PARENT_LIMIT:
        route = {"study": "studies", "series": "series", "instance": "instances"}[child_level]
        child_class = RESOURCE_CLASSES[child_level]
        for outcome in run_each(
            lambda p: p._child_resources(child_class, route),
            parents,
            workers=workers,
            progress=False,
        ):
            if outcome.error is not None:
                raise outcome.error
        return
    by_parent: dict[str, list[Resource]] = {parent.id: [] for parent in parents}
    key = _PARENT_KEY[child_level]
    for child in _find_resources(client, child_level, lock_children=True, with_parents=False):
        parent_id = child._information.get(key) if child._information else None
        if parent_id in by_parent:
            by_parent[str(parent_id)].append(child)
    for parent in parents:
        parent._set_children(by_parent[parent.id])


def _find_and_filter(
    client: Orthanc,
    top_level: str,
    filters: Sequence[Predicate | None],
    workers: int,
    progress: bool | None,
) -> list[Resource]:
    levels = LEVELS[LEVELS.index(top_level) :]
    deepest = max((i for i, f in enumerate(filters) if f is not None), default=0)
    top = _find_resources(client, top_level, lock_children=True, with_parents=False)
    kept = _keep(top, filters[0], workers, progress, f"{top_level} filter")
    current = kept
    for depth in range(1, deepest + 1):
        if not current:
            break
        child_level = levels[depth]
        _load_children(client, current, child_level, workers)
        children = [child for parent in current for child in parent._children or []]
        survivors = _keep(children, filters[depth], workers, progress, f"{child_level} filter")
        chosen = set(map(id, survivors))
        for parent in current:
            parent._set_children([c for c in parent._children or [] if id(c) in chosen])
        current = survivors
    for resource in kept:
        resource._remove_empty_children()
    return [r for r in kept if r._children is None or r._children]


def _workers(client: Orthanc, workers: int | None) -> int:
    return max(1, min(workers or 4, client.pool_size))


def find_and_filter_patients(
    client: Orthanc,
    patient_filter: Callable[[Patient], bool] | None = None,
    study_filter: Callable[[Study], bool] | None = None,
    series_filter: Callable[[Series], bool] | None = None,
    instance_filter: Callable[[Instance], bool] | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[Patient]:
    """Patients whose tree passes Python predicates, with only the passing children.

    The seed's predicate tree: a patient is kept when it passes
    ``patient_filter`` and, if lower filters are given, still has at least
    one study after ``study_filter``, which still has a series after
    ``series_filter``, and so on. Returned resources have
    ``lock_children=True``: ``patient.studies`` lists only the kept studies.

    Parameters
    ----------
    client : Orthanc
        The server to search.
    patient_filter, study_filter, series_filter, instance_filter : callable, optional
        ``f(resource) -> bool``. Resources come with their main tags, so
        predicates on them cost no request (``lambda s: s.modality == "CT"``).
    workers : int, optional
        Predicates run at once (default 4, at most the client's pool size).
    progress : bool, optional
        Show progress bars (default: in notebooks and terminals).

    Returns
    -------
    list of Patient

    Notes
    -----
    Children are read only down to the deepest level that has a filter,
    level by level: one paged find per level, or one request per parent
    when few parents are left.

    Examples
    --------
    >>> of.find_and_filter_patients(  # doctest: +SKIP
    ...     c, patient_filter=lambda p: p.sex == "F", series_filter=lambda s: s.modality == "MR")
    """
    found = _find_and_filter(
        client,
        "patient",
        [patient_filter, study_filter, series_filter, instance_filter],
        _workers(client, workers),
        progress,
    )
    return [r for r in found if isinstance(r, Patient)]


def find_and_filter_studies(
    client: Orthanc,
    study_filter: Callable[[Study], bool] | None = None,
    series_filter: Callable[[Series], bool] | None = None,
    instance_filter: Callable[[Instance], bool] | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[Study]:
    """Studies whose tree passes the predicates (see :func:`find_and_filter_patients`)."""
    found = _find_and_filter(
        client,
        "study",
        [study_filter, series_filter, instance_filter],
        _workers(client, workers),
        progress,
    )
    return [r for r in found if isinstance(r, Study)]


def find_and_filter_series(
    client: Orthanc,
    series_filter: Callable[[Series], bool] | None = None,
    instance_filter: Callable[[Instance], bool] | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[Series]:
    """Series whose instances pass the predicates (see :func:`find_and_filter_patients`)."""
    found = _find_and_filter(
        client, "series", [series_filter, instance_filter], _workers(client, workers), progress
    )
    return [r for r in found if isinstance(r, Series)]


def find_and_filter_instances(
    client: Orthanc,
    instance_filter: Callable[[Instance], bool] | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[Instance]:
    """Instances passing the predicate (see :func:`find_and_filter_patients`)."""
    found = _find_and_filter(
        client, "instance", [instance_filter], _workers(client, workers), progress
    )
    return [r for r in found if isinstance(r, Instance)]
