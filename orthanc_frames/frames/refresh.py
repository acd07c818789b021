"""Incremental refresh of :class:`~orthanc_frames.frames.Frames`.

Orthanc's changes log (``/changes``) lists new and updated resources but
no deletions (a deleted resource's entries vanish) and no label changes
(measured on 1.12.7: adding labels writes no entry). So a refresh combines
cheap sources, and its cost grows with what changed, not with what is
stored:

1. The changes log since the last refresh, in one request when it is short.
   Entries that say only that a patient, study or series became stable or
   had an attachment written are not reasons to read its row again: the
   check pages give stability for every row.
2. Patients, studies and series (Orthanc 1.12.5+, no filter): one *check
   page* per level with only each row's labels, stability, child count
   (computed from the index) and, for patients and studies, ``LastUpdate``:
   a tenth of the bytes of full rows (a find with ``ResponseContent``, or
   on an index without extended find the list route with
   ``response-content``, where UIDs of held rows come from the frames and
   those of a few new rows are read one by one). (A series'
   ``LastUpdate`` moves only with a store, which the log records, or a
   deletion, which moves its count: see 4.) Rows that are gone are
   dropped; those fields are updated in place for every row. Full rows are read again
   (by a UID list match) only for new resources, resources the changes
   log names (directly or through a held descendant), ancestors of every
   row read again (instances included), and, when ``tags=`` asks for
   tags read from files at that level, rows whose ``LastUpdate`` or child
   count moved. Main DICOM tags of a resource live in Orthanc's index
   and change only when an instance is stored, which the log records.
   With a filter, or on older servers, these levels are read whole, one
   paged find per level with child counts.
3. Instances are re-read only in the series that may hold new or changed
   rows: new series, series whose ``LastUpdate`` moved (a stored instance
   moves it), and series of known instances that the changes log names.
   Those series' rows are replaced by one find per chunk of series UIDs
   (a DICOM list match).
4. Deletions: a series whose instance count on the server differs from
   the rows held lost instances; only the IDs of its instances and its
   metadata are listed (the cheapest find), the missing rows dropped and
   the series' ``LastUpdate`` taken. Rows of series that are gone are
   dropped. When only the upper levels are held, such series are read
   again instead.
5. Every new instance of the changes log must have been seen by then;
   if one was not (stored into a held series that also lost one, so its
   count did not move), one series page with ``LastUpdate`` says which
   series moved and those are listed too; if that cannot tell (a store
   in the same second as the load), the instance level is loaded again.
6. Labels of instances come from one find over the labelled instances
   only (``/tools/labels``, then ``Labels`` with ``"Any"``); only the rows
   labelled before or now are compared, so removals are seen too.

Requests that do not depend on each other overlap on a small pool: the
log with ``/statistics``; the three check pages; the series rows read
again with the instance rows of step 3 and the children listing of step
4; the instance labels (asked once those rows are in, answered while the
new rows are built) with the study and patient rows read again.

When much changed (more than a quarter of the instances to re-read, or a
changes log longer than :data:`MAX_CHANGE_PAGES` pages), or when a filter
applies to instance tags, the instance level is simply loaded again; a
level of which more than a quarter of the rows must be read again is
read whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._parallel import executor, in_order
from ..client import route
from ..client.errors import NotFound
from ..levels import Level
from ..paging import iter_find_pages, iter_list_pages
from .load import (
    CHILD_COUNT_TAG,
    LINKS,
    UID_CHUNK,
    UID_OF_LEVEL,
    build_frame,
    costly_tags,
    fetch_rows,
    field_columns,
    load_frames,
    load_level,
    normalize_row,
    order_columns,
)
from .schema import ORTHANC_FIELDS, Problem, dtype_for_tag, problems_frame

if TYPE_CHECKING:
    from .container import Frames

__all__ = ["MAX_CHANGE_PAGES", "ChangesLog", "read_changes", "refresh_frames"]

CHANGES_PAGE = 1000
MAX_CHANGE_PAGES = 20
FULL_RELOAD_SHARE = 0.25
UPPER_LEVELS = tuple(level.value for level in Level if level.child)
_BACKGROUND_WORKERS = 4
_MAX_CHUNKS = 8
_FEW_NEW_ROWS = 16
"""New rows of a level whose UIDs a refresh reads one by one; more take one more page."""
# Changes of patients, studies and series that do not make their rows read
# again. Becoming stable changes only ``IsStable`` (not ``LastUpdate``,
# measured on 1.12.7), which the check pages give for every row; an attachment
# of theirs (the DICOMweb plugin writes one per series when it becomes stable)
# is in no column. After a bulk store, every row would be read again.
_CHANGES_NOT_READ_AGAIN = ("StablePatient", "StableStudy", "StableSeries", "UpdatedAttachment")
# The series check page has no ``Metadata`` (a third of its server time and
# half its bytes): a series' ``LastUpdate`` moves only when an instance is
# stored (the log names it, its row is read and its series read again) or
# deleted (the series' count moves, and it is listed again with its full
# row); labels and user metadata do not move it (Orthanc 1.12.7).
_CHECK_CONTENT = {
    "patient": ["Labels", "Metadata", "IsStable"],
    "study": ["Labels", "Metadata", "IsStable"],
    "series": ["Labels", "IsStable"],
}
_STATISTICS_COUNT = {"patient": "CountPatients", "study": "CountStudies", "series": "CountSeries"}
_LEVEL_OF_RESOURCE_TYPE = {
    "Patient": "patient",
    "Study": "study",
    "Series": "series",
    "Instance": "instance",
}


@dataclass
class ChangesLog:
    """Entries of ``/changes`` after a sequence number, and the last number they reach."""

    entries: list[dict[str, Any]]
    last: int

    def ids(self, level: str, *, ignore: Iterable[str] = ()) -> set[str]:
        """IDs of the resources of ``level`` that the entries name (``ignore``: change types)."""
        skipped = set(ignore)
        return {
            str(e["ID"])
            for e in self.entries
            if _LEVEL_OF_RESOURCE_TYPE.get(str(e.get("ResourceType"))) == level
            and e.get("ChangeType") not in skipped
        }


def read_changes(client: Any, since: int) -> ChangesLog | None:
    """The changes log after ``since`` (one request when short); None if it is too long.

    ``last`` is the server's last sequence number the answer covers; a
    later refresh starts from it.
    """
    found: list[dict[str, Any]] = []
    for _ in range(MAX_CHANGE_PAGES):
        answer = client.GET("/changes", params={"since": since, "limit": CHANGES_PAGE})
        entries = answer.get("Changes") or []
        found.extend(entries)
        last = int(answer.get("Last", since) or since)
        if answer.get("Done") or not entries or last <= since:
            return ChangesLog(found, max(last, since))
        since = last
    return None


def refresh_frames(frames: Frames) -> None:
    """Update ``frames`` in place so that it equals a fresh load with the same arguments."""
    client = frames.client
    if client is None:
        raise ValueError(
            "These frames have no server to refresh from: read them with "
            "Frames.read_parquet(path, client=c), or load them with c.frames()."
        )
    since = frames.last_change_seq if frames.last_change_seq is not None else 0
    held = set(frames.loaded_levels)
    # Independent requests (instance labels, check pages) overlap on a small pool.
    with executor(
        min(frames.spec.workers, _BACKGROUND_WORKERS), client, name="orthanc-frames-refresh"
    ) as pool:
        background = _Background(pool, client, "instance" in held)
        checkable = (
            frames.spec.anchor is None
            and client.capabilities.has_response_content
            and ("series" in held or "instance" not in held)
        )
        # The counts that page the check pages, asked while the log is read.
        counts = pool.submit(client.GET, "/statistics") if checkable else None
        log = read_changes(client, since)
        if not (
            counts is not None
            and log is not None
            and _refresh_checked(frames, log, background, counts.result() or {})
        ):
            _refresh_reading_upper_levels(frames, log, background)
    frames.last_change_seq = log.last if log is not None else _current_seq(client)
    frames.loaded_at = pd.Timestamp.now(tz="UTC").to_pydatetime()


def _current_seq(client: Any) -> int:
    from .container import current_change_seq

    return current_change_seq(client)


@dataclass
class _Background:
    """The refresh's pool for independent requests, and the instance labels (when asked for).

    The labels are asked once the instance step has its rows, so that the
    server answers them while this process builds the new rows, not while
    it answers the requests the refresh waits for (Orthanc's SQLite index
    serves one request at a time).
    """

    pool: Executor
    client: Any
    wanted: bool
    labels_now: Future[dict[str, list[str]]] | None = None

    def ask_labels(self) -> None:
        """Ask for the labels of the labelled instances, in the pool (once)."""
        if self.wanted and self.labels_now is None:
            self.labels_now = self.pool.submit(_labelled_instances, self.client)

    def labelled_instances(self) -> dict[str, list[str]]:
        """Labels of every labelled instance (asks for them if not done yet, and waits)."""
        self.ask_labels()
        return self.labels_now.result() if self.labels_now is not None else {}


# -- upper levels from check pages ----------------------------------------------


@dataclass
class _LevelUpdate:
    """One level brought up to date: the frame, its new problems, the IDs read or dropped.

    ``quiet``: rows read only because a deletion below moved them; their
    ancestors need not be read again (their own check rows show it).
    """

    frame: pd.DataFrame
    problems: list[Problem]
    read: set[str]
    dropped: set[str]
    quiet: set[str] = field(default_factory=set)


def _refresh_checked(
    frames: Frames, log: ChangesLog, background: _Background, statistics: dict[str, Any]
) -> bool:
    """Refresh through check pages (see the module notes); False to read the levels whole.

    ``statistics``: the server's ``/statistics`` (its counts page the check pages).
    """
    client, spec = frames.client, frames.spec
    held = frames.loaded_levels
    has_instances = "instance" in held
    levels = [level for level in UPPER_LEVELS if level in held]
    touched = _touched_by_log(frames, log)
    if touched is None:
        return False
    pending = {
        level: background.pool.submit(
            _check_frame,
            client,
            spec,
            level,
            statistics.get(_STATISTICS_COUNT[level]),
            held=frames._frames[level],
        )
        for level in levels
    }
    checks = {level: future.result() for level, future in pending.items()}
    updates: dict[str, _LevelUpdate] = {}
    instance_update: _InstanceUpdate | None = None
    if "series" in checks:
        # The series rows are read again while the instance step reads its rows.
        series_check = checks["series"]
        series_reading = background.pool.submit(
            _update_level,
            frames,
            "series",
            series_check,
            touched["series"],
            recounted=not has_instances and "last_update" not in series_check.columns,
        )
        if has_instances:
            instance_update = _refresh_instances(
                frames,
                pd.DataFrame(
                    {
                        "SeriesInstanceUID": series_check["_uid"],
                        "num_instances": series_check["num_instances"],
                    },
                    index=series_check.index,
                ),
                frames._frames["series"],
                log.entries,
                background,
                read_with_last_update=False,
            )
        updates["series"] = series_reading.result()
        if has_instances and instance_update is None:
            return False
    if instance_update is not None:
        for level in UPPER_LEVELS:
            touched[level] |= set(instance_update.fetched[level].dropna())
        _read_more(frames, "series", checks, updates, touched)
        first = updates["series"]
        first.frame = _with_listed_last_updates(
            first.frame, instance_update.listed_series, first.read
        )
    _touch_ancestors(updates, "series", touched)
    # Studies and patients at once: a study read again names a patient already
    # touched (through its series), else that patient is read in a second pass.
    upper_reading = {
        level: background.pool.submit(
            _update_level, frames, level, checks[level], set(touched[level])
        )
        for level in ("study", "patient")
        if level in checks
    }
    for level, future in upper_reading.items():
        updates[level] = future.result()
    _touch_ancestors(updates, "study", touched)
    _read_more(frames, "patient", checks, updates, touched)

    problems = frames.problems
    for level, update in updates.items():
        frames._set_frame(level, update.frame)
        problems = _replace_problems(problems, level, update.read | update.dropped, update.problems)
    if instance_update is not None:
        frames._set_frame("instance", instance_update.labelled(background))
        problems = _replace_problems(
            problems, "instance", instance_update.dropped, instance_update.problems
        )
        frames.last_refresh = {"instances": "incremental", **instance_update.stats}
    else:
        frames.last_refresh = {"instances": "not loaded"}
    frames.last_refresh["rows_read"] = {level: len(u.read) for level, u in updates.items()}
    frames._problems = problems
    return True


def _touch_ancestors(
    updates: dict[str, _LevelUpdate], level: str, touched: dict[str, set[str]]
) -> None:
    """Add to ``touched`` the ancestors of the rows of ``level`` read again (not the quiet ones)."""
    if level not in updates:
        return
    update = updates[level]
    loud = sorted(update.read - update.quiet)
    for link in LINKS[level]:
        touched[link] |= set(_values_of(update.frame, link, loud).dropna())


def _read_more(
    frames: Frames,
    level: str,
    checks: dict[str, pd.DataFrame],
    updates: dict[str, _LevelUpdate],
    touched: dict[str, set[str]],
) -> None:
    """Read again, in a second pass, the touched rows of ``level`` that the first did not read."""
    if level not in updates:
        return
    first = updates[level]
    more = touched[level] - first.read - first.dropped
    if not more:
        return
    again = _update_level(frames, level, checks[level], more, base=first.frame)
    updates[level] = _LevelUpdate(
        again.frame,
        [p for p in first.problems if p.id not in again.read] + again.problems,
        first.read | again.read,
        first.dropped | again.dropped,
        first.quiet - again.read,
    )


def _replace_problems(
    problems: pd.DataFrame, level: str, ids: set[str], new: list[Problem]
) -> pd.DataFrame:
    """``problems`` without those of ``ids`` at ``level``, with ``new`` added."""
    from .container import _concat_problems

    if ids and len(problems):
        stale = (problems["level"] == level) & problems["id"].isin(list(ids))
        if stale.any():
            problems = problems[~stale]
    if not new:
        return problems
    return _concat_problems([problems, problems_frame(new)])


def _touched_by_log(frames: Frames, log: ChangesLog) -> dict[str, set[str]] | None:
    """IDs per upper level whose full rows the log says to read; None if it cannot tell.

    An entry names a resource, and through the held frames its ancestors.
    An entry at a level the frames do not hold, below one they hold (a
    stored instance when only series are held), cannot be placed: None.
    """
    touched: dict[str, set[str]] = {level: set() for level in UPPER_LEVELS}
    held = frames.loaded_levels
    for level in (*UPPER_LEVELS, "instance"):
        named = log.ids(level, ignore=_CHANGES_NOT_READ_AGAIN if level in touched else ())
        if not named:
            continue
        if level in touched:
            touched[level] |= named
        held_above = [link for link in LINKS[level] if link in held]
        if not held_above:
            continue
        if level not in held:
            return None
        frame = frames._frames[level]
        known = sorted(_present(named, frame.index))
        if known:
            rows = frame.loc[known, held_above]
            for link in held_above:
                touched[link] |= set(rows[link].dropna())
    return touched


def _check_frame(
    client: Any,
    spec: Any,
    level: str,
    count: Any,
    content: list[str] | None = None,
    held: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Labels, stability, child count and UID of every row of ``level`` (and ``LastUpdate``).

    ``content``: the ``ResponseContent`` (default that of the level's check
    page); the frame has ``last_update`` only when it holds ``"Metadata"``.
    ``held``: the rows held of the level. Without extended find their UIDs
    are taken from it and not asked (on the PostgreSQL index the UID as a
    requested tag is a third to half of a check page's server time); those
    of a few new rows are read one by one (:data:`_FEW_NEW_ROWS`), of more
    by one more page.
    """
    content = list(_CHECK_CONTENT[level] if content is None else content)
    uid_tag = UID_OF_LEVEL[level]
    records: list[dict[str, Any]] = []
    uids: list[Any] = []
    query = spec.query_for(level)
    # Only without extended find: with it, the UIDs cost the SQLite index less
    # than reading new rows' one by one behind the other check pages (measured
    # at 20,000 instances: refresh / reload 0.054 reading them, 0.047 asking them).
    known_uids = (
        held is not None and uid_tag in held.columns and not client.capabilities.has_extended_find
    )
    requested = [CHILD_COUNT_TAG[level]] if known_uids else [uid_tag, CHILD_COUNT_TAG[level]]
    known = int(count) if count is not None else None
    pages: Iterable[list[dict[str, Any]]]
    if query or client.capabilities.has_extended_find:
        pages = iter_find_pages(
            client,
            level,
            query=query,
            response_content=content,
            requested_tags=requested,
            workers=spec.workers,
            count=known,
        )
    else:
        # Without extended find (Orthanc 1.12.5+ on the PostgreSQL index) the
        # list route answers the same rows, a third of the server time of
        # its expanded rows and never capped.
        pages = iter_list_pages(
            client,
            level,
            response_content=content,
            requested_tags=requested,
            workers=spec.workers,
            count=known,
        )
    for page in pages:
        for row in page:
            records.append(normalize_row(level, row, ()))
            uids.append((row.get("RequestedTags") or {}).get(uid_tag))
    index = pd.Index([r["ID"] for r in records], name=level, dtype=ORTHANC_FIELDS["patient"])
    columns = field_columns(level, records, index)
    if "Metadata" not in content:
        del columns["last_update"]
    columns["_uid"] = pd.Series(uids, index=index, dtype=object)
    if known_uids:
        assert held is not None
        columns["_uid"] = _uids_known_or_read(client, spec, level, index, held[uid_tag])
        if columns["_uid"] is None:  # many new rows: every row's UID, from the server
            return _check_frame(client, spec, level, count, content)
    return pd.DataFrame(columns, index=index, copy=False)


