"""Incremental refresh of :class:`~orthanc_frames.frames.Frames`.

Orthanc's changes log (``/changes``) lists new and updated resources but
no deletions (a deleted resource's entries vanish) and no label changes
(measured on 1.12.7: adding labels writes no entry). So a refresh combines
cheap sources, and its cost grows with what changed, not with what is
stored:

1. Patients, studies and series are read again, one paged find per level
   (these levels are small: the instance level is where the rows are),
   with child COUNTS rather than child IDs (Orthanc 1.12.5+; a third of
   the bytes). This brings every tag, label, child count and stability
   change of those levels, and deletions among them, exactly as a fresh
   load.
2. Instances are re-read only in the series that may hold new or changed
   rows: new series, series whose ``LastUpdate`` moved (a stored instance
   moves it), and series of known instances that the changes log names.
   Those series' rows are replaced by one find per chunk of series UIDs
   (a DICOM list match).
3. Deletions: a series whose instance count on the server differs from
   the rows held lost instances; only the IDs of its instances are listed
   (the cheapest find) and the missing rows dropped. Rows of series that
   are gone are dropped.
4. Every new instance of the changes log must have been seen by then;
   if one was not (a store in the same second as the load, with a
   deletion in the same series), the instance level is loaded again.
5. Labels of instances come from one find over the labelled instances
   only (``/tools/labels``, then ``Labels`` with ``"Any"``); only the rows
   labelled before or now are compared, so removals are seen too.

When much changed (more than a quarter of the instances to re-read, or a
changes log longer than :data:`MAX_CHANGE_PAGES` pages), or when a filter
applies to instance tags, the instance level is simply loaded again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
    old_series = frames._frames.get("series")
    # The series rows count their instances: read them even when only instances are held.
    upper = [lv for lv in ("patient", "study", "series") if lv in held]
    if incremental and "series" not in upper:
        upper.append("series")
    loaded, anchor_frame = load_frames(client, spec, upper, progress=False, child_ids=False)
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
        update = _refresh_instances(frames, loaded["series"].frame, old_series, changes)
        frames.last_refresh = {
            "instances": "incremental" if update is not None else "reloaded",
            **(update.stats if update is not None else {}),
        }
        if update is None:  # too much changed, or a change the signals could not place
            more, _ = load_frames(
                client, spec, ["instance"], anchor_frame=anchor_frame, progress=frames._progress
            )
            frames._set_frame("instance", more["instance"].frame)
            problems = [p[p["level"] != "instance"] for p in problems]
            problems.append(problems_frame(more["instance"].problems))
        else:
            frames._set_frame("instance", update.frame)
            if update.dropped:
                dropped = list(update.dropped)
                problems = [
                    p[~((p["level"] == "instance") & p["id"].isin(dropped))] for p in problems
                ]
            problems.append(problems_frame(update.problems))

    frames._problems = _concat_problems(problems)
    frames.last_change_seq = seq_now
    frames.loaded_at = pd.Timestamp.now(tz="UTC").to_pydatetime()


@dataclass
class _InstanceUpdate:
    """The refreshed instance frame, its new problems, the IDs whose old rows went, counts."""

    frame: pd.DataFrame
    problems: list[Problem]
    dropped: set[str]
    stats: dict[str, int] = field(default_factory=dict)


def _refresh_instances(
    frames: Frames,
    series_frame: pd.DataFrame,
    old_series: pd.DataFrame | None,
    changes: list[dict[str, Any]],
) -> _InstanceUpdate | None:
    """Bring the instance rows up to date; None when the level must be loaded again."""
    client, spec = frames.client, frames.spec
    old = frames._frames["instance"]
    old_series_of = old["series"]
    logged = {str(e["ID"]) for e in changes if e.get("ResourceType") == "Instance"}
    logged_known = _present(logged, old.index)
    logged_new = logged - logged_known

    server_counts = series_frame["num_instances"].fillna(0).astype("int64")
    held_counts = old_series_of.value_counts()
    # New series, and series of instances re-stored or updated in place: read whole.
    to_read = set(series_frame.index.difference(held_counts.index))
    if logged_known:
        to_read |= set(old_series_of[old_series_of.index.isin(list(logged_known))].dropna())
    if int(server_counts.reindex(list(to_read)).fillna(0).sum()) > FULL_RELOAD_SHARE * max(
        int(server_counts.sum()), 1
    ):
        return None
    extra = spec.tags.get("instance", ())
    records = [
        normalize_row("instance", row, extra)
        for row in _instance_rows_of(client, spec, _uids(series_frame, to_read))
    ]
    fetched_ids = {r["ID"] for r in records}
    unplaced = logged_new - fetched_ids

    # Other series changed only if their count did, or (for instances the log
    # names but no series read so far holds) if their LastUpdate moved.
    held_now = held_counts.reindex(series_frame.index).fillna(0).astype("int64")
    recount = set(series_frame.index[(server_counts != held_now).to_numpy(dtype=bool)])
    if unplaced:
        moved = _series_updated_since(old_series, series_frame)
        if moved is None:
            return None
        recount |= moved
    recount -= to_read
    listed: set[str] = set()
    if recount:
        parents = _instance_parents(client, spec, _uids(series_frame, recount))
        listed = set(parents)
        grown = {parents[i] for i in listed - _present(listed, old.index)}
        if grown:  # new instances in these series: read them whole too
            grown_rows = [
                normalize_row("instance", row, extra)
                for row in _instance_rows_of(client, spec, _uids(series_frame, grown))
            ]
            records.extend(grown_rows)
            fetched_ids |= {r["ID"] for r in grown_rows}
            to_read |= grown
            recount -= grown
        unplaced -= fetched_ids
    if unplaced:  # stored where no signal pointed (a race with the load): read all again
        return None
    problems: list[Problem] = []
    fresh = build_frame("instance", records, extra, problems)

    gone_series = ~old_series_of.isin(list(series_frame.index))
    replaced = old_series_of.isin(list(to_read)) | old.index.isin(list(fetched_ids))
    drop = gone_series | replaced
    if recount:
        drop |= old_series_of.isin(list(recount)) & ~old.index.isin(list(listed))
    drop_mask = drop.to_numpy(dtype=bool)
    dropped = set(old.index[drop_mask])
    kept = old[~drop_mask] if drop_mask.any() else old
    kept = _with_current_labels(client, kept)
    combined = _concat_aligned([kept, fresh], extra) if len(fresh) else kept.copy()
    stats = {
        "new": len(fetched_ids - _present(fetched_ids, old.index)),
        "deleted": len(dropped - fetched_ids),
        "updated": len(logged_known & fetched_ids),
        "series_read": len(to_read),
        "series_listed": len(recount),
    }
    return _InstanceUpdate(combined, problems, dropped, stats)


def _present(ids: Iterable[str], index: pd.Index) -> set[str]:
    """Those of ``ids`` that are in ``index`` (vectorized: the index is never iterated)."""
    values = pd.Index(list(ids), dtype=index.dtype)
    return set(values[values.isin(index)])


def _uids(series_frame: pd.DataFrame, series_ids: Iterable[str]) -> list[str]:
    ids = sorted(series_ids)
    if not ids:
        return []
    return series_frame.loc[ids, "SeriesInstanceUID"].dropna().astype(str).tolist()


def _instance_rows_of(client: Any, spec: Any, series_uids: list[str]) -> list[dict[str, Any]]:
    """Instance rows of these series (one paged find per chunk of UIDs)."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(series_uids), UID_CHUNK):
        chunk = series_uids[start : start + UID_CHUNK]
        query = {**spec.query_for("instance"), "SeriesInstanceUID": chunk}
        rows.extend(fetch_rows(client, "instance", spec, query=query, progress=False))
    return rows


