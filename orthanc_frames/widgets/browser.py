"""The browser: filters, linked patient → study → series tables, preview, tags, actions.

Examples
--------
A person picks in a notebook, so these lines are not run in the tests:

>>> import orthanc_frames as of
>>> c = of.Orthanc.from_env()
>>> b = of.browse(c.frames())  # doctest: +SKIP
>>> b  # displays in Jupyter and Voila  # doctest: +SKIP
>>> b.selection.orthanc.add_label("picked")  # code continues from what a person picked  # doctest: +SKIP

``f.browse()`` and ``of.browse(f.series.query("Modality == 'CT'"))`` start
from the whole frames or from a selection.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import pandas as pd

from ..frames import registry
from ._style import style_widget
from .actions import ActionBar
from .filters import FilterPanel, FilterState, SeriesContext
from .preview import SeriesPreview
from .tables import Column, PagedTable
from .tags import TagViewer

__all__ = ["Browser", "browse"]


PATIENT_COLUMNS = (
    Column("PatientName", "name", 17),
    Column("PatientID", "patient ID", 11),
    Column("PatientBirthDate", "born", 10),
    Column("PatientSex", "sex", 3),
    Column("n_studies", "stu", 3, align="right"),
    Column("n_series", "ser", 3, align="right"),
)
STUDY_COLUMNS = (
    Column("StudyDate", "date", 10),
    Column("StudyDescription", "description", 19),
    Column("AccessionNumber", "accession", 9),
    Column("n_series", "ser", 3, align="right"),
    Column("n_instances", "img", 4, align="right"),
)
SERIES_COLUMNS = (
    Column("SeriesNumber", "#", 3, align="right"),
    Column("Modality", "mod", 3),
    Column("SeriesDescription", "description", 21),
    Column("n_instances", "img", 4, align="right"),
    Column("labels", "labels", 12, sortable=False),
)


def _is_frames(obj: Any) -> bool:
    return hasattr(obj, "frame") and hasattr(obj, "loaded_levels") and hasattr(obj, "client")


def browse(frames_or_df: Any, *, page_size: int = 10, chunk_size: int = 4) -> Browser:
    """Open a :class:`Browser` on frames, or on a linked selection to start from.

    Parameters
    ----------
    frames_or_df : Frames or pandas.DataFrame
        A :class:`~orthanc_frames.Frames`, or any frame of one or selection
        derived from one (``f.series.query("Modality == 'CT'")``): the
        browser then shows only those resources, their parents and children.
    page_size : int
        Rows per table page.
    chunk_size : int
        Resources an action works on at once; Cancel takes effect between
        two groups.

    Returns
    -------
    Browser
        An ipywidgets widget; display it (last expression of a cell).

    Raises
    ------
    orthanc_frames.frames.FramesLinkError
        When the DataFrame is not linked to frames (a merge dropped the
        link); the message says how to re-attach it.
    """
    if _is_frames(frames_or_df):
        return Browser(frames_or_df, page_size=page_size, chunk_size=chunk_size)
    if isinstance(frames_or_df, pd.DataFrame):
        client, _level, frames = registry.lookup(frames_or_df)
        if frames is None:
            if client is None:
                raise registry.FramesLinkError(
                    "This DataFrame is linked to neither frames nor a server: nothing to browse."
                )
            from ..frames.container import Frames

            frames = Frames.load(client, levels=("patient", "study", "series"))
        return Browser(frames, start=frames_or_df, page_size=page_size, chunk_size=chunk_size)
    raise TypeError(
        f"browse() takes a Frames or a DataFrame of one, not {type(frames_or_df).__name__}. "
        "Load frames first: f = client.frames(); of.browse(f)."
    )


class Browser(W.VBox):
    """Explore and act on Orthanc frames without code (an ipywidgets 8 widget).

    Parameters
    ----------
    frames : Frames
        What to browse. Instances are used when already loaded; otherwise a
        series' instances are listed when it is opened (one request).
    start : pandas.DataFrame, optional
        A linked selection of ``frames`` to start from: only its resources
        (with their parents and children) are shown.
    page_size : int
        Rows per page of each table.
    chunk_size : int
        Resources acted on in parallel; Cancel takes effect between groups.

    Attributes
    ----------
    frames : Frames
    filters : FilterPanel
    patients_table, studies_table, series_table : PagedTable
    preview : SeriesPreview
    tags : TagViewer
    actions : ActionBar

    Notes
    -----
    Picking rows narrows the tables below: the studies of the picked
    patients, the series of the picked studies (or patients). The first
    picked series is previewed. :attr:`selection` is what the action bar
    acts on. Actions that change the server refresh ``frames`` in place
    (:meth:`Frames.refresh`) when they end.
    """

    def __init__(
        self,
        frames: Any,
        start: pd.DataFrame | None = None,
        *,
        page_size: int = 10,
        chunk_size: int = 4,
    ) -> None:
        self.frames = frames
        self.client = frames.client
        self._start = start
        self.start_level = registry.level_of(start) if start is not None else "patient"
        self._updating = False
        self._state = FilterState()
        self._load_base()

        self.filters = FilterPanel(self._context.modalities(), self._context.all_labels())
        self.patients_table = PagedTable(
            "Patients",
            PATIENT_COLUMNS,
            page_size=page_size,
            sort_by="PatientName",
            css_class="of-patients",
        )
        self.studies_table = PagedTable(
            "Studies",
            STUDY_COLUMNS,
            page_size=page_size,
            sort_by="StudyDate",
            descending=True,
            css_class="of-studies",
        )
        self.series_table = PagedTable(
            "Series",
            SERIES_COLUMNS,
            page_size=page_size,
            sort_by="SeriesNumber",
            css_class="of-series",
        )
        self.preview = SeriesPreview(self.client, self._loaded_instances)
        self.tags = TagViewer(self.client)
        self.actions = ActionBar(lambda: self.selection, self._action_done, chunk_size=chunk_size)
        self.summary = W.HTML()
        self.reload_button = W.Button(
            description="reload",
            icon="refresh",
            tooltip="Refresh the frames from the server",
            layout=W.Layout(width="90px"),
        )

        self.filters.on_change(self._on_filters)
        self.patients_table.on_pick(lambda _: self._cascade("patient"))
        self.studies_table.on_pick(lambda _: self._cascade("study"))
        self.series_table.on_pick(lambda _: self._cascade("series"))
        self.preview.on_instance(self.tags.show_instance)
        self.reload_button.on_click(lambda _: self.reload())

        header = W.HBox(
            [self.summary, self.reload_button], layout=W.Layout(justify_content="space-between")
        )
        header.add_class("of-header")
        tables = W.HBox(
            [self.patients_table, self.studies_table, self.series_table],
            layout=W.Layout(flex_flow="row wrap", width="100%"),
        )
        details = W.HBox([self.preview, self.tags], layout=W.Layout(width="100%"))
        super().__init__(
            [style_widget(), header, self.filters, tables, details, self.actions],
            layout=W.Layout(width="100%"),
        )
        self.add_class("of-browser")
        self._cascade("filters")

    # -- data ------------------------------------------------------------------

    def _load_base(self) -> None:
        """The frames restricted to ``start`` (and its parents and children)."""
        patients = self.frames.patients
        studies = self.frames.studies
        series = self.frames.series
        start = self._start
        if start is not None:
            ids = pd.Index(start.index.astype(str))
            level = self.start_level
            if level == "patient":
                series = series[series["patient"].isin(ids)]
                studies = studies[studies["patient"].isin(ids)]
            elif level == "study":
                studies = studies[studies.index.isin(ids)]
                series = series[series["study"].isin(ids)]
            else:
                wanted = ids if level == "series" else pd.Index(start["series"].astype(str))
                series = series[series.index.isin(wanted)]
                studies = studies[studies.index.isin(series["study"])]
            patients = patients[patients.index.isin(studies["patient"])]
        self._patients, self._studies, self._series = patients, studies, series
        self._context = SeriesContext(patients, studies, series)

    def _loaded_instances(self) -> pd.DataFrame | None:
        if "instance" not in self.frames.loaded_levels:
            return None
        instances = self.frames.instances
        if self._start is not None and self.start_level == "instance":
            return instances[instances.index.isin(self._start.index)]
        return instances

    def _views(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Patients, studies and series that pass the filters."""
        series = self._series[self._context.passing(self._state)]
        if self._state.is_empty:
            return self._patients, self._studies, series
        studies = self._studies[self._studies.index.isin(series["study"])]
        patients = self._patients[self._patients.index.isin(series["patient"])]
        return patients, studies, series

    def _rows_for_tables(self) -> None:
        patients, studies, series = self._views()
        self._filtered = {"patient": patients, "study": studies, "series": series}
        instances = _instance_counts(series)
        self._patient_rows = patients.assign(
            n_studies=_count(studies["patient"], patients.index),
            n_series=_count(series["patient"], patients.index),
        )
        self._study_rows = studies.assign(
            n_series=_count(series["study"], studies.index),
            n_instances=instances.groupby(series["study"]).sum().reindex(studies.index),
        )
        self._series_rows = series.assign(n_instances=instances)

    # -- linking ---------------------------------------------------------------

    def _on_filters(self, state: FilterState) -> None:
        self._state = state
        self._cascade("filters")

    def _cascade(self, changed: str, restore: dict[str, list[str]] | None = None) -> None:
        """Bring the tables below ``changed`` in line with it, then the preview and target.

        ``restore`` re-picks rows (by level) as each table is refilled.
        """
        if self._updating:
            return
        self._updating = True
        try:
            if changed == "filters":
                self._rows_for_tables()
                self.patients_table.set_rows(self._patient_rows)
                if restore:
                    self.patients_table.set_picked(restore.get("patient", []))
            if changed in ("filters", "patient"):
                picked = self.patients_table.picked
                rows = self._study_rows
                if picked:
                    rows = rows[rows["patient"].isin(picked)]
                self.studies_table.set_rows(rows)
                if restore:
                    self.studies_table.set_picked(restore.get("study", []))
            if changed in ("filters", "patient", "study"):
                rows = self._series_rows
                if self.studies_table.picked:
                    rows = rows[rows["study"].isin(self.studies_table.picked)]
                elif self.patients_table.picked:
                    rows = rows[rows["patient"].isin(self.patients_table.picked)]
                self.series_table.set_rows(rows)
                if restore:
                    self.series_table.set_picked(restore.get("series", []))
        finally:
            self._updating = False
        picked_series = self.series_table.picked
        self.preview.show_series(picked_series[0] if picked_series else None)
        self.actions.refresh_target()
        self._refresh_summary()

    def _refresh_summary(self) -> None:
        patients, studies, series = (
            self._filtered[level] for level in ("patient", "study", "series")
        )
        url = getattr(self.client, "url", "") or getattr(self.frames, "server_url", "") or ""
        narrowed = "" if self._state.is_empty else " match the filters"
        self.summary.value = (
            f"<span class='of-title'>Orthanc browser</span> "
            f"<span class='of-muted'>{html.escape(str(url))} · {len(patients):,} patients, "
            f"{len(studies):,} studies, {len(series):,} series{narrowed}</span>"
        )

    # -- what a person picked --------------------------------------------------

    @property
    def selection(self) -> pd.DataFrame:
        """The current selection as a linked DataFrame (its ``.orthanc`` accessor works).

        The picked series if any, else the picked studies, else the picked
        patients; when nothing is picked, every row of the starting level
        (patients, or the level of the frame the browser started from) that
        passes the filters.
        """
        for table, level in (
            (self.series_table, "series"),
            (self.studies_table, "study"),
            (self.patients_table, "patient"),
        ):
            if table.picked:
                return self._linked_rows(level, table.picked)
        level = self.start_level or "patient"
        if level == "instance" and self._start is not None:
            series = self._filtered["series"].index
            return self._start[self._start["series"].isin(series)]
        return self._linked_rows(level, list(self._filtered[level].index.astype(str)))

    def _linked_rows(self, level: str, ids: list[str]) -> pd.DataFrame:
        if self._start is not None and self.start_level == level:
            source = self._start
        else:
            source = {"patient": self._patients, "study": self._studies, "series": self._series}[
                level
            ]
        return source.loc[ids]

    @property
    def state(self) -> FilterState:
        """The filters now in force."""
        return self._state

    @property
    def last_result(self) -> pd.DataFrame | None:
        """The result frame of the last action run from the bar (None before any)."""
        return self.actions.result

    # -- server changes --------------------------------------------------------

    def reload(self) -> None:
        """Refresh the frames from the server (in place) and show them, keeping picks and filters."""
        picks = {
            "patient": self.patients_table.picked,
            "study": self.studies_table.picked,
            "series": self.series_table.picked,
        }
        refresh = getattr(self.frames, "refresh", None)
        if refresh is not None and self.client is not None:
            refresh()
        self._load_base()
        self.filters.set_label_options(self._context.all_labels())
        self.preview.forget()
        self._cascade("filters", restore=picks)

    def _action_done(self, action: str, result: pd.DataFrame) -> None:
        if action == "download":
            return
        try:
            self.reload()
        except Exception as error:  # the action's result stays shown; say why the view is stale
            self.actions.status.value += (
                f"<br><span class='of-error'>The tables could not be refreshed "
                f"({html.escape(type(error).__name__)}: {html.escape(str(error))}); "
                "press reload.</span>"
            )


def _count(links: pd.Series, index: pd.Index) -> pd.Series:
    return links.value_counts().reindex(index.astype(str), fill_value=0).set_axis(index)


def _instance_counts(series: pd.DataFrame) -> pd.Series:
    if "num_instances" in series.columns:
        return series["num_instances"]
    return pd.Series(pd.NA, index=series.index, dtype="Int64")