def _uids_known_or_read(
    client: Any, spec: Any, level: str, index: pd.Index, held_uids: pd.Series
) -> pd.Series | None:
    """The UID of each row of ``index``: as held, else read (a few); None for many new rows."""
    positions = held_uids.index.get_indexer(index)
    values = held_uids.to_numpy(dtype=object, na_value=None)
    uids = [values[p] if p >= 0 else None for p in positions]
    new = [str(index[k]) for k, p in enumerate(positions) if p < 0]
    if len(new) > _FEW_NEW_ROWS:
        return None
    if new:
        uid_tag, collection = UID_OF_LEVEL[level], Level.parse(level).route

        def uid_of(resource: str) -> Any:
            try:
                row = client.GET(route(collection, resource))
            except NotFound:  # deleted since the check page: dropped with its row
                return None
            return (row.get("MainDicomTags") or {}).get(uid_tag)

        read = dict(
            zip(new, in_order(uid_of, new, workers=spec.workers, client=client), strict=True)
        )
        uids = [
            read[str(i)] if p < 0 else u for i, p, u in zip(index, positions, uids, strict=True)
        ]
    return pd.Series(uids, index=index, dtype=object)


def _update_level(
    frames: Frames,
    level: str,
    check: pd.DataFrame,
    touched: set[str],
    *,
    base: pd.DataFrame | None = None,
    recounted: bool = False,
) -> _LevelUpdate:
    """``level`` with the check page's fields, gone rows dropped, and some rows read again.

    ``recounted``: rows whose child count moved are read again too (a
    deletion below moved their ``LastUpdate``, which the check page does not
    hold); their ancestors are not read again for it.
    """
    client, spec = frames.client, frames.spec
    held = frames._frames[level] if base is None else base
    extra = spec.tags.get(level, ())
    gone_mask = ~held.index.isin(check.index)
    dropped = set(held.index[gone_mask])
    asked = pd.Index(sorted(touched), dtype=check.index.dtype)
    to_read = set(check.index.difference(held.index))
    to_read |= set(asked[check.index.get_indexer(asked) >= 0])
    quiet = _moved(held, check) if recounted else set()
    if level in costly_tags(spec):
        to_read |= _moved(held, check)
    quiet -= to_read
    wanted = to_read | quiet
    uids = check["_uid"].reindex(sorted(wanted))
    much = len(wanted) > max(FULL_RELOAD_SHARE * len(check), UID_CHUNK)
    if much or uids.isna().any():
        return _read_whole_level(frames, level, held)
    records = [
        normalize_row(level, row, extra)
        for row in _rows_by_uid(client, spec, level, uids.astype(str).tolist(), len(wanted))
    ]
    records = [r for r in records if r["ID"] in wanted]
    if {r["ID"] for r in records} != wanted:  # a UID shared by other resources hid some rows
        return _read_whole_level(frames, level, held)
    problems: list[Problem] = []
    fresh = build_frame(level, records, extra, problems)
    keep = ~gone_mask & ~held.index.isin(fresh.index)
    kept = held[keep] if not keep.all() else held.copy(deep=False)
    positions = check.index.get_indexer(kept.index)
    for column in check.columns:  # Orthanc's fields of the level that the check page holds
        if column != "_uid":
            kept[column] = _take(check[column], positions, kept.index)
    frame = _concat_aligned(level, [kept, fresh], extra) if len(fresh) else kept
    return _LevelUpdate(frame, problems, set(fresh.index), dropped, quiet & set(fresh.index))


