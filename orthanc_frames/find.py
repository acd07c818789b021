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

from ._parallel import check_workers, run_each
from .client import route
from .client.errors import NotFound
from .levels import Level
from .orthanc_ids import orthanc_id
from .paging import checked_query, iter_find_pages, iter_list_pages
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
R_DEFAULT_LIMIT = 1000
"""At most this many resources with ``retrieve_all_resources=False`` (the R package's default)."""
# When at most this many parents survive a filter, their children are read
# parent by parent; above it, one paged find over the whole child level.
_CHILDREN_PER_PARENT_LIMIT = 8


def _parent_tags_to_request(client: Orthanc, level: str) -> list[str]:
    """The main tags of the levels above ``level``, as this server keeps them."""
    main = client.capabilities.main_tags
    return [tag for ancestor in Level(level).ancestors for tag in main.of(ancestor)]


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
    requested = _parent_tags_to_request(client, level) if with_parents and extended else None
    rows: list[dict[str, Any]] = []
    for page in iter_find_pages(
        client,
        level,
        query=query,
        labels=labels_list,
        labels_constraint=labels_constraint,
        response_content=list(_RESPONSE_CONTENT),
        requested_tags=requested,
        page_size=page_size,
        since=since,
        limit=limit,
    ):
        rows.extend(page)
    parents: dict[tuple[str, str], Resource] = {}
    # Rows are whole descriptions only as ``Expand`` rows (before Orthanc 1.12.5).
    complete = not client.capabilities.has_response_content
    resources = [
        _resource_from_row(client, level, row, lock_children, complete, parents) for row in rows
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
    while current and Level.parse(current[0].level).parent is not None:
        level = Level.parse(current[0].level)
        key, ancestor = str(level.parent_key), Level(level.parent)
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
    collection = Level.parse(level).route
    if len(ids) <= _CHILDREN_PER_PARENT_LIMIT:
        rows: dict[str, dict[str, Any]] = {}
        for rid in sorted(ids):
            try:
                rows[rid] = dict(client.GET(route(collection, rid)))
            except NotFound:
                continue
        return rows
    return {
        str(row["ID"]): row
        for page in iter_list_pages(client, level)
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
        information["PatientMainDicomTags"] = _tags_of(client, "patient", requested)
    resource = RESOURCE_CLASSES[level]._from_information(
        client, information, complete=complete, lock_children=lock_children
    )
    if requested:
        _attach_known_parents(
            client, resource, {**requested, **information["MainDicomTags"]}, parents
        )
    return resource


def _tags_of(client: Orthanc, level: str, tags: Mapping[str, Any]) -> dict[str, Any]:
    """The main tags of ``level`` (this server's) among ``tags``."""
    return {name: tags[name] for name in client.capabilities.main_tags.of(level) if name in tags}


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
    for ancestor in Level(resource.level).ancestors:
        identifiers = [
            tags.get(level.identifier_tag) for level in (*ancestor.ancestors[::-1], ancestor)
        ]
        if any(value in (None, "") for value in identifiers[1:]):
            return
        parent_id = orthanc_id(*identifiers)
        parent_key = Level(child.level).parent_key
        if child._information is not None and parent_key:
            known = child._information.get(parent_key)
            if known and known != parent_id:
                return  # identifiers were modified without Orthanc's knowledge: stay lazy
        key = (ancestor.value, parent_id)
        parent = parents.get(key)
        if parent is None:
            information: dict[str, Any] = {
                "ID": parent_id,
                "MainDicomTags": _tags_of(client, ancestor.value, tags),
            }
            if ancestor == "study":
                information["PatientMainDicomTags"] = _tags_of(client, "patient", tags)
            if ancestor.parent_key:
                information[ancestor.parent_key] = orthanc_id(*identifiers[:-1])
            parent = RESOURCE_CLASSES[ancestor.value]._from_information(client, information)
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
        resources (default 1000, as in the R package; the server is asked
        for no more). Otherwise the number of rows asked per page
        (default: sized by the pager).
    since : int
        Skip the first ``since`` matches (in the server's stable order);
        the server skips them, they are not downloaded.
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

    Raises
    ------
    TypeError
        When ``query`` is not a mapping (``"Modality=CT"``: write
        ``{"Modality": "CT"}``), before any request.
    ValueError
        When a key of ``query`` is not a DICOM keyword
        (:class:`~orthanc_frames.dicom_tags.UnknownKeywordError`), or
        ``limit``/``since`` is negative, before any request.

    Examples
    --------
    >>> series = of.query_orthanc(c, "series", {"Modality": "MR"})
    >>> [(s.parent_patient.name, s.description) for s in series]  # doctest: +ELLIPSIS
    [(...)...]
    """
    query = checked_query(query)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be positive or None, not {limit}.")
    if since < 0:
        raise ValueError(f"since must be 0 or more, not {since}.")
    name = Level.parse(level).value
    if not retrieve_all_resources and limit is None:
        limit = R_DEFAULT_LIMIT
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


def _found(resource_class: type[R], arguments: Mapping[str, Any]) -> list[R]:
    """:func:`query_orthanc` at the level of ``resource_class``, with a find_*'s arguments.

    ``arguments`` is the calling find_*'s ``locals()``: exactly its parameters,
    which are those of :func:`query_orthanc` but ``level``. Each find_* keeps
    its R signature written out, for ``help()``; this is what they share.
    """
    found = query_orthanc(level=resource_class.level, **arguments)
    return [r for r in found if isinstance(r, resource_class)]


def find_patients(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    limit: int | None = None,
    since: int = 0,
    retrieve_all_resources: bool = True,
    lock_children: bool = False,
) -> list[Patient]:
    """Every patient matching ``query`` and ``labels``.

    The arguments after ``labels_constraint`` are those of
    :func:`query_orthanc`, in its order (the R package passes them on the
    same way).

    Examples
    --------
    >>> of.find_patients(c, {"PatientName": "Dupont*"}, labels=["cohort-a"])
    []
    """
    return _found(Patient, locals())


def find_studies(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    limit: int | None = None,
    since: int = 0,
    retrieve_all_resources: bool = True,
    lock_children: bool = False,
) -> list[Study]:
    """Every study matching ``query`` and ``labels`` (arguments of :func:`query_orthanc`).

    Examples
    --------
    >>> of.find_studies(c, {"StudyDate": "20190101-20191231"})  # doctest: +ELLIPSIS
    [Study('...', ...), ...]
    """
    return _found(Study, locals())


def find_series(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    limit: int | None = None,
    since: int = 0,
    retrieve_all_resources: bool = True,
    lock_children: bool = False,
) -> list[Series]:
    """Every series matching ``query`` and ``labels`` (arguments of :func:`query_orthanc`).

    Examples
    --------
    >>> of.find_series(c, {"Modality": "CT"})  # doctest: +ELLIPSIS
    [Series('...', ...), ...]
    """
    return _found(Series, locals())


def find_instances(
    client: Orthanc,
    query: Query | None = None,
    labels: Labels | None = None,
    labels_constraint: str = "All",
    limit: int | None = None,
    since: int = 0,
    retrieve_all_resources: bool = True,
    lock_children: bool = False,
) -> list[Instance]:
    """Every instance matching ``query`` and ``labels`` (arguments of :func:`query_orthanc`).

    Examples
    --------
    >>> of.find_instances(c, {"InstanceNumber": "1"})  # doctest: +ELLIPSIS
    [Instance('...', ...), ...]
    """
    return _found(Instance, locals())


# -- find and filter with predicates ------------------------------------------


def _keep(
    client: Orthanc,
    resources: list[R],
    predicate: Predicate | None,
    workers: int | None,
    progress: bool | None,
    desc: str,
) -> list[R]:
    if predicate is None or not resources:
        return resources
    outcomes = run_each(
        predicate, resources, workers=workers, client=client, progress=progress, desc=desc
    )
    for outcome in outcomes:
        if outcome.error is not None:
            raise RuntimeError(
                f"The {desc} predicate raised on {outcome.item!r}: "
                f"{type(outcome.error).__name__}: {outcome.error}. Fix the predicate "
                "(e.g. guard against missing tags, which are None)."
            ) from outcome.error
    return [outcome.item for outcome in outcomes if outcome.value]


def _load_children(
    client: Orthanc, parents: list[Resource], child_level: Level, workers: int | None
) -> None:
    """Give every (locked) parent its children, with the fewest requests."""
    if len(parents) <= _CHILDREN_PER_PARENT_LIMIT:
        child_class = RESOURCE_CLASSES[child_level.value]
        for outcome in run_each(
            lambda p: p._child_resources(child_class, child_level.route),
            parents,
            workers=workers,
            client=client,
            progress=False,
        ):
            if outcome.error is not None:
                raise outcome.error
        return
    by_parent: dict[str, list[Resource]] = {parent.id: [] for parent in parents}
    key = str(child_level.parent_key)
    for child in _find_resources(client, child_level.value, lock_children=True, with_parents=False):
        parent_id = child._information.get(key) if child._information else None
        if parent_id in by_parent:
            by_parent[str(parent_id)].append(child)
    for parent in parents:
        parent.set_child_resources(by_parent[parent.id])


def _find_and_filter(
    client: Orthanc,
    resource_class: type[R],
    filters: Sequence[Predicate | None],
    workers: int | None,
    progress: bool | None,
) -> list[R]:
    """The seed's predicate tree below ``resource_class``'s level: one filter per level."""
    check_workers(workers)
    top_level = Level(resource_class.level)
    levels = (top_level, *top_level.descendants)
    deepest = max((i for i, f in enumerate(filters) if f is not None), default=0)
    top = _find_resources(client, top_level.value, lock_children=True, with_parents=False)
    kept = _keep(client, top, filters[0], workers, progress, f"{top_level} filter")
    current = kept
    for depth in range(1, deepest + 1):
        if not current:
            break
        child_level = levels[depth]
        _load_children(client, current, child_level, workers)
        children = [child for parent in current for child in parent._children or []]
        survivors = _keep(
            client, children, filters[depth], workers, progress, f"{child_level} filter"
        )
        chosen = set(map(id, survivors))
        for parent in current:
            parent.set_child_resources([c for c in parent._children or [] if id(c) in chosen])
        current = survivors
    for resource in kept:
        resource._remove_empty_children()
    return [
        r for r in kept if isinstance(r, resource_class) and (r._children is None or r._children)
    ]


def find_and_filter_patients(
    client: Orthanc,
    patient_filter: Callable[[Patient], bool] | None = None,
    study_filter: Callable[[Study], bool] | None = None,
    series_filter: Callable[[Series], bool] | None = None,
    instance_filter: Callable[[Instance], bool] | None = None,
    progress: bool | None = None,
    *,
    workers: int | None = None,
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
    progress : bool, optional
        Show progress bars (default: in notebooks and terminals).
    workers : int, optional
        Predicates run at once (default 8, at most the client's ``pool_size``).

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
    >>> of.find_and_filter_patients(  # doctest: +ELLIPSIS
    ...     c, patient_filter=lambda p: p.sex == "F", series_filter=lambda s: s.modality == "MR")
    [...]
    """
    filters = (patient_filter, study_filter, series_filter, instance_filter)
    return _find_and_filter(client, Patient, filters, workers, progress)


def find_and_filter_studies(
    client: Orthanc,
    study_filter: Callable[[Study], bool] | None = None,
    series_filter: Callable[[Series], bool] | None = None,
    instance_filter: Callable[[Instance], bool] | None = None,
    progress: bool | None = None,
    *,
    workers: int | None = None,
) -> list[Study]:
    """Studies whose tree passes the predicates (see :func:`find_and_filter_patients`)."""
    filters = (study_filter, series_filter, instance_filter)
    return _find_and_filter(client, Study, filters, workers, progress)


def find_and_filter_series(
    client: Orthanc,
    series_filter: Callable[[Series], bool] | None = None,
    instance_filter: Callable[[Instance], bool] | None = None,
    progress: bool | None = None,
    *,
    workers: int | None = None,
) -> list[Series]:
    """Series whose instances pass the predicates (see :func:`find_and_filter_patients`)."""
    filters = (series_filter, instance_filter)
    return _find_and_filter(client, Series, filters, workers, progress)


def find_and_filter_instances(
    client: Orthanc,
    instance_filter: Callable[[Instance], bool] | None = None,
    progress: bool | None = None,
    *,
    workers: int | None = None,
) -> list[Instance]:
    """Instances passing the predicate (see :func:`find_and_filter_patients`)."""
    return _find_and_filter(client, Instance, (instance_filter,), workers, progress)
