"""What an anonymize or modify request asks of Orthanc, built in one place.

Every way to anonymize or modify (a resource, an instance's bytes, a job,
a bulk action on a frame) describes the request as one
:class:`Modification` and sends :meth:`Modification.body`. The documentation
of the shared options is written once too (:func:`document_options`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from .base import Resource

__all__ = ["IDENTIFYING_TAG", "Modification", "document_options"]

Operation = Literal["anonymize", "modify"]
F = TypeVar("F", bound=Callable[..., Any])

IDENTIFYING_TAG = {
    "patient": "PatientID",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "instance": "SOPInstanceUID",
}
"""The tag that names a resource at each level: replacing it makes a new resource."""

_OPTIONS_DOC = {
    "anonymize": """\
remove : sequence of str, optional
    Tags to remove (keywords or ``gggg,eeee``) beyond Orthanc's anonymization profile.
replace : mapping, optional
    Tag (keyword or ``"gggg,eeee"``) to new value, e.g. ``{"PatientName": "Anon"}``.
keep : sequence of str, optional
    Tags to leave unchanged.
force : bool
    Allow changing identifying tags (``PatientID``, UIDs): Orthanc's ``Force``.
keep_private_tags : bool
    Keep private tags (removed by default).
priority : int
    Priority of the Orthanc job (higher runs first).
permissive : bool
    Let the job go on when single instances fail (Orthanc's ``Permissive``).
private_creator : str, optional
    Private creator for private tags in ``replace``.
dicom_version : str, optional
    Version of the DICOM de-identification profile, e.g. ``"2023b"``
    (Orthanc's default when ``None``).""",
    "modify": """\
remove : sequence of str, optional
    Tags to remove (keywords or ``gggg,eeee``).
replace : mapping, optional
    Tag to new value, e.g. ``{"StudyDescription": "Baseline"}``. Replacing
    the identifying tag of the level (``PatientID``, a UID) needs ``force``.
keep : sequence of str, optional
    UIDs to keep, e.g. ``["SeriesInstanceUID"]``; needs ``force``.
force : bool
    Allow changing identifying tags (``PatientID``, UIDs): Orthanc's ``Force``.
remove_private_tags : bool
    Remove private tags (kept by default).
priority : int
    Priority of the Orthanc job (higher runs first).
permissive : bool
    Let the job go on when single instances fail (Orthanc's ``Permissive``).
private_creator : str, optional
    Private creator for private tags in ``replace``.""",
}
_PLACEHOLDER = re.compile(r"^([ \t]*)\{(anonymize|modify)_options\}[ \t]*$", re.MULTILINE)


def document_options(function: F) -> F:
    """Put the shared documentation of the anonymize / modify options into a docstring.

    A line ``{anonymize_options}`` or ``{modify_options}`` of the docstring
    is replaced by the numpydoc entries of those options, at its indentation.
    """
    if function.__doc__:
        function.__doc__ = _PLACEHOLDER.sub(
            lambda match: textwrap.indent(_OPTIONS_DOC[match[2]], match[1]), function.__doc__
        )
    return function


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
        if self.operation not in _OPTIONS_DOC:
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
