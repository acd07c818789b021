"""The browser's filters: what a person asks for, and which rows it keeps.

A filter is decided per series, with the series' study and patient: a
series passes when its own text, its study's or its patient's matches the
free text, its modality is one asked for, its study date lies in the range
and its labels (with those of its study and patient) satisfy the label
filter. Studies and patients are kept when one of their series passes, so
every filter narrows the three linked tables at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd

__all__ = ["FilterPanel", "FilterState", "SeriesContext"]

TEXT_COLUMNS = {
    "patient": ("PatientName", "PatientID"),
    "study": ("StudyDescription", "AccessionNumber", "StudyID"),
    "series": ("SeriesDescription", "Modality", "BodyPartExamined", "ProtocolName"),
}
"""Columns searched by the free text, per level (with each level's Orthanc ID)."""


@dataclass(frozen=True)
class FilterState:
    """What the filters ask for; the default asks for nothing (everything passes).

    Parameters
    ----------
    text : str
        Words that must all appear (case-insensitive) in the names, IDs or
        descriptions of a series, its study or its patient.
    modalities : tuple of str
        Keep series of these modalities (empty: any).
    date_from, date_to : datetime.date, optional
        Inclusive range of the study date (falls back to the series date).
    labels : tuple of str
        Labels a series must carry, itself or through its study or patient.
    labels_mode : {"any", "all"}
        Whether one of ``labels`` suffices or all are needed.
    """

    text: str = ""
    modalities: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    labels: tuple[str, ...] = ()
    labels_mode: str = "any"

    @property
    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not (
            self.text.strip() or self.modalities or self.date_from or self.date_to or self.labels
        )


@dataclass
class SeriesContext:
    """Per-series facts the filters test, computed once from the linked frames.

    Parameters
    ----------
    patients, studies, series : pandas.DataFrame
        The linked frames (series has ``study`` and ``patient`` link columns).
    """

    patients: pd.DataFrame
    studies: pd.DataFrame
    series: pd.DataFrame
    haystack: pd.Series = field(init=False)
    modality: pd.Series = field(init=False)
    date: pd.Series = field(init=False)
    labels: pd.Series = field(init=False)

    def __post_init__(self) -> None:
        series = self.series
        study_ids = series["study"].astype(str)
        patient_ids = series["patient"].astype(str)
        parts = [
            _text_of(series, TEXT_COLUMNS["series"], series.index.astype(str)),
            _text_of(self.studies, TEXT_COLUMNS["study"], self.studies.index.astype(str))
            .reindex(study_ids)
            .fillna(""),
            _text_of(self.patients, TEXT_COLUMNS["patient"], self.patients.index.astype(str))
            .reindex(patient_ids)
            .fillna(""),
        ]
        self.haystack = pd.Series(
            (parts[0].to_numpy() + " " + parts[1].to_numpy() + " " + parts[2].to_numpy()),
            index=series.index,
        )
        self.modality = _column(series, "Modality").astype("string")
        study_date = _column(self.studies, "StudyDate").reindex(study_ids)
        study_date.index = series.index
        series_date = _column(series, "SeriesDate")
        self.date = pd.Series(
            pd.to_datetime(study_date.astype(object).where(study_date.notna(), series_date)),
            index=series.index,
        )
        self.labels = _labels_with_parents(self.patients, self.studies, series)

    def modalities(self) -> list[str]:
        """Sorted distinct modalities of the series."""
        return sorted(str(value) for value in self.modality.dropna().unique())

    def all_labels(self) -> list[str]:
        """Sorted distinct labels of every level."""
        found: set[str] = set()
        for frame in (self.patients, self.studies, self.series):
            if "labels" in frame.columns:
                found.update(str(label) for label in frame["labels"].explode().dropna())
        return sorted(found)

    def passing(self, state: FilterState) -> pd.Series:
        """Boolean mask over the series: which pass ``state``."""
        mask = pd.Series(True, index=self.series.index)
        for word in state.text.lower().split():
            mask &= self.haystack.str.contains(word, regex=False)
        if state.modalities:
            mask &= self.modality.isin(list(state.modalities)).fillna(False).astype(bool)
        if state.date_from is not None:
            mask &= (self.date >= pd.Timestamp(state.date_from)).fillna(False).astype(bool)
        if state.date_to is not None:
            mask &= (self.date <= pd.Timestamp(state.date_to)).fillna(False).astype(bool)
        if state.labels:
            wanted = set(state.labels)
            if state.labels_mode == "all":
                keep = [wanted <= labels for labels in self.labels]
            else:
                keep = [bool(wanted & labels) for labels in self.labels]
            mask &= np.asarray(keep, dtype=bool)
        return mask


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


def _text_of(frame: pd.DataFrame, columns: Sequence[str], ids: pd.Index) -> pd.Series:
    text = pd.Series(np.asarray(ids, dtype=object), index=frame.index, dtype=object)
    for name in columns:
        if name in frame.columns:
            values = frame[name].astype("string").fillna("").astype(object)
            text = text + " " + values
    return text.str.lower().str.replace("^", " ", regex=False)


def _label_sets(frame: pd.DataFrame) -> dict[str, frozenset[str]]:
    if "labels" not in frame.columns:
        return {}
    exploded = frame["labels"].explode().dropna()
    sets: dict[str, set[str]] = {}
    for identifier, label in zip(exploded.index.astype(str), exploded.astype(str), strict=True):
        sets.setdefault(identifier, set()).add(label)
    return {identifier: frozenset(labels) for identifier, labels in sets.items()}


def _labels_with_parents(
    patients: pd.DataFrame, studies: pd.DataFrame, series: pd.DataFrame
) -> list[frozenset[str]]:
    own = _label_sets(series)
    of_study = _label_sets(studies)
    of_patient = _label_sets(patients)
    empty: frozenset[str] = frozenset()
    return [
        own.get(identifier, empty) | of_study.get(study, empty) | of_patient.get(patient, empty)
        for identifier, study, patient in zip(
            series.index.astype(str),
            series["study"].astype(str),
            series["patient"].astype(str),
            strict=True,
        )
    ]


class FilterPanel(W.HBox):
    """The filter controls: free text, modality, study date range, labels (any/all).

    Call :meth:`on_change` to be told of every change; :attr:`state` is the
    current :class:`FilterState`.
    """

    def __init__(self, modalities: Sequence[str], labels: Sequence[str]) -> None:
        self.text = W.Text(
            placeholder="name, ID, description…",
            description="search",
            continuous_update=False,
            layout=W.Layout(width="260px"),
            style={"description_width": "50px"},
        )
        self.modality = W.SelectMultiple(
            options=list(modalities),
            rows=3,
            description="modality",
            layout=W.Layout(width="150px"),
            style={"description_width": "60px"},
        )
        self.date_from = W.DatePicker(
            description="from",
            layout=W.Layout(width="190px"),
            style={"description_width": "40px"},
        )
        self.date_to = W.DatePicker(
            description="to",
            layout=W.Layout(width="190px"),
            style={"description_width": "40px"},
        )
        self.labels = W.SelectMultiple(
            options=list(labels),
            rows=3,
            description="labels",
            layout=W.Layout(width="190px"),
            style={"description_width": "45px"},
        )
        self.labels.disabled = not labels
        self.labels.tooltip = "Labels of a series, its study or its patient"
        self.labels_mode = W.ToggleButtons(
            options=[("any", "any"), ("all", "all")],
            value="any",
            tooltip="A series needs any / all of the picked labels",
            style={"button_width": "48px"},
        )
        self.reset = W.Button(
            description="reset",
            icon="times",
            tooltip="Clear every filter",
            layout=W.Layout(width="80px"),
        )
        self._callbacks: list[Any] = []
        self._quiet = False
        for control in (
            self.text,
            self.modality,
            self.date_from,
            self.date_to,
            self.labels,
            self.labels_mode,
        ):
            control.observe(self._changed, names="value")
        self.reset.on_click(lambda _: self.clear())
        super().__init__(
            [
                W.VBox([self.text, W.HBox([self.date_from, self.date_to])]),
                self.modality,
                W.VBox([self.labels, self.labels_mode]),
                self.reset,
            ],
            layout=W.Layout(flex_flow="row wrap", align_items="flex-start"),
        )
        self.add_class("of-filters")

    @property
    def state(self) -> FilterState:
        """The filters as a :class:`FilterState`."""
        return FilterState(
            text=self.text.value or "",
            modalities=tuple(self.modality.value),
            date_from=self.date_from.value,
            date_to=self.date_to.value,
            labels=tuple(self.labels.value),
            labels_mode=self.labels_mode.value,
        )

    def set_state(self, state: FilterState) -> None:
        """Set every control from ``state`` at once (one change notification)."""
        self._quiet = True
        try:
            self.text.value = state.text
            self.modality.value = tuple(m for m in state.modalities if m in self.modality.options)
            self.date_from.value = state.date_from
            self.date_to.value = state.date_to
            self.labels.value = tuple(
                label for label in state.labels if label in self.labels.options
            )
            self.labels_mode.value = state.labels_mode
        finally:
            self._quiet = False
        self._changed({})

    def clear(self) -> None:
        """Clear every filter."""
        self.set_state(FilterState())

    def set_label_options(self, labels: Sequence[str]) -> None:
        """Offer ``labels`` (after an action added or removed some); keeps picked ones."""
        picked = tuple(label for label in self.labels.value if label in labels)
        self._quiet = True
        try:
            self.labels.options = list(labels)
            self.labels.value = picked
            self.labels.disabled = not labels
        finally:
            self._quiet = False

    def on_change(self, callback: Any) -> None:
        """Call ``callback(state)`` after every change of a filter."""
        self._callbacks.append(callback)

    def _changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        state = self.state
        for callback in self._callbacks:
            callback(state)