def _read_whole_level(frames: Frames, level: str, held: pd.DataFrame) -> _LevelUpdate:
    part = load_level(frames.client, level, frames.spec, None, progress=False, child_ids=False)
    return _LevelUpdate(part.frame, part.problems, set(part.frame.index), set(held.index))


def _moved(held: pd.DataFrame, check: pd.DataFrame) -> set[str]:
    """Held rows whose child count (or ``LastUpdate``, when the check has it) differs on the server."""
    both = held.index.intersection(check.index)
    moved = np.zeros(len(both), dtype=bool)
    for column in ("last_update", *(c for c in check.columns if c.startswith("num_"))):
        if column not in check.columns:
            continue
        before = held[column].reindex(both)
        now = check[column].reindex(both)
        moved |= (before != now).fillna(True).to_numpy(dtype=bool)
    return set(both[moved])


def _take(column: pd.Series, positions: np.ndarray, index: pd.Index) -> pd.Series:
    """``column``'s values at ``positions`` (all found) as a Series on ``index``."""
    return pd.Series(column.array.take(positions), index=index, name=column.name)


def _rows_by_uid(
    client: Any, spec: Any, level: str, uids: list[str], count: int
) -> list[dict[str, Any]]:
    """Full rows of ``level`` whose UID is one of ``uids`` (a DICOM list match per chunk)."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(uids), UID_CHUNK):
        chunk = uids[start : start + UID_CHUNK]
        query = {**spec.query_for(level), UID_OF_LEVEL[level]: chunk}
        rows.extend(
            fetch_rows(
                client, level, spec, query=query, progress=False, child_ids=False, count=len(chunk)
            )
        )
    return rows


# -- upper levels read whole ----------------------------------------------------


def _refresh_reading_upper_levels(
    frames: Frames, log: ChangesLog | None, background: _Background
) -> None:
    """Refresh reading patients, studies and series whole (with a filter, or a long log)."""
    from .container import _concat_problems

    client, spec = frames.client, frames.spec
    held = set(frames.loaded_levels)
    has_instances = "instance" in held
    incremental = has_instances and spec.anchor != "instance" and log is not None
    old_series = frames._frames.get("series")
    # The series rows count their instances: read them even when only instances are held.
    upper = [lv for lv in UPPER_LEVELS if lv in held]
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
        assert log is not None
        update = _refresh_instances(
            frames, loaded["series"].frame, old_series, log.entries, background
        )
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
            frames._set_frame("instance", update.labelled(background))
            if update.dropped:
                dropped = list(update.dropped)
                problems = [
                    p[~((p["level"] == "instance") & p["id"].isin(dropped))] for p in problems
                ]
            problems.append(problems_frame(update.problems))
    frames._problems = _concat_problems(problems)


@dataclass
class _InstanceUpdate:
    """The refreshed instance frame, its new problems, the IDs whose old rows went, counts.

    ``fetched`` holds the rows read from the server (their links say which
    series, studies and patients got new or changed instances);
    ``listed_series`` the series listed to find deletions (ID, children,
    ``last_update``).
    """

    frame: pd.DataFrame
    problems: list[Problem]
    dropped: set[str]
    fetched: pd.DataFrame
    listed_series: list[dict[str, Any]]
    stats: dict[str, int] = field(default_factory=dict)

    def labelled(self, background: _Background) -> pd.DataFrame:
        """The frame with the server's instance labels.

        Waits for them: called last, so that the server answers them while
        the other levels are brought up to date.
        """
        return _with_current_labels(background.labelled_instances(), self.frame, self.fetched.index)


def _refresh_instances(
    frames: Frames,
    series_frame: pd.DataFrame,
    old_series: pd.DataFrame | None,
    changes: list[dict[str, Any]],
    background: _Background,
    read_with_last_update: bool = True,
) -> _InstanceUpdate | None:
    """Bring the instance rows up to date; None when the level must be loaded again.

    ``read_with_last_update``: ``series_frame`` holds the server's
    ``LastUpdate`` of every series (False after a check page without it).
    """
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
    pool = background.pool
    rows_now = pool.submit(_instance_rows_of, client, spec, series_frame, to_read)

    # Other series changed only if their count did, or (for instances the log
    # names but no series read so far holds) if their LastUpdate moved.
    held_now = held_counts.reindex(series_frame.index).fillna(0).astype("int64")
    recount = set(series_frame.index[(server_counts != held_now).to_numpy(dtype=bool)])
    recount -= to_read
    listing_now = (
        pool.submit(_listed_series, client, spec, _uids(series_frame, recount)) if recount else None
    )
    records = [normalize_row("instance", row, extra) for row in rows_now.result()]
    fetched_ids = {r["ID"] for r in records}
    unplaced = logged_new - fetched_ids
    listed_series = listing_now.result() if listing_now is not None else []
    background.ask_labels()
    if unplaced:
        moved = _series_updated_since(client, spec, old_series, series_frame, read_with_last_update)
        if moved is None:
            return None
        more = moved - to_read - recount
        if more:
            listed_series.extend(_listed_series(client, spec, _uids(series_frame, more)))
            recount |= more
    parents = {str(child): r["ID"] for r in listed_series for child in r.get("_children") or ()}
    # Rows of ``old`` that the children listing still names (one lookup in its index).
    still_listed = np.zeros(len(old), dtype=bool)
    if recount:
        listed = pd.Index(list(parents), dtype=old.index.dtype)
        positions = old.index.get_indexer_for(listed)
        still_listed[positions[positions >= 0]] = True
        grown = {parents[i] for i in listed[positions < 0]}
        if grown:  # new instances in these series: read them whole too
            grown_rows = [
                normalize_row("instance", row, extra)
                for row in _instance_rows_of(client, spec, series_frame, grown)
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
        drop |= old_series_of.isin(list(recount)) & ~still_listed
    drop_mask = drop.to_numpy(dtype=bool)
    dropped = set(old.index[drop_mask])
    # The labels are set by the caller, last (see _InstanceUpdate.labelled).
    kept = old[~drop_mask] if drop_mask.any() else old.copy(deep=False)
    combined = _concat_aligned("instance", [kept, fresh], extra) if len(fresh) else kept
    stats = {
        "new": len(fetched_ids - _present(fetched_ids, old.index)),
        "deleted": len(dropped - fetched_ids),
        "updated": len(logged_known & fetched_ids),
        "series_read": len(to_read),
        "series_listed": len(recount),
    }
    return _InstanceUpdate(
        combined, problems, dropped, fresh[list(LINKS["instance"])], listed_series, stats
    )


def _present(ids: Iterable[str], index: pd.Index) -> set[str]:
    """Those of ``ids`` that are in ``index`` (its cached hash table; never iterated)."""
    values = pd.Index(list(ids), dtype=index.dtype)
    if not len(values):
        return set()
    return set(values[index.get_indexer_for(values) >= 0])


def _values_of(frame: pd.DataFrame, column: str, ids: Sequence[str]) -> pd.Series:
    """``frame[column]`` at the rows ``ids`` (all in ``frame``), without ``.loc``'s overhead."""
    positions = frame.index.get_indexer(pd.Index(list(ids), dtype=frame.index.dtype))
    return _take(frame[column], positions, frame.index[positions])