def _instance_parents(client: Any, spec: Any, series_uids: list[str]) -> dict[str, str]:
    """Instance ID -> series ID of these series' instances (their children lists, no tags).

    Asked at series level: a UID list match there is far cheaper for the
    server than the same match at instance level.
    """
    parents: dict[str, str] = {}
    for start in range(0, len(series_uids), UID_CHUNK):
        chunk = series_uids[start : start + UID_CHUNK]
        query = {**spec.query_for("series"), "SeriesInstanceUID": chunk}
        for page in iter_find_pages(
            client, "series", query=query, response_content=["Children"], workers=spec.workers
        ):
            for row in page:
                for child in row.get("Children") or row.get("Instances") or []:
                    parents[str(child)] = str(row["ID"])
    return parents


def _series_updated_since(
    old_series: pd.DataFrame | None, series_frame: pd.DataFrame
) -> set[str] | None:
    """Series whose ``LastUpdate`` moved (a store or a deletion); None if the frames cannot tell."""
    if old_series is None or "last_update" not in old_series.columns:
        return None
    before = old_series["last_update"].reindex(series_frame.index)
    moved = (before != series_frame["last_update"]).fillna(True)
    return set(series_frame.index[moved.to_numpy(dtype=bool)])


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
    """``frame`` with the server's instance labels; only rows labelled before or now are looked at."""
    if not len(frame):
        return frame
    labelled = _labelled_instances(client)
    had_labels = frame["labels"].list.len().fillna(0).to_numpy() > 0
    candidates = set(frame.index[had_labels]) | _present(labelled, frame.index)
    if not candidates:
        return frame
    ids = sorted(candidates)
    held = frame.loc[ids, "labels"].tolist()
    now = [labelled.get(i, []) for i in ids]
    if [_sorted_labels(v) for v in held] == [sorted(v) for v in now]:
        return frame
    frame = frame.copy()
    frame.loc[ids, "labels"] = pd.Series(now, index=pd.Index(ids), dtype=frame["labels"].dtype)
    return frame


def _sorted_labels(value: Any) -> list[str]:
    return sorted(value) if isinstance(value, Iterable) and not isinstance(value, str) else []


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
