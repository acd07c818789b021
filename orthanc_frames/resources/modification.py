"""What an anonymize or modify request asks of Orthanc, built in one place.

Every way to anonymize or modify (a resource, an instance's bytes, a job,
a bulk action on a frame) takes the same options, declared once by
:func:`modification_options`, which builds the one :class:`Modification`
the function then sends (:meth:`Modification.body`). The documentation of
the options is written once too (:func:`options_doc`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from .base import Resource

__all__ = [
    "IDENTIFYING_TAG",
    "Modification",
    "modification_options",
    "option_names",
    "options_doc",
]

Operation = Literal["anonymize", "modify"]
T = TypeVar("T")

IDENTIFYING_TAG = {
    "patient": "PatientID",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "instance": "SOPInstanceUID",
}
"""The tag that names a resource at each level: replacing it makes a new resource."""

_OPERATIONS = ("anonymize", "modify")

# One numpydoc entry per option, and the operation it belongs to (None: both).
_OPTION_DOCS: dict[str, tuple[str | None, str]] = {
    "remove": (
        None,
        """\
remove : sequence of str, optional
    Tags to remove (keywords or ``gggg,eeee``){beyond}.""",
    ),
    "replace": (
        None,
        """\
replace : mapping, optional
    Tag (keyword or ``"gggg,eeee"``) to new value, e.g. ``{{"PatientName": "Anon"}}``.
    In a modification, replacing the identifying tag of the level
    (``PatientID``, a UID) needs ``force``.""",
    ),
    "keep": (
        None,
        """\
keep : sequence of str, optional
    Tags to leave unchanged (in a modification: the UIDs to keep, e.g.
    ``["SeriesInstanceUID"]``, which needs ``force``).""",
    ),
    "force": (
        None,
        """\
force : bool
    Allow changing identifying tags (``PatientID``, UIDs): Orthanc's ``Force``.""",
    ),
    "keep_private_tags": (
        "anonymize",
        """\
keep_private_tags : bool
    Keep private tags (removed by default).""",
    ),
    "remove_private_tags": (
        "modify",
        """\
remove_private_tags : bool
    Remove private tags (kept by default).""",
    ),
    "keep_source": (
        None,
        """\
keep_source : bool
    Keep the original (default). ``False`` deletes it once its copy is
    stored; bulk actions first check that the copy holds as many instances
    as the original and otherwise keep the original (the row fails). A copy
    with the original's own ID (UIDs kept) never causes a deletion.""",
    ),
    "priority": (
        None,
        """\
priority : int
    Priority of the Orthanc job (higher runs first).""",
    ),
    "permissive": (
        None,
        """\
permissive : bool
    Let the job go on when single instances fail (Orthanc's ``Permissive``).""",
    ),
    "private_creator": (
        None,
        """\
private_creator : str, optional
    Private creator for private tags in ``replace``.""",
    ),
    "dicom_version": (
        "anonymize",
        """\
dicom_version : str, optional
    Version of the DICOM de-identification profile, e.g. ``"2023b"``
    (Orthanc's default when ``None``).""",
    ),
}
_R_POSITIONAL = ("remove", "replace", "keep")
"""The options the R package takes by position, in its order."""
_STORED_ONLY = ("keep_source", "priority", "permissive")
"""Options that mean nothing when only the changed bytes are returned."""
_PLACEHOLDER = re.compile(r"^([ \t]*)\{options\}[ \t]*$", re.MULTILINE)


def option_names(operation: Operation, *, stored: bool = True) -> tuple[str, ...]:
    """The names of the options of ``operation``, in their one order.

    Parameters
    ----------
    operation : {"anonymize", "modify"}
        Which operation.
    stored : bool
        ``False`` leaves out what only applies to a copy stored by a job
        (``keep_source``, ``priority``, ``permissive``).

    Examples
    --------
    >>> option_names("modify", stored=False)
    ('remove', 'replace', 'keep', 'force', 'remove_private_tags', 'private_creator')
    """
    return tuple(
        name
        for name, (only, _) in _OPTION_DOCS.items()
        if only in (None, operation) and (stored or name not in _STORED_ONLY)
    )


def options_doc(operation: Operation, *, stored: bool = True) -> str:
    """The numpydoc ``Parameters`` entries of the options of ``operation``."""
    beyond = " beyond Orthanc's anonymization profile" if operation == "anonymize" else ""
    return "\n".join(
        _OPTION_DOCS[name][1].format(beyond=beyond)
        for name in option_names(operation, stored=stored)
    )


