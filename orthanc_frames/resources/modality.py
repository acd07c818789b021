"""DICOM networking through Orthanc: remote modalities and Orthanc peers.

A :class:`Modality` is a DICOM node the server knows (``/modalities``):
Orthanc talks DICOM to it on our behalf, C-ECHO, C-FIND, C-MOVE, C-GET and
C-STORE. A :class:`Peer` is another Orthanc server it knows
(``/peers``), reached over HTTP.

Examples
--------
>>> pacs = Modality(c, "PACS")
>>> if pacs.echo():
...     answers = pacs.find("Study", {"PatientID": "123*", "StudyDate": ""})
...     moved = answers.retrieve()  # C-MOVE everything found to this Orthanc
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, overload

from .._deprecation import renamed_keyword
from .._html import html_card
from ..client import route
from ..client.errors import HTTPError, NotFound
from ..levels import Level
from .job import Job

if TYPE_CHECKING:
    from ..client import Orthanc

__all__ = [
    "EchoResult",
    "Modality",
    "Peer",
    "QueryAnswers",
    "RemoteModality",
    "list_modalities",
    "list_peers",
]

# Orthanc names a query (``/queries/{id}``) by a UUID.
_QUERY_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def _orthanc_level(level: str) -> str:
    return Level.parse(level).orthanc


def _resource_ids(resources: Any) -> list[str]:
    """IDs from one ID, one resource object, or an iterable of either."""
    if isinstance(resources, str) or hasattr(resources, "id"):
        resources = [resources]
    ids = [item if isinstance(item, str) else item.id for item in resources]
    if not ids:
        raise ValueError("No resources given to send.")
    return ids


def _server_says(error: HTTPError) -> str:
    said = [text for text in (error.message, error.details) if isinstance(text, str) and text]
    return "; ".join(dict.fromkeys(said)) or str(error)


@dataclass(frozen=True)
class EchoResult:
    """The outcome of a C-ECHO (or of a peer's connectivity check).

    Truthy when the remote side answered, so ``if modality.echo():`` reads
    naturally.

    Attributes
    ----------
    ok : bool
        The remote side answered.
    target : str
        The modality or peer name.
    reason : str or None
        Why it failed, in Orthanc's words (unknown name, connection
        refused, association rejected, timeout...).
    """

    ok: bool
    target: str
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def _repr_html_(self) -> str:
        verdict = "answered" if self.ok else "failed"
        return html_card(f"Echo of {self.target}: {verdict}", fields={"reason": self.reason})


class QueryAnswers(Sequence[dict[str, Any]]):
    """The answers of one C-FIND, fetched in a single request.

    A sequence of dicts (DICOM keyword to value, as the remote modality
    answered). The query stays on the server, so the answers can still be
    retrieved with :meth:`retrieve`.

    Attributes
    ----------
    query_id : str
        Orthanc's ID of the query (``/queries/{id}``).
    modality : Modality
        Who was asked.
    level : str or None
        ``"Patient"``, ``"Study"``, ``"Series"`` or ``"Instance"``.
    """

    def __init__(
        self,
        modality: Modality,
        query_id: str,
        answers: Sequence[Mapping[str, Any]],
        level: str | None = None,
    ) -> None:
        self.modality = modality
        self.query_id = query_id
        self.level = level
        self._answers = [dict(answer) for answer in answers]

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self._answers[index]

    def __len__(self) -> int:
        return len(self._answers)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._answers)

    def __repr__(self) -> str:
        return (
            f"QueryAnswers({len(self)} {self.level or ''} answer(s) from "
            f"{self.modality.name!r}, query {self.query_id})"
        )

    def _repr_html_(self, max_rows: int = 20) -> str:
        columns = list(dict.fromkeys(key for answer in self._answers for key in answer))
        rows = [[answer.get(c, "") for c in columns] for answer in self._answers[:max_rows]]
        title = f"{len(self)} {self.level or ''} answer(s) from {self.modality.name}"
        return html_card(
            title, self.query_id, table=rows, headers=columns, more=max(0, len(self) - max_rows)
        )

    def retrieve(
        self,
        target_aet: str | None = None,
        *,
        method: str | None = None,
        asynchronous: bool = False,
        dicom_timeout: float | None = None,
        permissive: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any] | Job:
        """Retrieve every answer (``/queries/{id}/retrieve``).

        Parameters
        ----------
        target_aet : str, optional
            Where the modality sends the data (C-MOVE). Default: this
            Orthanc's own AET.
        method : {"move", "get"}, optional
            Force C-MOVE or C-GET; default: the modality's configuration.
        asynchronous : bool
            Return a :class:`~orthanc_frames.resources.job.Job` at once
            instead of waiting.
        dicom_timeout : float, optional
            DICOM timeout of the association, in seconds (``timeout=``, its old
            name, still works and warns).
        permissive : bool
            Go on after a failed sub-operation.

        Returns
        -------
        dict or Job
            The job's result (synchronous) or the job.
        """
        body: dict[str, Any] = {"Permissive": permissive}
        if target_aet is not None:
            body["TargetAet"] = target_aet
        if method is not None:
            body["RetrieveMethod"] = _retrieve_method(method)
        _set_dicom_timeout(body, dicom_timeout, timeout)
        client = self.modality.client
        return _run(client, route("queries", self.query_id, "retrieve"), body, asynchronous)


def _retrieve_method(method: str) -> str:
    methods = {"move": "C-MOVE", "c-move": "C-MOVE", "get": "C-GET", "c-get": "C-GET"}
    try:
        return methods[method.lower()]
    except KeyError:
        raise ValueError(f"Unknown retrieve method {method!r}; use 'move' or 'get'.") from None


def _run(client: Orthanc, route: str, body: dict[str, Any], asynchronous: bool) -> Any:
    if asynchronous:
        answer = client.POST(route, json={**body, "Asynchronous": True})
        return Job(answer["ID"], client)
    return client.POST(route, json={**body, "Synchronous": True})


class _Remote:
    """A remote node the server knows by a symbolic name: a modality or a peer."""

    _kind: ClassVar[str] = ""
    _collection: ClassVar[str] = ""

    def __init__(self, client: Orthanc, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"A {self._kind} needs its symbolic name (a non-empty string), not {name!r}."
            )
        self.client = client
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r} on {self.client.url})"

    def _repr_html_(self) -> str:
        return html_card(type(self).__name__, self.name, {"server": self.client.url})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Remote) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, str, str]:
        return (self._kind, self.client.url, self.name)

    def _route(self, action: str) -> str:
        return route(self._collection, self.name, action)

    def _echo_failure(self, error: HTTPError) -> EchoResult:
        reason = _server_says(error)
        if isinstance(error, NotFound):
            reason = (
                f"The server knows no {self._kind} named {self.name!r} ({reason}); "
                f"list them with list_{self._collection}(client)."
            )
        return EchoResult(False, self.name, reason)

    def _store(
        self, resources: Any, body: dict[str, Any], asynchronous: bool
    ) -> dict[str, Any] | Job:
        body = {"Resources": _resource_ids(resources), **body}
        return _run(self.client, self._route("store"), body, asynchronous)


class Modality(_Remote):
    """A DICOM modality known to the server (``/modalities/{name}``).

    ``RemoteModality`` is the same class under pyorthanc's name.

    Parameters
    ----------
    client : Orthanc
        The server that talks DICOM to the modality.
    name : str
        The modality's symbolic name in the server's configuration
        (``DicomModalities``), e.g. ``"PACS"``; not its AET.

    Examples
    --------
    >>> pacs = Modality(c, "PACS")
    >>> pacs.echo()
    EchoResult(ok=True, target='PACS', reason=None)
    """

    _kind = "modality"
    _collection = "modalities"

    @property
    def modality(self) -> str:
        """The modality's symbolic name (the R package's field; the same as :attr:`name`)."""
        return self.name

    @property
    def configuration(self) -> dict[str, Any]:
        """The server's configuration of this modality (AET, host, port, permissions)."""
        return dict(self.client.GET(self._route("configuration")))

    def echo(
        self,
        dicom_timeout: float | None = None,
        check_find: bool | None = None,
        *,
        timeout: float | None = None,
    ) -> EchoResult:
        """C-ECHO: check that the modality answers.

        Parameters
        ----------
        dicom_timeout : float, optional
            DICOM timeout of the association, in seconds.
        check_find : bool, optional
            Also issue a dummy C-FIND, to check that the modality accepts
            queries from this server (default: the server's configuration).
        timeout : float, optional
            Deprecated name of ``dicom_timeout`` (``timeout`` is the client's
            HTTP timeout); warns.

        Returns
        -------
        EchoResult
            Truthy on success; ``.reason`` says why it failed otherwise.
            Errors reaching the Orthanc server itself are raised, not returned.
        """
        body: dict[str, Any] = {}
        _set_dicom_timeout(body, dicom_timeout, timeout)
        if check_find is not None:
            body["CheckFind"] = check_find
        try:
            self.client.POST(self._route("echo"), json=body)
        except HTTPError as error:
            return self._echo_failure(error)
        return EchoResult(True, self.name)

    def find(
        self,
        level: str | Mapping[str, Any],
        query: Mapping[str, Any] | None = None,
        *,
        normalize: bool = True,
        dicom_timeout: float | None = None,
        timeout: float | None = None,
    ) -> Any:
        """C-FIND: ask the modality which resources match a query.

        Two forms:

        - ``find(level, query)`` returns :class:`QueryAnswers` (the answers,
          with the query's ID as ``.query_id``);
        - ``find(data)``, the R package's and pyorthanc's form, sends
          ``data`` (``{"Level": "Study", "Query": {...}}``, plus any other
          field of ``/modalities/{name}/query``) as the body and returns
          ``{"ID": query_id, "answers": QueryAnswers}``, for a later
          :meth:`move` ``(query_id, cmove_data)``.

        Parameters
        ----------
        level : str or mapping
            ``"Patient"``, ``"Study"``, ``"Series"`` or ``"Instance"``; or
            the whole request body (the R form).
        query : mapping
            DICOM keyword to value (wildcards ``*``/``?``, date ranges
            ``20200101-20201231``); an empty value asks the modality to return
            that tag. Not with the R form.
        normalize : bool
            Let Orthanc drop tags that do not belong to ``level``.
        dicom_timeout : float, optional
            DICOM timeout of the association, in seconds (``timeout=``, its old
            name, still works and warns).

        Returns
        -------
        QueryAnswers or dict
            The answers, read with one request whatever their number; in the
            R form, ``{"ID": ..., "answers": ...}``.

        Raises
        ------
        TypeError
            For ``find(level)`` without a query, or a body given with ``query``.
        """
        if isinstance(level, Mapping):
            if query is not None:
                raise TypeError(
                    "find(data) takes the whole body ({'Level': ..., 'Query': {...}}); "
                    "with a separate query, call find(level, query)."
                )
            body = dict(level)
            body["Level"] = _orthanc_level(body.get("Level", ""))
            started = self.client.POST(self._route("query"), json=body)
            query_id = str(started["ID"])
            return {"ID": query_id, "answers": self.get_query_answers(query_id)}
        if query is None:
            raise TypeError(
                f"find({level!r}) needs a query: find(level, query) as find('Study', "
                "{'PatientID': '*'}), or the R form find({'Level': ..., 'Query': {...}})."
            )
        body = {
            "Level": _orthanc_level(level),
            "Query": dict(query),
            "Normalize": normalize,
        }
        _set_dicom_timeout(body, dicom_timeout, timeout)
        started = self.client.POST(self._route("query"), json=body)
        return self.get_query_answers(started["ID"], level=body["Level"])

    def query(
        self,
        level: str | Mapping[str, Any],
        query: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> QueryAnswers:
        """C-FIND, as :meth:`find`; also accepts pyorthanc's single body.

        ``query("Study", {"PatientID": "1*"})`` and
        ``query({"Level": "Study", "Query": {"PatientID": "1*"}})`` are the same.
        """
        if isinstance(level, Mapping):
            answers: QueryAnswers = self.find(level["Level"], level.get("Query", {}), **options)
            return answers
        found: QueryAnswers = self.find(level, query or {}, **options)
        return found

    def get_query_answers(self, query_id: str, level: str | None = None) -> QueryAnswers:
        """The answers of an earlier query, read in one request.

        Parameters
        ----------
        query_id : str
            The ID of the query (``QueryAnswers.query_id``, or from ``/queries``).
        level : str, optional
            The query's level, when known (saves a request otherwise spent on it).
        """
        answers = self.client.GET(
            route("queries", query_id, "answers"), params={"expand": True, "simplify": True}
        )
        if level is None:
            level = str(self.client.GET(route("queries", query_id, "level")))
        return QueryAnswers(self, query_id, answers or [], level)

    def move(
        self,
        level: str,
        resources: Mapping[str, Any] | Iterable[Mapping[str, Any]] | QueryAnswers | None = None,
        target_aet: str | None = None,
        *,
        asynchronous: bool = False,
        dicom_timeout: float | None = None,
        permissive: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """C-MOVE: have the modality send resources to ``target_aet``.

        Two forms:

        - ``move(level, resources, target_aet)`` moves the resources named
          by their identifying tags (or the answers of :meth:`find`);
        - ``move(query_id, cmove_data)``, the R package's and pyorthanc's
          form, retrieves the answers of an earlier query: ``cmove_data``
          (e.g. ``{"TargetAet": "ORTHANC", "Synchronous": True}``) is sent
          as is to ``/queries/{query_id}/retrieve`` and Orthanc's answer is
          returned. The first argument is taken as a query ID when it is
          one (a UUID), as a level otherwise.

        Parameters
        ----------
        level : str
            Level of the resources; or the ID of an earlier query (R form).
        resources : dict, list of dicts, or QueryAnswers
            Identifying tags of each resource, e.g.
            ``{"StudyInstanceUID": "1.2.3"}``; or the answers of :meth:`find`.
            In the R form, the body of the retrieve (``cmove_data``).
        target_aet : str, optional
            Destination AET, which the modality must know. Default: this
            Orthanc (a retrieve).
        asynchronous : bool
            Return a :class:`~orthanc_frames.resources.job.Job` at once.
        dicom_timeout : float, optional
            DICOM timeout of the association, in seconds (``timeout=``, its old
            name, still works and warns).
        permissive : bool
            Go on after a failed sub-operation.

        Returns
        -------
        dict or Job
            The job's result (synchronous) or the job; in the R form,
            Orthanc's answer as is.

        Raises
        ------
        ValueError
            When the first argument is neither a level nor a query ID.
        """
        if isinstance(level, str) and _QUERY_ID.fullmatch(level.strip()):
            if resources is not None and not isinstance(resources, Mapping):
                raise TypeError(
                    f"move(query_id, cmove_data) takes the retrieve body as a dict (e.g. "
                    f"{{'TargetAet': 'ORTHANC', 'Synchronous': True}}), not {resources!r}."
                )
            retrieve = route("queries", level.strip(), "retrieve")
            return self.client.POST(retrieve, json=dict(resources or {}))
        if resources is None:
            raise TypeError(
                f"move({level!r}) needs the resources to move: move(level, resources, "
                "target_aet), or the R form move(query_id, cmove_data) with a query ID."
            )
        dicom_timeout = renamed_keyword("timeout", timeout, "dicom_timeout", dicom_timeout)
        if isinstance(resources, QueryAnswers):
            return resources.retrieve(
                target_aet,
                method="move",
                asynchronous=asynchronous,
                dicom_timeout=dicom_timeout,
                permissive=permissive,
            )
        body = self._retrieve_body(level, resources, dicom_timeout, permissive)
        if target_aet is not None:
            body["TargetAet"] = target_aet
        return _run(self.client, self._route("move"), body, asynchronous)

    def get(
        self,
        level: str,
        resources: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        asynchronous: bool = False,
        dicom_timeout: float | None = None,
        permissive: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any] | Job:
        """C-GET: fetch resources from the modality into this server.

        Parameters as in :meth:`move` (no target: the data comes here);
        the identifying tags may not hold wildcards.
        """
        dicom_timeout = renamed_keyword("timeout", timeout, "dicom_timeout", dicom_timeout)
        body = self._retrieve_body(level, resources, dicom_timeout, permissive)
        return _run(self.client, self._route("get"), body, asynchronous)

    @staticmethod
    def _retrieve_body(
        level: str,
        resources: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        dicom_timeout: float | None,
        permissive: bool,
    ) -> dict[str, Any]:
        items = [resources] if isinstance(resources, Mapping) else list(resources)
        if not items:
            raise ValueError("No resources given to retrieve.")
        body: dict[str, Any] = {
            "Level": _orthanc_level(level),
            "Resources": [dict(item) for item in items],
            "Permissive": permissive,
        }
        if dicom_timeout is not None:
            body["Timeout"] = dicom_timeout
        return body

    def store(
        self,
        resources: Any,
        *,
        asynchronous: bool = False,
        dicom_timeout: float | None = None,
        permissive: bool = False,
        storage_commitment: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any] | Job:
        """C-STORE: send resources of this server to the modality.

        Parameters
        ----------
        resources : str, resource, or iterable of these
            Orthanc IDs (any level) or objects with an ``.id``.
        asynchronous : bool
            Return a :class:`~orthanc_frames.resources.job.Job` at once.
        dicom_timeout : float, optional
            DICOM timeout of the association, in seconds (``timeout=``, its old
            name, still works and warns).
        permissive : bool
            Go on after an instance failed.
        storage_commitment : bool
            Ask the modality to commit to storing what it received.

        Returns
        -------
        dict or Job
            Orthanc's report (``InstancesCount``, ``FailedInstancesCount``...)
            or the job.
        """
        body: dict[str, Any] = {"Permissive": permissive, "StorageCommitment": storage_commitment}
        _set_dicom_timeout(body, dicom_timeout, timeout)
        return self._store(resources, body, asynchronous)


RemoteModality = Modality
"""pyorthanc's name of :class:`Modality`."""


class Peer(_Remote):
    """Another Orthanc server known to this one (``/peers/{name}``).

    Parameters
    ----------
    client : Orthanc
        The server that knows the peer.
    name : str
        The peer's symbolic name in the server's configuration (``OrthancPeers``).
    """

    _kind = "peer"
    _collection = "peers"

    def system(self) -> dict[str, Any]:
        """The peer's ``/system`` (name, version, AET), asked through this server."""
        return dict(self.client.GET(self._route("system")))

    def echo(self) -> EchoResult:
        """Check that the server reaches the peer (its ``/system`` answers)."""
        try:
            self.system()
        except HTTPError as error:
            return self._echo_failure(error)
        return EchoResult(True, self.name)

    def store(
        self,
        resources: Any,
        *,
        asynchronous: bool = False,
        compress: bool = False,
        transcode: str | None = None,
        permissive: bool = False,
    ) -> dict[str, Any] | Job:
        """Send resources of this server to the peer over HTTP.

        Parameters
        ----------
        resources : str, resource, or iterable of these
            Orthanc IDs (any level) or objects with an ``.id``.
        asynchronous : bool
            Return a :class:`~orthanc_frames.resources.job.Job` at once.
        compress : bool
            Gzip the instances on the way.
        transcode : str, optional
            Transfer syntax UID to transcode to before sending.
        permissive : bool
            Go on after an instance failed.

        Returns
        -------
        dict or Job
            Orthanc's report or the job.
        """
        body: dict[str, Any] = {"Compress": compress, "Permissive": permissive}
        if transcode is not None:
            body["Transcode"] = transcode
        return self._store(resources, body, asynchronous)


def _set_dicom_timeout(
    body: dict[str, Any], dicom_timeout: float | None, timeout: float | None
) -> None:
    """Orthanc's ``Timeout`` of a DICOM association, from ``dicom_timeout`` (or the old ``timeout``)."""
    value = renamed_keyword("timeout", timeout, "dicom_timeout", dicom_timeout, stacklevel=4)
    if value is not None:
        body["Timeout"] = value


def list_modalities(client: Orthanc) -> list[Modality]:
    """The DICOM modalities the server knows, as :class:`Modality` objects."""
    return [Modality(client, name) for name in client.GET("/modalities") or []]


def list_peers(client: Orthanc) -> list[Peer]:
    """The Orthanc peers the server knows, as :class:`Peer` objects."""
    return [Peer(client, name) for name in client.GET("/peers") or []]
