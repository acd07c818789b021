"""The four levels of Orthanc's hierarchy, and everything named after them.

One :class:`Level` per level, top down: ``PATIENT``, ``STUDY``, ``SERIES``,
``INSTANCE``. Each member is also its plain name (``Level.STUDY == "study"``),
so it can be used wherever a level name is expected, and it knows its REST
collection, Orthanc's spelling, the tag that identifies it, its parent and
child, and the fields Orthanc names after it. :meth:`Level.parse` is the one
reader of the spellings a user types.

Examples
--------
>>> Level.parse("Studies")
<Level.STUDY: 'study'>
>>> Level.SERIES.parent, Level.SERIES.child
(<Level.STUDY: 'study'>, <Level.INSTANCE: 'instance'>)
>>> Level.STUDY.route, Level.STUDY.orthanc, Level.STUDY.identifier_tag
('studies', 'Study', 'StudyInstanceUID')
"""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["LEVEL_NAMES", "Level", "level_name"]

_ROUTES = {"patient": "patients", "study": "studies", "series": "series", "instance": "instances"}
_IDENTIFIER_TAGS = {
    "patient": "PatientID",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "instance": "SOPInstanceUID",
}


class Level(str, Enum):
    """A level of Orthanc's hierarchy; the member's value is its name (``"study"``)."""

    PATIENT = "patient"
    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"

    def __str__(self) -> str:
        """The plain name, in messages and f-strings alike (``"study"``)."""
        return self.value

    def __format__(self, format_spec: str) -> str:
        return format(self.value, format_spec)

    @property
    def route(self) -> str:
        """The REST collection and the frame's attribute: ``"patients"``, ``"studies"``, ..."""
        return _ROUTES[self.value]

    plural = route

    @property
    def orthanc(self) -> str:
        """Orthanc's spelling of the level in queries and answers: ``"Study"``."""
        return self.value.capitalize()

    @property
    def identifier_tag(self) -> str:
        """The DICOM keyword that identifies a resource of this level (``"StudyInstanceUID"``)."""
        return _IDENTIFIER_TAGS[self.value]

    @property
    def depth(self) -> int:
        """0 for the patient, 3 for the instance."""
        return _ORDER.index(self)

    @property
    def parent(self) -> Level | None:
        """The level above, or ``None`` for the patient."""
        return _ORDER[self.depth - 1] if self.depth else None

    @property
    def child(self) -> Level | None:
        """The level below, or ``None`` for the instance."""
        return _ORDER[self.depth + 1] if self.depth < len(_ORDER) - 1 else None

    @property
    def ancestors(self) -> tuple[Level, ...]:
        """The levels above, nearest first (``instance``: series, study, patient)."""
        return tuple(reversed(_ORDER[: self.depth]))

    @property
    def descendants(self) -> tuple[Level, ...]:
        """The levels below, nearest first (``study``: series, instance)."""
        return _ORDER[self.depth + 1 :]

    @property
    def parent_key(self) -> str | None:
        """Orthanc's field naming the parent in a resource's answer (``"ParentStudy"``)."""
        return f"Parent{self.parent.orthanc}" if self.parent else None

    @property
    def children_key(self) -> str | None:
        """Orthanc's field listing the children in a resource's answer (``"Series"``)."""
        return self.child.route.capitalize() if self.child else None

    @classmethod
    def parse(cls, value: Any, argument: str = "level") -> Level:
        """The level a user means: ``"patient"``, ``"patients"``, ``"Patient"``, ``"PATIENT"``.

        Parameters
        ----------
        value : str or Level
            A level's name or collection, in any case, or a member.
        argument : str, default "level"
            The parameter's name, for the error message.

        Returns
        -------
        Level

        Raises
        ------
        TypeError
            When ``value`` is not a string.
        ValueError
            When ``value`` names no level; the message lists the accepted spellings.
        """
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise TypeError(
                f"{argument} must be a level name (str), not {type(value).__name__}: {value!r}."
            )
        found = _SPELLINGS.get(value.strip().lower())
        if found is None:
            raise ValueError(
                f"{argument}: unknown level {value!r}; use one of {ACCEPTED_SPELLINGS} (any case)."
            )
        return found


_ORDER: tuple[Level, ...] = tuple(Level)
_SPELLINGS = {spelling: level for level in _ORDER for spelling in (level.value, level.route)}
ACCEPTED_SPELLINGS = ", ".join(repr(s) for s in _SPELLINGS)

LEVEL_NAMES: tuple[str, ...] = tuple(level.value for level in _ORDER)
"""The four level names, top down: ``("patient", "study", "series", "instance")``."""


def level_name(value: Any, argument: str = "level") -> str:
    """The plain name (``"study"``) of the level ``value`` spells; see :meth:`Level.parse`."""
    return Level.parse(value, argument).value