def _uids(series_frame: pd.DataFrame, series_ids: Iterable[str]) -> list[str]:
    """The ``SeriesInstanceUID`` of these series (all in ``series_frame``), sorted by ID."""
    ids = sorted(series_ids)
    if not ids:
        return []
    positions = series_frame.index.get_indexer(pd.Index(ids, dtype=series_frame.index.dtype))
    values = series_frame["SeriesInstanceUID"].to_numpy(dtype=object)[positions]
    return [v for v in values if isinstance(v, str)]


def _instance_rows_of(
    client: Any, spec: Any, series_frame: pd.DataFrame, series_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """Instance rows of these series (one paged find per chunk of UIDs, counts known)."""
    ids = sorted(series_ids)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), UID_CHUNK):
        chunk = series_frame.loc[ids[start : start + UID_CHUNK]]
        uids = chunk["SeriesInstanceUID"].dropna().astype(str).tolist()
        if not uids:
            continue
        expected = int(chunk["num_instances"].fillna(0).sum())
        query = {**spec.query_for("instance"), "SeriesInstanceUID": uids}
        rows.extend(
            fetch_rows(client, "instance", spec, query=query, progress=False, count=expected)
        )
    return rows


def _listed_series(client: Any, spec: Any, series_uids: list[str]) -> list[dict[str, Any]]:
    """ID, children's IDs and ``last_update`` of these series (records of ``normalize_row``).

    The children say which held instances are gone; ``LastUpdate`` moved
    with the deletion. Asked at series level: a UID list match there is far
    cheaper for the server than the same match at instance level.
    """
    records: list[dict[str, Any]] = []
    for start in range(0, len(series_uids), UID_CHUNK):
        chunk = series_uids[start : start + UID_CHUNK]
        query = {**spec.query_for("series"), "SeriesInstanceUID": chunk}
        for page in iter_find_pages(
            client,
            "series",
            query=query,
            response_content=["Children", "Metadata"],
            workers=spec.workers,
            count=len(chunk),
        ):
            records.extend(normalize_row("series", row, ()) for row in page)
    return records


