"""Incremental refresh of :class:`~orthanc_frames.frames.Frames`.

Orthanc's changes log (``/changes``) lists new and updated resources but
no deletions (a deleted resource's entries vanish) and no label changes.
So a refresh combines three cheap sources, and its request count grows
with what changed, not with what is stored:

1. Patients, studies and series are read again, one paged find per
   level (these levels are small: the instance level is where the rows
   are). This brings every tag, label, child count and stability change
   of those levels, and deletions among them, exactly as a fresh load.
2. The series rows list their instances (``Children``): comparing those
   lists with the instance frame gives the deleted and the new instances
   without listing the instance level. The changes log since the last
   sequence number seen adds instances re-stored in place (same ID).
   Instances of the series concerned are fetched with one find per chunk
   of series UIDs (a DICOM list match).
3. Labels of instances come from one find over the labelled instances
   only (``/tools/labels``, then ``Labels`` with ``"Any"``).

When much changed (more than a quarter of the instances, or a changes log
longer than :data:`MAX_CHANGE_PAGES` pages), or when a filter applies to
instance tags, the instance level is simply loaded again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..paging import iter_find_pages
from .load import (
    UID_CHUNK,
    build_frame,
    fetch_rows,
    load_frames,
    normalize_row,
    order_columns,
)
from .schema import Problem, dtype_for_tag, problems_frame

if TYPE_CHECKING:
    from .container import Frames

__all__ = ["MAX_CHANGE_PAGES", "changes_since", "refresh_frames"]

CHANGES_PAGE = 1000
MAX_CHANGE_PAGES = 20
FULL_RELOAD_SHARE = 0.25


def changes_since(client: Any, since: int, until: int) -> list[dict[str, Any]] | None:
    """Entries of ``/changes`` after ``since`` up to ``until``; None if the log is too long."""
    found: list[dict[str, Any]] = []
    for _ in range(MAX_CHANGE_PAGES):
        if since >= until:
            return found
        answer = client.GET("/changes", params={"since": since, "limit": CHANGES_PAGE})
        entries = answer.get("Changes") or []
        found.extend(e for e in entries if int(e.get("Seq", 0)) <= until)
        last = int(answer.get("Last", since) or since)
        if answer.get("Done") or not entries or last <= since:
            return found
        since = last
    return None


def refresh_frames(frames: Frames) -> None:
    """Update ``frames`` in place so that it equals a fresh load with the same arguments."""
    from .container import _concat_problems, current_change_seq

    client = frames.client
    if client is None:
        raise ValueError(
            "These frames have no server to refresh from: read them with "
            "Frames.read_parquet(path, client=c), or load them with c.frames()."
        )
    spec = frames.spec
    seq_now = current_change_seq(client)
    since = frames.last_change_seq if frames.last_change_seq is not None else 0
    changes = changes_since(client, since, seq_now)

    held = set(frames.loaded_levels)
    has_instances = "instance" in held
    incremental = has_instances and spec.anchor != "instance" and changes is not None
    # The series rows list their instances: read them even when only instances are held.
    upper = [lv for lv in ("patient", "study", "series") if lv in held]
    if incremental and "series" not in upper:
        upper.append("series")
    loaded, anchor_frame = load_frames(client, spec, upper, progress=False)
    frames.last_refresh = {"instances": "reloaded" if "instance" in held else "not loaded"}
    if "instance" in held and not incremental:
        more, anchor_frame = load_frames(
            client, spec, ["instance"], anchor_frame=anchor_frame, progress=frames._progress
        )
        loaded.update(more)
    frames._anchor_frame = anchor_frame

    replaced = [level for level in loaded if level in held]
    problems = [frames.problems[~frames.problems["level"].isin(replaced)]]
    for level, part in loaded.items():
        if level in held:
            frames._set_frame(level, part.frame)
            problems.append(problems_frame(part.problems))

    if incremental:
        assert changes is not None
        series_children = loaded["series"].children
        instance_frame, instance_problems, dropped, stats = _refresh_instances(
            frames, series_children, changes, loaded["series"].frame
        )
        frames.last_refresh = {
            "instances": "incremental" if instance_frame is not None else "reloaded",
            **stats,
        }
        if instance_frame is None:  # too much changed
            more, _ = load_frames(
                client, spec, ["instance"], anchor_frame=anchor_frame, progress=frames._progress
            )
            frames._set_frame("instance", more["instance"].frame)
            problems = [p[p["level"] != "instance"] for p in problems]
            problems.append(problems_frame(more["instance"].problems))
        else:
            frames._set_frame("instance", instance_frame)
            problems = [
                p[~((p["level"] == "instance") & p["id"].isin(list(dropped)))] for p in problems
            ]
            problems.append(problems_frame(instance_problems))

    frames._problems = _concat_problems(problems)
    frames.last_change_seq = seq_now
    frames.loaded_at = pd.Timestamp.now(tz="UTC").to_pydatetime()


def _refresh_instances(
    frames: Frames,
    series_children: dict[str, list[str]],
    changes: list[dict[str, Any]],
    series_frame: pd.DataFrame,
) -> tuple[pd.DataFrame | None, list[Problem], set[str], dict[str, int]]:
    """The new instance frame, its new problems, the IDs whose old rows were dropped, counts."""
    client, spec = frames.client, frames.spec
    old = frames._frames["instance"]
    series_of = {iid: sid for sid, ids in series_children.items() for iid in ids}
    current = set(series_of)
    known = set(old.index)
    deleted = known - current
    new_ids = current - known
    touched = {
        str(e["ID"])
        for e in changes
        if e.get("ResourceType") == "Instance" and str(e.get("ID")) in known & current
    }
    stats = {"new": len(new_ids), "deleted": len(deleted), "updated": len(touched)}
    if len(new_ids) + len(touched) > FULL_RELOAD_SHARE * max(len(current), 1):
        return None, [], set(), stats

    affected = sorted({series_of[i] for i in new_ids | touched})
    uids = series_frame.loc[affected, "SeriesInstanceUID"].dropna().astype(str).tolist()
    extra = spec.tags.get("instance", ())
    records = []
    for start in range(0, len(uids), UID_CHUNK):
        query = {**spec.query_for("instance"), "SeriesInstanceUID": uids[start : start + UID_CHUNK]}
        for row in fetch_rows(client, "instance", spec, query=query, progress=False):
            if row["ID"] in current:
                records.append(normalize_row("instance", row, extra))
    problems: list[Problem] = []
    fresh = build_frame("instance", records, extra, problems)
    dropped = deleted | set(fresh.index)
    kept = old.drop(index=[i for i in old.index if i in dropped])
    kept = _with_current_labels(client, kept)
    combined = _concat_aligned([kept, fresh], extra)
    return combined, problems, dropped, stats


def _labelled_instances(client: Any) -> dict[str, list[str]]:
    """Labels of every labelled instance, from one paged find (none before Orthanc 1.12)."""
    if not client.capabilities.has_labels:
        return {}
    all_labels = client.GET("/tools/labels") or []
    if not all_labels:
        return {}
    found: dict[str, list[str]] = {}
    for page in iter_find_pages(
        client,
        "instance",
        labels=list(all_labels),
        labels_constraint="Any",
        response_content=["Labels"],
    ):
        for row in page:
            found[str(row["ID"])] = list(row.get("Labels") or [])
    return found


def _with_current_labels(client: Any, frame: pd.DataFrame) -> pd.DataFrame:
    if not len(frame):
        return frame
    labelled = _labelled_instances(client)
    values = [sorted(labelled.get(i, [])) for i in frame.index]
    old_values = [sorted(v) if isinstance(v, list) else [] for v in frame["labels"].tolist()]
    if values == old_values:
        return frame
    frame = frame.copy()
    frame["labels"] = pd.Series(
        [labelled.get(i, []) for i in frame.index], index=frame.index, dtype=frame["labels"].dtype
    )
    return frame


def _concat_aligned(parts: Iterable[pd.DataFrame], extra: Iterable[str]) -> pd.DataFrame:
    parts = list(parts)
    columns: list[str] = []
    for part in parts:
        columns.extend(c for c in part.columns if c not in columns)
    dtypes: dict[str, Any] = {}
    for part in parts:
        for column in part.columns:
            dtypes.setdefault(column, part[column].dtype)
    aligned = []
    for part in parts:
        missing = [c for c in columns if c not in part.columns]
        if missing:
            part = part.copy()
            for column in missing:
                part[column] = pd.Series(
                    pd.NA, index=part.index, dtype=dtypes.get(column) or dtype_for_tag(column)
                )
        aligned.append(part[columns])
    non_empty = [p for p in aligned if len(p)] or aligned[:1]
    out = pd.concat(non_empty) if len(non_empty) > 1 else non_empty[0].copy()
    out = out[order_columns("instance", list(out.columns), list(extra))]
    out.index.name = "instance"
    return out
