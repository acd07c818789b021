"""Preview of a series: Orthanc's rendered PNG of one instance, a slider over all of them."""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import pandas as pd

from ..client import OrthancError, route

__all__ = ["SeriesPreview", "ordered_instances"]

_CACHE_SIZE = 64


def ordered_instances(
    client: Any, series_id: str, instances: pd.DataFrame | None = None
) -> list[str]:
    """The instance IDs of a series in display order (index in series, then instance number).

    Parameters
    ----------
    client : Orthanc
        Asked (one request: ``GET /series/{id}/instances``) only when
        ``instances`` is None.
    series_id : str
        Orthanc ID of the series.
    instances : pandas.DataFrame, optional
        The instances frame when it is loaded already.

    Returns
    -------
    list of str
    """
    if instances is not None:
        rows = instances[instances["series"] == series_id]
        keys = [
            column for column in ("index_in_series", "InstanceNumber") if column in rows.columns
        ]
        if keys:
            rows = rows.sort_values(keys, na_position="last", kind="stable")
        return [str(identifier) for identifier in rows.index]
    answer = client.GET(route("series", series_id, "instances"))

    def order(item: dict[str, Any]) -> tuple[float, float, str]:
        number = item.get("MainDicomTags", {}).get("InstanceNumber")
        try:
            instance_number = float(number)
        except (TypeError, ValueError):
            instance_number = float("inf")
        index = item.get("IndexInSeries")
        return (float(index) if index is not None else float("inf"), instance_number, item["ID"])

    return [str(item["ID"]) for item in sorted(answer, key=order)]


class SeriesPreview(W.VBox):
    """The rendered image of one instance of a series, with a slider over its instances.

    Parameters
    ----------
    client : Orthanc
        Renders the images (``GET /instances/{id}/preview``, PNG).
    instances : callable, optional
        Returns the instances frame when it is loaded (else None), so that
        opening a series costs no request.

    Attributes
    ----------
    series_id : str or None
        The series shown.
    instance_ids : list of str
        Its instances in display order; the slider's value is a position in
        it, from 1.
    instance_id : str or None
        The instance shown.
    """

    def __init__(
        self, client: Any, instances: Callable[[], pd.DataFrame | None] | None = None
    ) -> None:
        self._client = client
        self._instances = instances or (lambda: None)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._callbacks: list[Callable[[str | None], None]] = []
        self.series_id: str | None = None
        self.instance_ids: list[str] = []
        self.instance_id: str | None = None
        self.image = W.Image(format="png", layout=W.Layout(width="256px", height="256px"))
        self.image.add_class("of-preview-image")
        self.slider = W.IntSlider(
            value=1,
            min=1,
            max=1,
            description="instance",
            continuous_update=False,
            disabled=True,
            layout=W.Layout(width="256px"),
            style={"description_width": "62px"},
        )
        self.slider.add_class("of-preview-slider")
        self.caption = W.HTML('<span class="of-muted">Pick a series to see it.</span>')
        self.caption.add_class("of-preview-caption")
        self.slider.observe(self._on_slider, names="value")
        super().__init__(
            [
                W.HTML('<span class="of-panel-title">Preview</span>'),
                self.image,
                self.slider,
                self.caption,
            ],
            layout=W.Layout(width="280px", min_width="280px"),
        )
        self.add_class("of-preview")

    def on_instance(self, callback: Callable[[str | None], None]) -> None:
        """Call ``callback(instance_id)`` whenever another instance is shown."""
        self._callbacks.append(callback)

    def show_series(self, series_id: str | None) -> None:
        """Show the middle instance of ``series_id`` (None clears the preview)."""
        if series_id == self.series_id:
            return
        self.series_id = series_id
        if series_id is None:
            self.instance_ids = []
        elif self._client is None and self._instances() is None:
            self.instance_ids = []
            self._show(None, "These frames have no server: nothing to preview.")
            return
        else:
            try:
                self.instance_ids = ordered_instances(self._client, series_id, self._instances())
            except OrthancError as error:
                self.instance_ids = []
                self._show(None, f"Could not list the instances of series {series_id}: {error}")
                return
        count = len(self.instance_ids)
        self.slider.unobserve(self._on_slider, names="value")
        try:
            self.slider.max = max(1, count)
            self.slider.value = count // 2 + 1 if count else 1
            self.slider.disabled = count <= 1
        finally:
            self.slider.observe(self._on_slider, names="value")
        if count:
            self.show_instance(self.instance_ids[self.slider.value - 1])
        elif series_id is None:
            self._show(None, "Pick a series to see it.")
        else:
            self._show(None, f"Series {series_id} has no instance.")

    def forget(self) -> None:
        """Forget the shown series (after the server changed) so that it is read again."""
        self.series_id = None
        self._cache.clear()

    def step(self, position: int) -> None:
        """Show the instance at ``position`` (1 = first) of the series, as the slider does."""
        self.slider.value = max(self.slider.min, min(position, self.slider.max))

    def show_instance(self, instance_id: str) -> None:
        """Render ``instance_id`` (one request, cached)."""
        png = self._cache.get(instance_id)
        if png is None and self._client is None:
            self._show(instance_id, "These frames have no server to render images.")
            return
        if png is None:
            try:
                png = self._client.GET(
                    route("instances", instance_id, "preview"), headers={"Accept": "image/png"}
                )
            except OrthancError as error:
                self._show(
                    instance_id,
                    f"Orthanc could not render instance {instance_id} "
                    f"(its tags are below): {error}",
                )
                return
            self._cache[instance_id] = png
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(instance_id)
        position = (
            self.instance_ids.index(instance_id) + 1 if instance_id in self.instance_ids else 0
        )
        self._show(
            instance_id,
            f"instance {position} of {len(self.instance_ids)}",
            png,
        )

    def _show(self, instance_id: str | None, message: str, png: bytes = b"") -> None:
        self.image.value = png
        self.image.layout.visibility = "visible" if png else "hidden"
        self.caption.value = f'<span class="of-muted">{html.escape(message)}</span>'
        if instance_id != self.instance_id:
            self.instance_id = instance_id
            for callback in self._callbacks:
                callback(instance_id)

    def _on_slider(self, change: dict[str, Any]) -> None:
        if self.instance_ids:
            self.show_instance(self.instance_ids[int(change["new"]) - 1])
