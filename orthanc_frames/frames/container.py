"""The :class:`Frames` container: four linked DataFrames of one server."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .._html import html_card
from .._parallel import DEFAULT_WORKERS
from ..dicom_tags import LEVELS
from ..levels import Level, level_name
from ..resources.lookup import last_change
from . import registry
from .load import (
    ANCESTORS,
    LINKS,
    PARENT,
    LoadedLevel,
    LoadSpec,
    _with_uids,
    links_through_parent,
    load_frames,
    warn_about_costly_tags,
)
from .schema import ORTHANC_FIELDS, empty_problems, problems_frame

__all__ = ["Frames"]


class Frames:
    """An Orthanc server (or a selection of it) as four linked pandas DataFrames.

    Build one with :meth:`load` (or ``client.frames(...)``), :meth:`read_parquet`
    or :meth:`from_folder`.

    Attributes
    ----------
    patients, studies, series, instances : pandas.DataFrame
        One row per resource. The index is the Orthanc ID, named by the level
        (``patient``, ``study``, ``series``, ``instance``); link columns name
        the parents (``instances`` has ``series``, ``study``, ``patient``);
        DICOM tags are columns named by keyword, typed by VR
        (Arrow-backed); Orthanc's own fields are snake_case (``labels``,
        ``is_stable``, ``last_update``, ``file_size``, ``index_in_series``,
        ``num_studies``/``num_series``/``num_instances``). A level not in
        ``levels=`` is loaded on first access.
    problems : pandas.DataFrame
        Values that did not parse (and are missing in the frames): columns
        ``level``, ``id``, ``column``, ``value`` (raw text), ``reason``.
    client : Orthanc or None
        The server the frames came from (None for frames of local files).
    last_change_seq : int or None
        The last entry of the server's changes log that the frames reflect.
    loaded_at : datetime.datetime
        When the frames were loaded or last refreshed (UTC).

    Examples
    --------
    Load a cohort (filters run on the server), select with pandas, walk the
    links up and down, and act on the selection (in the tests, ``c`` is a
    client of a test server instead):

    >>> import orthanc_frames as of
    >>> c = of.Orthanc("http://127.0.0.1:8042", username="orthanc", password="orthanc")  # doctest: +SKIP
    >>> f = c.frames(query={"StudyDate": "20190101-20191231"},
    ...              tags={"series": ["SliceThickness"]})
    >>> thin_ct = f.series.query("Modality == 'CT' and SliceThickness <= 1.5")
    >>> their_studies = f.studies.loc[thin_ct["study"].unique()]
    >>> their_instances = f.instances[f.instances["series"].isin(thin_ct.index)]
    >>> result = thin_ct.orthanc.add_label("thin-ct")  # one row per series: status, error
    >>> counts = f.flat("series").groupby("PatientSex")["Modality"].value_counts()
    >>> f.refresh()  # only what changed on the server  # doctest: +ELLIPSIS
    <Frames of http://127.0.0.1:...>
    >>> f.to_parquet("snapshot/")
    >>> again = of.Frames.read_parquet("snapshot/", client=c)
    """

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        problems: pd.DataFrame | None = None,
        client: Any = None,
        spec: LoadSpec | None = None,
        last_change_seq: int | None = None,
        loaded_at: dt.datetime | None = None,
        server_url: str | None = None,
        anchor_frame: pd.DataFrame | None = None,
    ) -> None:
        self.client = client
        self.spec = spec or LoadSpec()
        self.last_change_seq = last_change_seq
        self.loaded_at = loaded_at or dt.datetime.now(dt.timezone.utc)
        self.server_url = server_url or (getattr(client, "url", None) if client else None)
        self._frames: dict[str, pd.DataFrame] = {}
        self._anchor_frame = anchor_frame
        self.last_refresh: dict[str, Any] = {}
        """What the last :meth:`refresh` did to the instance level (for diagnostics)."""
        self._problems = problems if problems is not None else empty_problems()
        self.key = registry.register(self)
        for level, frame in frames.items():
            self._set_frame(level, frame)

    # -- construction --------------------------------------------------------

    @classmethod
    def load(
        cls,
        client: Any,
        query: Mapping[str, Any] | None = None,
        labels: Sequence[str] | str | None = None,
        labels_constraint: str = "All",
        tags: Mapping[str, Iterable[str]] | None = None,
        levels: Iterable[str] = LEVELS,
        workers: int = DEFAULT_WORKERS,
        progress: bool | None = None,
        *,
        labels_level: str = "study",
    ) -> Frames:
        """Load frames from an Orthanc server, filters run on the server.

        Parameters
        ----------
        client : Orthanc
            The server to read (:class:`orthanc_frames.Orthanc`). The frames
            keep it: lazy levels, :meth:`refresh` and the ``df.orthanc``
            actions use it. ``client.frames(...)`` is the same call.
        query : mapping, optional
            DICOM keyword -> Orthanc pattern on main DICOM tags (the
            server's own, ``ExtraMainDicomTags`` included:
            ``client.capabilities.main_tags``), e.g.
            ``{"StudyDate": "20200101-20201231", "Modality": "CT"}``; a list
            is a match on any of its values. The query selects the
            resources of its deepest level; frames hold those, their
            ancestors and their descendants (see
            :mod:`orthanc_frames.frames.load`).
        labels : list of str, optional
            Keep only the ``labels_level`` resources (studies by default)
            carrying these labels, with their ancestors and descendants.
        labels_constraint : {"All", "Any", "None"}
        tags : mapping, optional
            Level -> extra DICOM keywords (or ``gggg,eeee``), e.g.
            ``{"series": ["SliceThickness"]}``. Tags that are not main DICOM
            tags make the server read files (a warning says so once).
        levels : iterable of str
            Levels loaded now; the others load on first access.
        workers : int
            Requests in flight at once (at most the client's ``pool_size``).
        progress : bool or None
            Progress bar for the instance level (None: when interactive).
        labels_level : {"patient", "study", "series", "instance"}
            The level ``labels`` apply to.

        Returns
        -------
        Frames
            Linked to ``client``; :attr:`problems` lists values that did not parse.

        Raises
        ------
        ValueError
            For an unknown level or labels constraint (before any request),
            or a query on a tag the server cannot filter on (after reading
            its main-tag list from ``/system``, when the tag is not one of
            Orthanc's defaults).
        orthanc_frames.UnsupportedByServer
            For labels on an Orthanc before 1.12.

        Warns
        -----
        ExtraTagsCostWarning
            Once, when ``tags`` asks for tags that are not main DICOM tags.
        """
        spec = LoadSpec.make(
            query=query,
            labels=labels,
            labels_constraint=labels_constraint,
            labels_level=labels_level,
            tags=tags,
            levels=levels,
            workers=workers,
            main_tags=lambda: client.capabilities.main_tags,
        )
        warn_about_costly_tags(spec)
        last_seq = current_change_seq(client)
        loaded, anchor_frame = load_frames(client, spec, spec.levels, progress=progress)
        frames = cls(
            {level: part.frame for level, part in loaded.items()},
            problems=_problems_of(loaded.values()),
            client=client,
            spec=spec,
            last_change_seq=last_seq,
            anchor_frame=anchor_frame,
        )
        frames._progress = progress
        return frames

    @classmethod
    def read_parquet(cls, path: str | os.PathLike[str], client: Any = None) -> Frames:
        """Frames written by :meth:`to_parquet`.

        Parameters
        ----------
        path : str or os.PathLike
            The folder :meth:`to_parquet` wrote.
        client : Orthanc, optional
            The server the frames came from: needed to :meth:`refresh` them
            (from the last change they had seen), to load a level they do
            not hold, and for ``df.orthanc`` actions. Without it the frames
            are read-only data.

        Returns
        -------
        Frames
            Equal to the frames written, with the same dtypes, load
            arguments and last change seen.

        Raises
        ------
        FileNotFoundError
            When ``path`` is not a folder written by :meth:`to_parquet`.
        ValueError
            When a newer orthanc-frames wrote it.
        """
        from .parquet import read_frames

        return read_frames(cls, path, client=client)

    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike[str],
        *,
        workers: int = DEFAULT_WORKERS,
        progress: bool | None = None,
        recursive: bool = True,
    ) -> Frames:
        """The same frames computed from local DICOM files, with the server's Orthanc IDs.

        No server is needed: the IDs are computed from the UIDs as Orthanc
        does, so ``local.series.index.difference(server.series.index)`` is
        what the server lacks. Files are read as Orthanc reads them (no
        preamble or file meta header, no ``PatientID``, values with VR
        ``UN`` and their padding, character sets).

        Parameters
        ----------
        path : str or os.PathLike
            A folder (every file below it) or one file.
        workers : int
            Files read at once.
        progress : bool, optional
            Progress bar (None: shown when interactive).
        recursive : bool
            Descend into sub-folders.

        Returns
        -------
        Frames
            ``client`` is None; ``instances`` has a ``path`` column. Every
            file is an instance row or a row of :attr:`problems` with level
            ``"file"`` (``id``: the path; ``reason``: not DICOM, truncated,
            a UID Orthanc needs is missing, or a duplicate of another file):
            ``local.problems.query("level == 'file'")`` lists what was not
            named, nothing is skipped silently.

        Raises
        ------
        FileNotFoundError
            When ``path`` does not exist.
        """
        from .from_folder import frames_from_folder  # from_folder builds on this module

        return frames_from_folder(path, workers=workers, progress=progress, recursive=recursive)

    # -- the four frames -----------------------------------------------------

    _progress: bool | None = None

    def _set_frame(self, level: str, frame: pd.DataFrame) -> None:
        frame.index.name = level
        registry.attach(frame, self, level)
        self._frames[level] = frame

    def frame(self, level: str) -> pd.DataFrame:
        """The DataFrame of one level (loaded from the server on first access if needed).

        Parameters
        ----------
        level : {"patient", "study", "series", "instance"}

        Returns
        -------
        pandas.DataFrame
            The same object as :attr:`patients`, :attr:`studies`,
            :attr:`series` or :attr:`instances`, linked to these frames.

        Raises
        ------
        ValueError
            For an unknown level.
        KeyError
            When the level was not loaded and there is no server to load it from.
        """
        level = level_name(level)
        if level not in self._frames:
            self._load_lazily(level)
        return self._frames[level]

    def _load_lazily(self, level: str) -> None:
        if self.client is None:
            raise KeyError(
                f"These frames hold no {Level(level).route} and have no server to load them "
                "from: read them with client=... or load with this level."
            )
        anchor = self._anchor_frame
        if anchor is None and self.spec.anchor in self._frames:
            anchor = _with_uids(self._frames[self.spec.anchor], self.spec.anchor)
        loaded, anchor = load_frames(
            self.client, self.spec, [level], anchor_frame=anchor, progress=self._progress
        )
        self._anchor_frame = anchor
        part = loaded[level]
        parent = PARENT[level]
        if parent is not None and parent in self._frames and level in ("series", "instance"):
            links_through_parent(part.frame, self._frames[parent], level)
        self._set_frame(level, part.frame)
        self._problems = _concat_problems([self._problems, problems_frame(part.problems)])

    @property
    def patients(self) -> pd.DataFrame:
        """Patients, indexed by Orthanc patient ID."""
        return self.frame("patient")

    @property
    def studies(self) -> pd.DataFrame:
        """Studies, indexed by Orthanc study ID; ``patient`` links up."""
        return self.frame("study")

    @property
    def series(self) -> pd.DataFrame:
        """Series, indexed by Orthanc series ID; ``study`` and ``patient`` link up."""
        return self.frame("series")

    @property
    def instances(self) -> pd.DataFrame:
        """Instances, indexed by Orthanc instance ID; ``series``, ``study``, ``patient`` link up."""
        return self.frame("instance")

    @property
    def problems(self) -> pd.DataFrame:
        """Values that did not parse: ``level``, ``id``, ``column``, ``value``, ``reason``."""
        return self._problems

    @property
    def loaded_levels(self) -> tuple[str, ...]:
        """Levels held now (others load on first access)."""
        return tuple(level for level in LEVELS if level in self._frames)

    def attach(self, df: pd.DataFrame, level: str) -> pd.DataFrame:
        """Link a DataFrame to these frames, so that ``df.orthanc`` acts on its rows.

        Operations that build a new frame from scratch (a merge, say) drop
        the link; this restores it.

        Parameters
        ----------
        df : pandas.DataFrame
            Indexed by Orthanc IDs of ``level`` (e.g. ``sel.merge(...)``
            with the index set back).
        level : {"patient", "study", "series", "instance"}
            The level of the IDs in the index.

        Returns
        -------
        pandas.DataFrame
            ``df`` itself, now linked (only a small key is added to ``df.attrs``).

        Examples
        --------
        ``sel`` and ``other`` stand for frames of your own (not run in the tests):

        >>> merged = sel.reset_index().merge(other, on="StudyInstanceUID")  # doctest: +SKIP
        >>> f.attach(merged.set_index("series"), "series").orthanc.add_label("x")  # doctest: +SKIP
        """
        return registry.attach(df, self, level_name(level))

    # -- derived views -------------------------------------------------------

    def flat(self, level: str) -> pd.DataFrame:
        """One row per resource of ``level`` with all its ancestors' columns.

        DICOM columns keep their names; a name that the level already has
        gets the ancestor's level as prefix (``series_ImageOrientationPatient``).
        Ancestors' Orthanc fields always get it (``study_labels``,
        ``patient_last_update``). The index stays the level's.

        Parameters
        ----------
        level : {"patient", "study", "series", "instance"}
            The level whose rows are kept.

        Returns
        -------
        pandas.DataFrame
            A new frame, linked to these frames at ``level`` (``df.orthanc``
            works on it).

        Examples
        --------
        >>> women_mr = f.flat("series").query("PatientSex == 'F' and Modality == 'MR'")
        """
        level = level_name(level)
        out = self.frame(level).copy()
        for ancestor in ANCESTORS[level]:
            parent_frame = self.frame(ancestor)
            renames: dict[str, str] = {}
            for column in parent_frame.columns:
                if column in LINKS[ancestor]:
                    continue
                clash = column in ORTHANC_FIELDS or column in out.columns
                renames[column] = f"{ancestor}_{column}" if clash else column
            part = parent_frame[list(renames)].rename(columns=renames)
            out = out.join(part, on=ancestor)
        out.index.name = level
        return registry.attach(out, self, level)

    # -- refresh and storage -------------------------------------------------

    def refresh(self) -> Frames:
        """Bring the frames up to date with the server, in place; return ``self``.

        Cheap when little changed: for patients, studies and series one
        check page each (labels, last update, stability, child count), full
        rows only for new resources and those the changes log points to
        (a whole page per level with a filter); the instance level only
        where something changed (rows of new
        series and of instances the changes log names since
        :attr:`last_change_seq`; deletions from per-series counts and the
        children of those series only; labels from one find over labelled
        instances). The result equals a fresh :meth:`load` with the same
        arguments.

        Returns
        -------
        Frames
            ``self``, updated: every frame held is replaced (linked
            selections taken before keep their old rows);
            :attr:`last_refresh` says what was done to the instance level.

        Raises
        ------
        ValueError
            When the frames have no server (read without ``client=``, or
            built from local files).
        """
        from .refresh import refresh_frames

        refresh_frames(self)
        return self

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write one Parquet file per loaded level, the problems, and a small JSON of metadata.

        No credentials are written: the server URL is stored without them.
        Each level file is also a plain Parquet file: ``pandas.read_parquet``,
        pyarrow, DuckDB or Polars read it (see :mod:`orthanc_frames.frames.parquet`).

        Parameters
        ----------
        path : str or os.PathLike
            A folder, created if needed; files in it are replaced. It gets
            ``patient.parquet``, ``study.parquet``, ``series.parquet``,
            ``instance.parquet`` (the levels held), ``problems.parquet``
            and ``frames.json``.

        Returns
        -------
        None
            Read the folder back with :meth:`read_parquet`.
        """
        from .parquet import write_frames

        write_frames(self, path)

    def browse(self, *, page_size: int = 10, chunk_size: int = 4) -> Any:
        """Open the ipywidgets browser on these frames (``of.browse(f, ...)``).

        Parameters
        ----------
        page_size : int
            Rows per table page (see :func:`orthanc_frames.widgets.browse`).
        chunk_size : int
            Resources an action works on at once.

        Returns
        -------
        orthanc_frames.widgets.Browser
            What a person picked is ``browser.selection``, a linked
            DataFrame. Needs the ``widgets`` extra (ipywidgets).
        """
        from ..widgets import browse  # the one upward entry point of frames/

        return browse(self, page_size=page_size, chunk_size=chunk_size)

    # -- display -------------------------------------------------------------

    def _counts(self) -> dict[str, int | None]:
        return {
            level: (len(self._frames[level]) if level in self._frames else None) for level in LEVELS
        }

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{Level(level).route}={'(lazy)' if n is None else n}"
            for level, n in self._counts().items()
        )
        server = self.server_url or "local files"
        when = self.loaded_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"<Frames of {server}: {counts}; problems={len(self._problems)}; loaded {when}>"

    def _repr_html_(self) -> str:
        fields: dict[str, Any] = {
            Level(level).route: "not loaded yet" if n is None else n
            for level, n in self._counts().items()
        }
        fields["problems"] = len(self._problems)
        fields["loaded"] = self.loaded_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return html_card("Frames", self.server_url or "local files", fields)


def _problems_of(parts: Iterable[LoadedLevel]) -> pd.DataFrame:
    return problems_frame([p for part in parts for p in part.problems])


def _concat_problems(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_problems()
    return pd.concat(frames, ignore_index=True)


current_change_seq = last_change
"""The sequence number of the server's last change (0 on a new server)."""
