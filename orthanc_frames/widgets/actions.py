"""The action bar: label, anonymize, download or delete the browser's selection.

Actions go through the selection's ``df.orthanc`` accessor (the one
executor of bulk actions) in a background thread, a few resources at a
time, so the widget stays responsive, a progress bar moves, and Cancel
stops the work between two groups of resources (what already ran stays
done; the rest is reported as skipped). The result is the accessor's
result frame: one row per resource with ``status``, ``error`` (and
``new_id`` for anonymize).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd

from .._parallel import describe_error
from ..client.names import check_label
from ..frames import bulk
from ..levels import LEVEL_NAMES, Level

__all__ = ["ACTIONS", "ActionBar", "ActionSpec", "result_html"]

_RESULT_ROWS_SHOWN = 100


@dataclass(frozen=True)
class ActionSpec:
    """One action of the bar.

    Parameters
    ----------
    name : str
        Internal name (``"add_label"``...).
    title : str
        Menu text.
    verb : str
        Progress text, e.g. ``"labelling"``.
    argument : str or None
        What the text box asks for (``"label"``, ``"folder"``) or None.
    destructive : bool
        Always asks for confirmation in the widget first.
    """

    name: str
    title: str
    verb: str
    argument: str | None = None
    destructive: bool = False


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec("add_label", "add label", "labelling", argument="label"),
        ActionSpec("remove_label", "remove label", "unlabelling", argument="label"),
        ActionSpec("anonymize", "anonymize", "anonymizing"),
        ActionSpec("download", "download", "downloading", argument="folder"),
        ActionSpec("delete", "delete", "deleting", destructive=True),
    )
}
"""The actions the bar offers, by name."""


def _describe_selection(selection: pd.DataFrame) -> str:
    level = str(selection.index.name or "resource")
    count = len(selection)
    noun = Level(level).route if count != 1 and level in LEVEL_NAMES else level
    return f"{count:,} {noun}"


def result_html(result: pd.DataFrame, title: str = "") -> str:
    """A compact HTML view of a bulk-action result frame (status counts, then the rows).

    Parameters
    ----------
    result : pandas.DataFrame
        Index = source Orthanc IDs, columns ``status``, ``error`` and maybe ``new_id``.
    title : str
        Heading, e.g. ``"add label 'x' on 3 series"``.

    Returns
    -------
    str
    """
    counts = result["status"].value_counts()
    summary = ", ".join(
        f"<span class='of-status-{html.escape(str(status))}'>{int(number)} {html.escape(str(status))}</span>"
        for status, number in counts.items()
    )
    columns = [column for column in ("status", "error", "new_id") if column in result.columns]
    head = "".join(f"<th>{html.escape(column)}</th>" for column in [result.index.name, *columns])
    body = []
    for identifier, row in result.head(_RESULT_ROWS_SHOWN).iterrows():
        cells = [f"<td class='of-id'>{html.escape(str(identifier))}</td>"]
        for column in columns:
            value = row[column]
            text = "" if value is None or pd.isna(value) else str(value)
            css = f" class='of-status-{html.escape(text)}'" if column == "status" else ""
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = (
        f"<div class='of-muted'>… {len(result) - _RESULT_ROWS_SHOWN} more rows in "
        "browser.last_result</div>"
        if len(result) > _RESULT_ROWS_SHOWN
        else ""
    )
    return (
        f"<div class='of-result'><div><b>{html.escape(title)}</b> {summary}</div>"
        f"<div class='of-result-scroll'><table class='of-result-table'><thead><tr>{head}</tr>"
        f"</thead><tbody>{''.join(body)}</tbody></table></div>{more}</div>"
    )


class ActionBar(W.VBox):
    """Buttons that act on a selection, with confirmation, progress, Cancel and a result table.

    Parameters
    ----------
    selection : callable
        Returns the linked DataFrame to act on (the browser's selection).
    on_done : callable, optional
        ``on_done(action_name, result_frame)`` after each run, in the worker
        thread.
    chunk_size : int
        Resources per group: the accessor runs a group in parallel (this
        many workers), and Cancel takes effect between groups.

    Attributes
    ----------
    result : pandas.DataFrame or None
        The result frame of the last finished run.
    running : bool
        Whether a run is in progress.
    """

    def __init__(
        self,
        selection: Callable[[], pd.DataFrame],
        on_done: Callable[[str, pd.DataFrame], None] | None = None,
        *,
        chunk_size: int = 4,
    ) -> None:
        self._selection = selection
        self._on_done = on_done
        self.chunk_size = max(1, chunk_size)
        self.result: pd.DataFrame | None = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._pending: tuple[ActionSpec, pd.DataFrame, dict[str, Any]] | None = None

        self.target = W.HTML()
        self.target.add_class("of-action-target")
        self.action = W.Dropdown(
            options=[(spec.title, spec.name) for spec in ACTIONS.values()],
            value="add_label",
            layout=W.Layout(width="140px"),
        )
        self.argument = W.Text(placeholder="label", layout=W.Layout(width="200px"))
        self.download_format = W.Dropdown(
            options=[("DICOM files", "dicom"), ("ZIP archives", "zip")],
            value="dicom",
            layout=W.Layout(width="130px", display="none"),
        )
        self.keep_originals = W.Checkbox(
            value=True,
            description="keep originals",
            indent=False,
            layout=W.Layout(width="130px", display="none"),
        )
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.run_button.add_class("of-run")
        self.cancel_button = W.Button(
            description="Cancel", icon="stop", disabled=True, button_style="warning"
        )
        self.cancel_button.add_class("of-cancel")
        self.confirm_text = W.HTML()
        self.confirm_button = W.Button(description="Yes, do it", button_style="danger")
        self.confirm_button.add_class("of-confirm")
        self.back_button = W.Button(description="Back")
        self.confirm_box = W.HBox(
            [self.confirm_text, self.confirm_button, self.back_button],
            layout=W.Layout(display="none", align_items="center"),
        )
        self.confirm_box.add_class("of-confirm-box")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="200px"))
        self.status = W.HTML()
        self.status.add_class("of-action-status")
        self.result_view = W.HTML()
        self.result_view.add_class("of-action-result")

        self.action.observe(lambda _: self._show_options(), names="value")
        self.run_button.on_click(lambda _: self.request_run())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.confirm_button.on_click(lambda _: self.confirm())
        self.back_button.on_click(lambda _: self._hide_confirm())

        super().__init__(
            [
                W.HBox(
                    [
                        W.HTML('<span class="of-panel-title">Act on</span>'),
                        self.target,
                    ],
                    layout=W.Layout(align_items="center"),
                ),
                W.HBox(
                    [
                        self.action,
                        self.argument,
                        self.download_format,
                        self.keep_originals,
                        self.run_button,
                        self.cancel_button,
                        self.progress,
                        self.status,
                    ],
                    layout=W.Layout(flex_flow="row wrap", align_items="center"),
                ),
                self.confirm_box,
                self.result_view,
            ]
        )
        self.add_class("of-actions")
        self._show_options()

    # -- state -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a run is in progress."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def awaiting_confirmation(self) -> bool:
        """Whether a destructive run waits for the person's confirmation."""
        return self._pending is not None

    def refresh_target(self) -> None:
        """Update the "Act on" line from the current selection."""
        selection = self._selection()
        self.target.value = (
            f"<span class='of-target'>{html.escape(_describe_selection(selection))}</span>"
        )

    def _show_options(self) -> None:
        spec = ACTIONS[self.action.value]
        self.argument.layout.display = "" if spec.argument else "none"
        self.argument.placeholder = spec.argument or ""
        if spec.argument == "folder" and not self.argument.value:
            self.argument.value = "orthanc-download"
        elif spec.argument == "label" and self.argument.value == "orthanc-download":
            self.argument.value = ""
        self.download_format.layout.display = "" if spec.name == "download" else "none"
        self.keep_originals.layout.display = "" if spec.name == "anonymize" else "none"
        self._hide_confirm()

    # -- running ---------------------------------------------------------------

    def request_run(self) -> None:
        """What the Run button does: check, then ask for confirmation or start."""
        if self.running:
            self._say("An action is still running: wait for it or press Cancel.", "error")
            return
        spec = ACTIONS[self.action.value]
        selection = self._selection()
        if len(selection) == 0:
            self._say(
                "Nothing is selected: pick rows in the tables (or loosen the filters).", "error"
            )
            return
        options: dict[str, Any] = {}
        if spec.argument:
            value = (self.argument.value or "").strip()
            if not value:
                self._say(f"Type a {spec.argument} first.", "error")
                return
            if spec.argument == "label":
                try:
                    check_label(value)
                except ValueError as error:
                    self._refuse(spec, selection, str(error))
                    return
            options[spec.argument] = value
        if spec.name == "download":
            options["format"] = self.download_format.value
        if spec.name == "anonymize":
            options["keep_source"] = bool(self.keep_originals.value)
        destructive = spec.destructive or options.get("keep_source") is False
        if destructive:
            self._pending = (spec, selection, options)
            what = _describe_selection(selection)
            warning = (
                f"Delete {what} and everything they contain from the server? This cannot be undone."
                if spec.name == "delete"
                else f"Anonymize {what} and delete the originals once each copy is stored?"
            )
            self.confirm_text.value = f"<span class='of-warning'>{html.escape(warning)}</span>"
            self.confirm_button.description = f"Yes, {spec.title}"
            self.confirm_box.layout.display = "flex"
            self.run_button.disabled = True
            return
        self._start(spec, selection, options)

    def _refuse(self, spec: ActionSpec, selection: pd.DataFrame, reason: str) -> None:
        """Show why the typed argument was refused: every row failed, nothing sent."""
        self.result = _failed(
            selection[~selection.index.duplicated()], spec, f"ValueError: {reason}"
        )
        self.result_view.value = result_html(self.result, f"{spec.title}: refused")
        self.progress.bar_style = "danger"
        self._say(
            f"{spec.title} refused before anything was sent: {len(self.result)} failed. {reason}",
            "error",
        )

    def confirm(self) -> None:
        """What the confirmation button does: start the pending destructive run."""
        if self._pending is None:
            return
        spec, selection, options = self._pending
        self._hide_confirm()
        self._start(spec, selection, options)

    def _hide_confirm(self) -> None:
        self._pending = None
        self.confirm_box.layout.display = "none"
        self.run_button.disabled = self.running

    def cancel(self) -> None:
        """Stop the run after the group of resources in progress (Cancel button)."""
        if self.running:
            self._cancel.set()
            self.cancel_button.disabled = True
            self._say("Cancelling after the resources in progress…", "info")

    def wait(self, timeout: float | None = None) -> pd.DataFrame | None:
        """Block until the current run ends (for code and tests); return its result."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"The action still runs after {timeout} s.")
        return self.result

    def _start(self, spec: ActionSpec, selection: pd.DataFrame, options: dict[str, Any]) -> None:
        self._cancel = threading.Event()
        self.result = None
        self.progress.max = max(1, len(selection))
        self.progress.value = 0
        self.progress.bar_style = "info"
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        self.result_view.value = ""
        self._say(f"{spec.verb} {_describe_selection(selection)}…", "info")
        self._thread = threading.Thread(
            target=self._run,
            args=(spec, selection, options, self._cancel),
            name=f"orthanc-frames-{spec.name}",
            daemon=True,
        )
        self._thread.start()

    def _run(
        self,
        spec: ActionSpec,
        selection: pd.DataFrame,
        options: dict[str, Any],
        cancel: threading.Event,
    ) -> None:
        try:
            result = self._execute(spec, selection, options, cancel)
        except Exception as error:  # never leave the bar stuck in "running"
            self.progress.bar_style = "danger"
            self._say(f"{spec.title} stopped: {describe_error(error)}", "error")
            return
        finally:
            self.cancel_button.disabled = True
            self.run_button.disabled = False
        if self._on_done is not None:
            self._on_done(spec.name, result)

    def _execute(
        self,
        spec: ActionSpec,
        selection: pd.DataFrame,
        options: dict[str, Any],
        cancel: threading.Event,
    ) -> pd.DataFrame:
        selection = selection[~selection.index.duplicated()]
        parts: list[pd.DataFrame] = []
        done = 0
        stopped_by = ""
        for start in range(0, len(selection), self.chunk_size):
            if cancel.is_set():
                stopped_by = "cancelled before it started"
                break
            group = selection.iloc[start : start + self.chunk_size]
            try:
                parts.append(_call(spec, group, options, workers=self.chunk_size))
            except Exception as error:  # an argument the server or accessor refuses
                parts.append(_failed(group, spec, describe_error(error)))
                stopped_by = "not tried: an earlier group failed as a whole"
                done += len(group)
                self.progress.value = done
                break
            done += len(group)
            self.progress.value = done
            self._say(f"{spec.verb} {done:,} of {len(selection):,}…", "info")
        remaining = selection.iloc[sum(len(part) for part in parts) :]
        if len(remaining):
            parts.append(_skipped(remaining, spec, stopped_by or "cancelled before it started"))
        result = pd.concat(parts) if parts else _skipped(selection, spec, "nothing to do")
        self.result = result
        failed = int((result["status"] == "failed").sum())
        skipped = int((result["status"] == "skipped").sum())
        self.progress.bar_style = "danger" if failed else ("warning" if skipped else "success")
        title = f"{spec.title} {_argument_text(options)}on {_describe_selection(selection)}"
        self.result_view.value = result_html(result, title)
        outcome = "cancelled" if cancel.is_set() else "done"
        self._say(
            f"{outcome}: {int((result['status'] == 'ok').sum())} ok, {failed} failed, "
            f"{skipped} skipped",
            "error" if failed else "info",
        )
        return result

    def _say(self, message: str, kind: str) -> None:
        self.status.value = f"<span class='of-{kind}'>{html.escape(message)}</span>"


def _argument_text(options: dict[str, Any]) -> str:
    for key in ("label", "folder"):
        if key in options:
            return f"{options[key]!r} "
    return ""


def _call(
    spec: ActionSpec, group: pd.DataFrame, options: dict[str, Any], workers: int
) -> pd.DataFrame:
    accessor = group.orthanc
    if spec.name == "add_label":
        return accessor.add_label(options["label"], workers=workers, progress=False)
    if spec.name == "remove_label":
        return accessor.remove_label(options["label"], workers=workers, progress=False)
    if spec.name == "anonymize":
        return accessor.anonymize(
            keep_source=options.get("keep_source", True), workers=workers, progress=False
        )
    if spec.name == "download":
        return accessor.download(
            Path(options["folder"]).expanduser(),
            format=options.get("format", "dicom"),
            workers=workers,
            progress=False,
        )
    if spec.name == "delete":
        return accessor.delete(confirm=True, progress=False)
    raise ValueError(f"Unknown action {spec.name!r}; choose one of {', '.join(ACTIONS)}.")


def _rows(group: pd.DataFrame, spec: ActionSpec, status: str, error: str) -> pd.DataFrame:
    ids = [str(identifier) for identifier in group.index]
    return bulk.result_frame(
        str(group.index.name),
        ids,
        [status] * len(ids),
        [error] * len(ids),
        new_ids=[None] * len(ids) if spec.name == "anonymize" else None,
    )


def _failed(group: pd.DataFrame, spec: ActionSpec, error: str) -> pd.DataFrame:
    return _rows(group, spec, "failed", error)


def _skipped(group: pd.DataFrame, spec: ActionSpec, reason: str) -> pd.DataFrame:
    return _rows(group, spec, "skipped", reason)
