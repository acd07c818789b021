"""What patients, studies and series share: resources below them, and their tags.

:class:`ParentResource` is the base of :class:`~orthanc_frames.Patient`,
:class:`~orthanc_frames.Study` and :class:`~orthanc_frames.Series` (an
instance has nothing below it). It gives the R package's bindings for the
resources one or more levels down: ``studies_ids``, ``series_ids``,
``series``, ``instances_ids``, ``instances`` and ``instances_tags``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..levels import Level
from .base import Resource, _format

if TYPE_CHECKING:
    from .instance import Instance

__all__ = ["ParentResource"]

R = TypeVar("R", bound=Resource)


class ParentResource(Resource):
    """A patient, study or series: a resource with resources below it.

    Parameters
    ----------
    id : str
        The Orthanc ID of the resource.
    client : Orthanc
        The client of the server that stores it.
    lock_children : bool
        Keep the children read the first time (see :class:`Resource`);
        resources two or more levels down are then gathered from the
        locked children, so a filtered tree stays filtered.
    """

    _child_class: ClassVar[type[Resource]]

    def _direct_children(self) -> list[Resource]:
        return self._child_resources(self._child_class, Level.parse(self._child_class.level).route)

    def _resources_below(self, resource_class: type[R]) -> list[R]:
        """Every resource of ``resource_class``'s level below this one.

        Direct children come from :meth:`Resource._child_resources`. Deeper
        levels cost one request (``/{level}/{id}/series`` or
        ``/instances``), or, with ``lock_children``, are gathered from the
        locked children.
        """
        if resource_class is self._child_class:
            return self._child_resources(resource_class, Level.parse(resource_class.level).route)
        if self.lock_children:
            found: list[R] = []
            for child in self._direct_children():
                assert isinstance(child, ParentResource)
                found.extend(child._resources_below(resource_class))
            return found
        answers = self._client.GET(self._path(Level.parse(resource_class.level).route))
        return [
            resource_class._from_information(self._client, information, complete=True)
            for information in answers or []
        ]

    @property
    def instances(self) -> list[Instance]:
        """Every instance below this resource, with its main tags, in one request."""
        from .instance import Instance

        return self._resources_below(Instance)

    @property
    def instances_ids(self) -> list[str]:
        """The Orthanc IDs of every instance below this resource."""
        return [instance.id for instance in self.instances]

    def get_instances_tags(
        self, simplify: bool | None = None, short: bool = False
    ) -> dict[str, Any]:
        """The tags of every instance below this resource: instance ID -> tags.

        One request (``/{level}/{id}/instances-tags``), but Orthanc reads
        every instance file to answer: slow on large resources.

        Parameters
        ----------
        simplify : bool, optional
            Keywords as keys and plain values (default, unless ``short``);
            ``False`` gives Orthanc's full form.
        short : bool
            Tag numbers as keys and plain values.
        """
        answer = self._client.GET(self._path("instances-tags"), params=_format(simplify, short))
        return dict(answer or {})

    @property
    def instances_tags(self) -> dict[str, Any]:
        """The simplified tags of every instance below: ID -> tags (see :meth:`get_instances_tags`)."""
        return self.get_instances_tags()
