"""What a resource and a job share: an Orthanc ID on one server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..client import Orthanc


class ServerHandle:
    """Something one Orthanc server names by an ID: a resource or a job.

    Two handles are equal when they are of the same kind and name the same
    thing on the same server (same URL); they can be set members and
    dictionary keys.
    """

    _id: str
    _client: Orthanc

    @property
    def id(self) -> str:
        """The Orthanc ID."""
        return self._id

    @property
    def id_(self) -> str:
        """The Orthanc ID (pyorthanc's name)."""
        return self._id

    @property
    def client(self) -> Orthanc:
        """The client of the server that holds it."""
        return self._client

    def _kind(self) -> str:
        return type(self).__name__

    def _key(self) -> tuple[str, str, str]:
        return (self._client.url, self._kind(), self._id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerHandle):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())