def _with_listed_last_updates(
    frame: pd.DataFrame, listed: list[dict[str, Any]], skip: set[str]
) -> pd.DataFrame:
    """``frame`` with the ``last_update`` of the ``listed`` series (but those of ``skip``)."""
    records = [r for r in listed if r["ID"] not in skip]
    if not records:
        return frame
    index = pd.Index([r["ID"] for r in records], dtype=frame.index.dtype)
    found = frame.index.get_indexer(index) >= 0
    now = field_columns("series", records, index)["last_update"][found]
    _replace_values(frame, "last_update", now.index, now.array)
    return frame


def _series_updated_since(
    client: Any,
    spec: Any,
    old_series: pd.DataFrame | None,
    series_frame: pd.DataFrame,
    read_with_last_update: bool,
) -> set[str] | None:
    """Series whose ``LastUpdate`` moved (a store or a deletion); None if the frames cannot tell.

    Unless ``series_frame`` was just read with its ``LastUpdate``
    (``read_with_last_update``), the server's is read here: one check page
    with metadata.
    """
    if old_series is None or "last_update" not in old_series.columns:
        return None
    if read_with_last_update:
        now = series_frame["last_update"]
    else:
        check = _check_frame(client, spec, "series", len(series_frame), content=["Metadata"])
        now = check["last_update"].reindex(series_frame.index)
    before = old_series["last_update"].reindex(series_frame.index)
    moved = (before != now).fillna(True)
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