def modification_options(
    operation: Operation, *, r_positional: bool = False, stored: bool = True
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Give a function the anonymize or modify options and build its :class:`Modification`.

    The one place where the options become parameters and a request. The
    decorated function declares a parameter ``change`` where the options
    go; its callers pass the options (``remove=``, ``replace=``,
    ``force=``...) and the function receives ``change``, the
    :class:`Modification` they describe. ``help()`` and
    :func:`inspect.signature` show the options as parameters, and a line
    ``{options}`` of the docstring becomes their numpydoc entries.

    Parameters
    ----------
    operation : {"anonymize", "modify"}
        Which options.
    r_positional : bool
        ``remove, replace, keep`` may also be given by position, in the R
        package's order (the resource methods); the other options are
        keyword-only. Otherwise every option is keyword-only.
    stored : bool
        ``False`` for the changed bytes only (no job, nothing stored):
        ``keep_source``, ``priority`` and ``permissive`` are left out.
    """
    if operation not in _OPERATIONS:
        raise ValueError(f"operation must be 'anonymize' or 'modify', not {operation!r}.")
    names = option_names(operation, stored=stored)
    fields = {field.name: field for field in dataclasses.fields(Modification)}

    def parameter(name: str) -> inspect.Parameter:
        positional = r_positional and name in _R_POSITIONAL
        kind = (
            inspect.Parameter.POSITIONAL_OR_KEYWORD
            if positional
            else inspect.Parameter.KEYWORD_ONLY
        )
        return inspect.Parameter(
            name, kind, default=fields[name].default, annotation=fields[name].type
        )

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        signature = inspect.signature(function)
        own = list(signature.parameters.values())
        at = [p.name for p in own].index("change")
        options = sorted((parameter(name) for name in names), key=lambda p: p.kind)
        public = signature.replace(parameters=[*own[:at], *options, *own[at + 1 :]])

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            arguments = public.bind(*args, **kwargs).arguments
            chosen = {name: arguments.pop(name) for name in names if name in arguments}
            arguments["change"] = Modification(operation, **chosen)
            return function(**arguments)

        wrapper.__signature__ = public  # type: ignore[attr-defined]
        if function.__doc__:
            wrapper.__doc__ = _PLACEHOLDER.sub(
                lambda match: textwrap.indent(options_doc(operation, stored=stored), match[1]),
                function.__doc__,
            )
        return wrapper

    return decorate


@dataclass(frozen=True)
class Modification:
    """One anonymize or modify request: its options, as the resource methods name them.

    Parameters
    ----------
    operation : {"anonymize", "modify"}
        Which of Orthanc's two operations.
    remove, replace, keep, force, priority, permissive, private_creator
        As in :meth:`Resource.anonymize` and :meth:`Resource.modify`.
    keep_private_tags, dicom_version
        Anonymize only.
    remove_private_tags
        Modify only.
    keep_source : bool
        ``False`` lets the original go once the copy is stored.
    """

    operation: Operation
    remove: Sequence[str] | None = None
    replace: Mapping[str, Any] | None = None
    keep: Sequence[str] | None = None
    force: bool = False
    keep_private_tags: bool = False
    remove_private_tags: bool = False
    keep_source: bool = True
    priority: int = 0
    permissive: bool = False
    private_creator: str | None = None
    dicom_version: str | None = None

    def __post_init__(self) -> None:
        if self.operation not in _OPERATIONS:
            raise ValueError(f"operation must be 'anonymize' or 'modify', not {self.operation!r}.")
        if isinstance(self.remove, str) or isinstance(self.keep, str):
            raise TypeError("remove and keep are lists of tags, e.g. remove=['PatientName'].")
        if self.operation == "modify" and (self.keep_private_tags or self.dicom_version):
            raise ValueError(
                "keep_private_tags and dicom_version belong to anonymize; modify keeps "
                "private tags unless remove_private_tags=True."
            )
        if self.operation == "anonymize" and self.remove_private_tags:
            raise ValueError(
                "remove_private_tags belongs to modify; anonymize removes private tags "
                "unless keep_private_tags=True."
            )

    @property
    def noun(self) -> str:
        """``"anonymization"`` or ``"modification"``, for messages."""
        return "anonymization" if self.operation == "anonymize" else "modification"

    @property
    def participle(self) -> str:
        """``"anonymized"`` or ``"modified"``, for messages."""
        return "anonymized" if self.operation == "anonymize" else "modified"

    def body(self, resource: Resource, *, job: bool) -> dict[str, Any]:
        """The JSON body of this request on ``resource``.

        Parameters
        ----------
        resource : Resource
            What is anonymized or modified (its level decides which tag
            identifies it).
        job : bool
            ``True`` for a request that runs as an Orthanc job (adds
            ``Asynchronous``, ``Priority``, ``Permissive`` and ``KeepSource``);
            ``False`` for an instance's bytes, which stores nothing.

        Raises
        ------
        ValueError
            When a modification replaces the identifying tag of the level
            without ``force``.
        """
        if self.operation == "modify":
            _check_identifier_change(resource, self.replace, self.force)
        body: dict[str, Any] = {
            "Remove": list(self.remove or []),
            "Replace": dict(self.replace or {}),
            "Keep": list(self.keep or []),
            "Force": self.force,
            # An instance's bytes are only returned: there is no source to drop.
            "KeepSource": self.keep_source if job else True,
        }
        if job:
            body.update(Asynchronous=True, Priority=self.priority, Permissive=self.permissive)
        if self.private_creator is not None:
            body["PrivateCreator"] = self.private_creator
        if self.operation == "anonymize":
            body["KeepPrivateTags"] = self.keep_private_tags
            if self.dicom_version is not None:
                body["DicomVersion"] = self.dicom_version
        else:
            body["RemovePrivateTags"] = self.remove_private_tags
        return body


def _check_identifier_change(
    resource: Resource, replace: Mapping[str, Any] | None, force: bool
) -> None:
    identifying = IDENTIFYING_TAG[resource.level]
    if replace and identifying in replace and not force:
        raise ValueError(
            f"Replacing {identifying} of {resource!r} creates another {resource.level} and "
            "breaks the link to the original: pass force=True if that is intended."
        )
