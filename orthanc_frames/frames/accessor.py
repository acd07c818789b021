"""The ``df.orthanc`` accessor: act on the server resources a frame selects.

Any frame of :class:`~orthanc_frames.frames.Frames`, and any selection
derived from one (boolean mask, ``query``, ``loc``, ``head``,
``sort_values``, ``copy``, a pickle round trip in the same process),
knows its server and level through a small link in ``DataFrame.attrs``
(see :mod:`orthanc_frames.frames.registry`)::

    sel = f.series.query("Modality == 'CT' and SliceThickness <= 1.5")
    sel.orthanc.resources()                  # [Series, ...], no request
    sel.orthanc.add_label("cohort-a")        # -> result frame
    sel.orthanc.anonymize(replace={"PatientName": "Anon"}, keep_source=False)
    sel.orthanc.download("out/", format="zip")
    sel.orthanc.send(peer="backup")
    sel.orthanc.delete(confirm=True)

The accessor is thin: it reads the selection's IDs and delegates to
:mod:`orthanc_frames.frames.bulk` (the one executor of bulk actions), to
the resource classes and to :mod:`orthanc_frames.transfer`. Every action
returns a result frame: one row per selected resource, index = its
Orthanc ID named by level, columns ``status`` and ``error`` (and
``new_id`` for anonymize and modify).
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from .._parallel import check_workers
from ..resources.modification import Modification, modification_options
from . import bulk
from .registry import FramesLinkError, lookup

__all__ = ["OrthancAccessor", "OrthancLinkError"]


class OrthancLinkError(AttributeError, FramesLinkError):
    """``df.orthanc`` on a frame without a usable link; the message says how to re-attach.

    An :class:`AttributeError` (so ``hasattr(df, "orthanc")`` is False, as
    pandas expects of accessors) and a
    :class:`~orthanc_frames.frames.registry.FramesLinkError`.
    """


@pd.api.extensions.register_dataframe_accessor("orthanc")
class OrthancAccessor:
    """Bulk actions on the Orthanc resources of a linked frame (``df.orthanc``).

    Parameters
    ----------
    df : pandas.DataFrame
        A frame of :class:`~orthanc_frames.frames.Frames` or a selection of
        one: its index holds Orthanc IDs and is named by its level.

    Raises
    ------
    OrthancLinkError
        (an AttributeError) when the frame is not linked to a server, or its
        index is not the Orthanc IDs of its level. The message says how to
        re-attach it.
    """

    def __init__(self, df: pd.DataFrame) -> None:
        try:
            client, level, frames = lookup(df)
        except FramesLinkError as error:
            raise OrthancLinkError(str(error)) from None
        if df.index.name != level:
            raise OrthancLinkError(
                f"This frame is linked at level {level!r} but its index is "
                f"{df.index.name!r}, not the {level} Orthanc IDs. Put them back as the index "
                f"(e.g. df.set_index({level!r})) before using df.orthanc."
            )
        self._df = df
        self._client = client
        self._level = level
        self._frames = frames

    # -- what the selection is ---------------------------------------------

    @property
    def level(self) -> str:
        """The level of the rows: ``"patient"``, ``"study"``, ``"series"`` or ``"instance"``."""
        return self._level

    @property
    def client(self) -> Any:
        """The :class:`~orthanc_frames.Orthanc` client the frame is linked to."""
        return self._client

    @property
    def ids(self) -> list[str]:
        """The Orthanc IDs of the selected rows, in order, without duplicates."""
        return list(dict.fromkeys(str(identifier) for identifier in self._df.index))

    def _server(self, action: str) -> Any:
        """The client, or a clear error for frames read from local files."""
        if self._client is None:
            raise ValueError(
                f"{action} acts on an Orthanc server, but this frame was read from local "
                "files (Frames.from_folder) and has none. Send the files with "
                "df.orthanc.upload(client), then load frames from that server "
                "(client.frames()) to act on them there."
            )
        return self._client

    def resources(self) -> list[Any]:
        """The selected rows as resource objects, built without any request.

        Returns
        -------
        list of Patient, Study, Series or Instance
            One per selected resource, in order (duplicates once). Each
            reads the server only when asked for something.
        """
        from ..resources import RESOURCE_CLASSES

        resource_class = RESOURCE_CLASSES[self._level]
        client = self._server("resources()")
        return [resource_class(identifier, client) for identifier in self.ids]

    # -- labels ------------------------------------------------------------

    def add_label(
        self, label: str, *, workers: int | None = None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Add ``label`` to every selected resource on the server.

        Parameters
        ----------
        label : str
            Letters, digits, ``_`` and ``-`` (Orthanc's rule), 64 at most.
        workers : int, optional
            Requests in flight at once (default 8, at most the client's ``pool_size``).
        progress : bool, optional
            Progress bar; by default shown when interactive.

        Returns
        -------
        pandas.DataFrame
            Result frame: ``status`` and ``error`` per resource.
        """
        return bulk.add_label(
            self._server("add_label()"),
            self._level,
            self.ids,
            label,
            workers=check_workers(workers),
            progress=progress,
        )

    def remove_label(
        self, label: str, *, workers: int | None = None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Remove ``label`` from every selected resource (absent labels are not an error).

        Parameters and result as in :meth:`add_label`.
        """
        return bulk.remove_label(
            self._server("remove_label()"),
            self._level,
            self.ids,
            label,
            workers=check_workers(workers),
            progress=progress,
        )

    # -- anonymize / modify ------------------------------------------------

    @modification_options("anonymize")
    def anonymize(
        self, change: Modification, *, workers: int | None = None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Anonymize every selected resource; the copies are stored on the server.

        Every option is keyword-only: ``sel.orthanc.anonymize(replace={...})``.

        Parameters
        ----------
        {options}
        workers : int, optional
            Resources anonymized in parallel.
        progress : bool, optional

        Returns
        -------
        pandas.DataFrame
            Result frame with ``new_id``: the ID of each anonymized copy.
        """
        return self._modification(change, workers, progress, "anonymize()")

    @modification_options("modify")
    def modify(
        self, change: Modification, *, workers: int | None = None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Modify tags of every selected resource; the copies are stored on the server.

        Every option is keyword-only: ``sel.orthanc.modify(replace={...})``.

        Parameters
        ----------
        {options}
        workers, progress
            As in :meth:`anonymize`.

        Returns
        -------
        pandas.DataFrame
            Result frame with ``new_id``.
        """
        return self._modification(change, workers, progress, "modify()")

    def _modification(
        self, change: Modification, workers: int | None, progress: bool | None, action: str
    ) -> pd.DataFrame:
        return bulk.run_modification(
            self._server(action),
            self._level,
            self.ids,
            change,
            workers=check_workers(workers),
            progress=progress,
        )

    # -- transfer ----------------------------------------------------------

    def download(
        self,
        path: str | os.PathLike[str],
        format: str = "dicom",
        *,
        workers: int | None = None,
        progress: bool | None = None,
    ) -> Any:
        """Download the selected resources below ``path``.

        Delegates to :func:`orthanc_frames.transfer.download`.

        Parameters
        ----------
        path : str or Path
            Target folder.
        format : {"dicom", "zip", "nifti"}
            DICOM files in a Patient/Study/Series folder tree, one ZIP
            archive per resource, or NIfTI (series and instances only; needs
            Orthanc's neuro plugin).
        workers : int, optional
        progress : bool, optional

        Returns
        -------
        pandas.DataFrame
            Result frame (see :func:`orthanc_frames.frames.bulk.download`).
        """
        return bulk.download(
            self._server("download()"),
            self._level,
            self.ids,
            path,
            format=format,
            workers=check_workers(workers),
            progress=progress,
        )

    def send(
        self,
        modality: str | None = None,
        *,
        peer: str | None = None,
        workers: int | None = None,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Send the selected resources to a DICOM modality or an Orthanc peer.

        Parameters
        ----------
        modality : str, optional
            Name of a modality configured on the server (C-STORE).
        peer : str, optional
            Name of an Orthanc peer configured on the server. Give exactly
            one of ``modality`` and ``peer``.
        workers : int, optional
        progress : bool, optional

        Returns
        -------
        pandas.DataFrame
            Result frame.
        """
        return bulk.send(
            self._server("send()"),
            self._level,
            self.ids,
            modality=modality,
            peer=peer,
            workers=check_workers(workers),
            progress=progress,
        )

    def upload(
        self, client: Any, *, workers: int | None = None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Store the local files of the selected rows on ``client``'s server.

        For frames read from files (``Frames.from_folder``): every file of
        the selected resources (found through the instances frame's
        ``path`` column) is sent.

        Parameters
        ----------
        client : Orthanc
            Where to store the files.
        workers : int, optional
            Files sent in parallel.
        progress : bool, optional

        Returns
        -------
        pandas.DataFrame
            Result frame: ``"ok"``, ``"skipped"`` (all files already stored)
            or ``"failed"`` with the rejected files and why.
        """
        files_by_id = _local_files(self._df, self._level, self._frames)
        return bulk.upload_files(
            client,
            self._level,
            files_by_id,
            workers=check_workers(workers),
            progress=progress,
        )

    # -- delete ------------------------------------------------------------

    def delete(self, confirm: bool = False, *, progress: bool | None = None) -> pd.DataFrame:
        """Delete the selected resources from the server, when confirmed.

        Parameters
        ----------
        confirm : bool
            Must be ``True``; otherwise nothing is deleted and a
            :class:`ValueError` says what would have been.
        progress : bool, optional

        Returns
        -------
        pandas.DataFrame
            Result frame; a resource already gone is ``"failed"``.

        Raises
        ------
        ValueError
            When ``confirm`` is not ``True``.
        """
        client = self._server("delete()")
        ids = self.ids
        if confirm is not True:
            raise ValueError(
                f"delete() would delete {len(ids)} {self._level} resource(s) and all they "
                f"contain from {getattr(client, 'url', 'the server')}. Nothing was "
                "deleted: call delete(confirm=True) to do it."
            )
        return bulk.delete(client, self._level, ids, progress=progress)


def _local_files(df: pd.DataFrame, level: str, frames: Any) -> dict[str, list[str]]:
    """The local files of each selected resource, from the ``path`` column of instances."""
    if level == "instance" and "path" in df.columns:
        instances = df
    else:
        instances = getattr(frames, "instances", None)
    if instances is None or "path" not in instances.columns:
        raise ValueError(
            "upload() sends local files, but the instances of this frame have no 'path' "
            "column: it does not come from Frames.from_folder(...)."
        )
    ids = list(dict.fromkeys(str(identifier) for identifier in df.index))
    owners = instances.index.to_series() if level == "instance" else instances[level]
    selected = owners.isin(ids).to_numpy()
    files: dict[str, list[str]] = {identifier: [] for identifier in ids}
    for resource_id, path in zip(
        owners.to_numpy()[selected], instances["path"].to_numpy()[selected], strict=True
    ):
        files[str(resource_id)].append(str(path))
    return files