def _with_current_labels(
    labelled: dict[str, list[str]], frame: pd.DataFrame, fresh: pd.Index
) -> pd.DataFrame:
    """``frame`` with the server's instance labels (``labelled``), changed in place.

    Only rows labelled before or now are looked at; rows of ``fresh`` were
    just read with their labels.
    """
    if not len(frame):
        return frame
    had_labels = frame["labels"].list.len().fillna(0).to_numpy() > 0
    candidates = set(frame.index[had_labels]) | _present(labelled, frame.index)
    candidates -= _present(candidates, fresh)
    if not candidates:
        return frame
    ids = sorted(candidates)
    held = _values_of(frame, "labels", ids).tolist()
    now = [labelled.get(i, []) for i in ids]
    if [_sorted_labels(v) for v in held] == [sorted(v) for v in now]:
        return frame
    _replace_values(frame, "labels", pd.Index(ids, dtype=frame.index.dtype), now)
    return frame


def _chunks_of(values: pd.Series) -> pa.ChunkedArray:
    """The Arrow data of an Arrow-backed column (no copy)."""
    data = values.array.__arrow_array__()
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def _replace_values(frame: pd.DataFrame, column: str, ids: pd.Index, values: list[Any]) -> None:
    """Set ``column`` of the rows ``ids`` to ``values``, in place (one Arrow take)."""
    dtype = frame[column].dtype
    if not isinstance(dtype, pd.ArrowDtype):
        frame.loc[ids, column] = pd.Series(values, index=ids, dtype=dtype)
        return
    held = _chunks_of(frame[column])
    source = pa.chunked_array([*held.chunks, pa.array(values, dtype.pyarrow_dtype)], held.type)
    positions = np.arange(len(frame), dtype=np.int64)
    positions[frame.index.get_indexer(ids)] = np.arange(len(values)) + len(frame)
    frame[column] = pd.arrays.ArrowExtensionArray(source.take(pa.array(positions)))


