"""What a server can do, read once from ``/system`` (and ``/plugins`` when needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..dicom_tags import MainTags, tag_info
from .errors import OrthancError, UnsupportedByServer

__all__ = ["Capabilities"]


def _keyword(tag: str) -> str:
    """``"0010,0020"`` -> ``"PatientID"``; the tag itself when it has no keyword."""
    try:
        return tag_info(tag).keyword
    except KeyError:
        return tag


def _version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class Capabilities:
    """The features of one Orthanc server that change what the client can do.

    Attributes
    ----------
    version : str
        Orthanc's version, e.g. ``"1.12.7"`` (``"mainline"`` for a development build).
    api_version : int
        The REST API version (``ApiVersion`` in ``/system``).
    has_labels : bool
        Labels are supported (Orthanc 1.12.0 and later).
    has_extended_find : bool
        ``/tools/find`` accepts ``ResponseContent``, ``OrderBy`` and
        parent filters, and ``/tools/count-resources`` exists (1.12.5+).
    plugins : frozenset of str
        The loaded plugins, e.g. ``{"dicom-web", "neuro", "gdcm"}``. Read
        from ``GET /plugins`` on first access only (a load or a find never
        needs it).
    name : str
        The server's ``Name``.
    dicom_aet : str
        The server's own DICOM application entity title.
    main_dicom_tags : dict
        Per level (``"patient"`` ... ``"instance"``), the keywords of the tags
        the server keeps in its index (free to query), as ``/system`` lists
        them (Orthanc 1.11 and later; empty before). :attr:`main_tags` is the
        same with Orthanc's defaults for an older server.
    """

    version: str
    api_version: int
    has_labels: bool
    has_extended_find: bool
    name: str = ""
    dicom_aet: str = ""
    main_dicom_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _plugins: frozenset[str] | None = field(default=None, repr=False, compare=False)
    _read_plugins: Callable[[], Iterable[str]] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_system(
        cls,
        system: Any,
        plugins: Iterable[str] | None = None,
        *,
        read_plugins: Callable[[], Iterable[str]] | None = None,
    ) -> Capabilities:
        """Build from the JSON of ``GET /system``.

        Parameters
        ----------
        system : dict
            The answer of ``GET /system``.
        plugins : iterable of str, optional
            The answer of ``GET /plugins``, when already known.
        read_plugins : callable, optional
            Reads the plugin list when :attr:`plugins` is first needed
            (without it and without ``plugins``, no plugin is known).
        """
        if not isinstance(system, Mapping) or "Version" not in system:
            raise OrthancError(
                "GET /system did not answer like an Orthanc server "
                f"(got {str(system)[:80]!r}). Check the URL: it should point at Orthanc's "
                "REST API root, e.g. 'http://127.0.0.1:8042'."
            )
        version = str(system.get("Version", ""))
        api_version = int(system.get("ApiVersion", 0) or 0)
        extra = system.get("Capabilities") or {}
        has_labels = bool(system.get("HasLabels", False))
        has_extended_find = bool(extra.get("HasExtendedFind", False))
        tags: dict[str, tuple[str, ...]] = {}
        for level, names in (system.get("MainDicomTags") or {}).items():
            tags[str(level).lower()] = tuple(_keyword(str(n)) for n in str(names).split(";") if n)
        return cls(
            version=version,
            api_version=api_version,
            has_labels=has_labels,
            has_extended_find=has_extended_find,
            name=str(system.get("Name", "")),
            dicom_aet=str(system.get("DicomAet", "")),
            main_dicom_tags=tags,
            raw=dict(system),
            _plugins=None if plugins is None and read_plugins else frozenset(plugins or ()),
            _read_plugins=read_plugins,
        )

    @property
    def has_response_content(self) -> bool:
        """``ResponseContent`` in ``/tools/find`` and ``response-content`` on list routes.

        Orthanc 1.12.5 and later, whatever the index: a database without
        extended find (the PostgreSQL plugin 5.0) has them answered row by row.
        """
        return self.has_extended_find or self.at_least("1.12.5")

    @property
    def main_tags(self) -> MainTags:
        """The server's main DICOM tags per level, ``ExtraMainDicomTags`` included.

        Read from ``/system`` (Orthanc 1.11 and later); Orthanc's defaults
        for a server that does not list them.
        """
        return MainTags.of_server(self.main_dicom_tags)

    @property
    def plugins(self) -> frozenset[str]:
        """The loaded plugins, e.g. ``{"dicom-web", "neuro", "gdcm"}``; read on first access."""
        if self._plugins is None:
            assert self._read_plugins is not None
            self.set_plugins(self._read_plugins())
        assert self._plugins is not None
        return self._plugins

    @property
    def plugins_known(self) -> bool:
        """Whether the plugin list has been read already."""
        return self._plugins is not None

    def set_plugins(self, names: Iterable[str]) -> None:
        """Record the plugin list (the answer of ``GET /plugins``)."""
        object.__setattr__(self, "_plugins", frozenset(str(name) for name in names))

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """The version as numbers, ``(1, 12, 7)``; a development build sorts last."""
        if self.version.lower() == "mainline":
            return (999,)
        return _version_tuple(self.version)

    def at_least(self, version: str) -> bool:
        """Whether the server's version is ``version`` or later."""
        return self.version_tuple >= _version_tuple(version)

    def require_labels(self, what: str = "labels") -> None:
        """Raise :class:`UnsupportedByServer` when the server has no labels."""
        if not self.has_labels:
            raise UnsupportedByServer(
                f"{what} need Orthanc 1.12.0 or later with labels; this server is "
                f"Orthanc {self.version}. An older server would silently ignore a label "
                "filter and return wrong answers, so orthanc-frames refuses instead."
            )

    def require_plugin(self, plugin: str, what: str) -> None:
        """Raise :class:`UnsupportedByServer` when ``plugin`` is not loaded."""
        if plugin not in self.plugins:
            loaded = ", ".join(sorted(self.plugins)) or "none"
            raise UnsupportedByServer(
                f"{what} needs the Orthanc '{plugin}' plugin, which this server has not "
                f"loaded (loaded plugins: {loaded})."
            )