def _sorted_labels(value: Any) -> list[str]:
    return sorted(value) if isinstance(value, Iterable) and not isinstance(value, str) else []


def _concat_aligned(
    level: str, parts: Iterable[pd.DataFrame], extra: Iterable[str]
) -> pd.DataFrame:
    """Rows of ``parts`` in one frame of ``level``: columns united, dtypes kept, canonical order.

    Parts with the same columns in the canonical order (the usual case) are
    concatenated as they are: one copy of the rows, no column selection.
    """
    parts = list(parts)
    columns: list[str] = []
    for part in parts:
        columns.extend(c for c in part.columns if c not in columns)
    ordered = order_columns(level, columns, list(extra))
    if all(list(part.columns) == ordered for part in parts):
        non_empty = [p for p in parts if len(p)] or parts[:1]
        out = pd.concat(non_empty) if len(non_empty) > 1 else non_empty[0].copy(deep=False)
        out.index.name = level
        return _with_few_chunks(out)
    dtypes: dict[str, Any] = {}
    for part in parts:
        for column in part.columns:
            dtypes.setdefault(column, part[column].dtype)
    aligned = []
    for part in parts:
        missing = [c for c in ordered if c not in part.columns]
        if missing:
            part = part.copy(deep=False)
            for column in missing:
                part[column] = pd.Series(
                    pd.NA, index=part.index, dtype=dtypes.get(column) or dtype_for_tag(column)
                )
        aligned.append(part[ordered])
    non_empty = [p for p in aligned if len(p)] or aligned[:1]
    out = pd.concat(non_empty) if len(non_empty) > 1 else non_empty[0].copy(deep=False)
    out.index.name = level
    return _with_few_chunks(out)


def _with_few_chunks(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with Arrow columns of more than :data:`_MAX_CHUNKS` chunks made one.

    Each refresh joins rows without copying them (one more chunk per
    column): without this, columns of frames refreshed many times would be
    split ever finer, and every operation on them slower.
    """
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.ArrowDtype):
            data = _chunks_of(frame[column])
            if data.num_chunks > _MAX_CHUNKS:
                combined = pa.chunked_array([data.combine_chunks()], data.type)
                frame[column] = pd.arrays.ArrowExtensionArray(combined)
    return frame
