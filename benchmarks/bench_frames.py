"""Benchmark of Frames: load vs the raw HTTP floor, vs a per-resource walk, refresh, memory.

Not a test: it prints ratios measured in one run and writes them as JSON.

    python benchmarks/bench_frames.py                 # ~20,000 instances, local Orthanc
    python benchmarks/bench_frames.py --small         # ~200 instances, seconds
    python benchmarks/bench_frames.py --url http://127.0.0.1:8042 --username u --password p
    python benchmarks/bench_frames.py --small --out figures.json

Without ``--url`` a throw-away Orthanc is started (``LocalOrthanc``) and
stopped at the end. With ``--url`` the synthetic corpus is UPLOADED to that
server and 1% of it is changed for the refresh figure: use a scratch
server. See ``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import requests

import orthanc_frames as of
from orthanc_frames.frames.load import _LINK_TAGS, _RESPONSE_CONTENT
from orthanc_frames.local_server import SERVER_KINDS, LocalOrthanc
from orthanc_frames.paging import parallel_page_size
from orthanc_frames.synthetic import write_cohort

LEVELS = ("patient", "study", "series", "instance")


class CountingTransport(httpx.BaseTransport):
    """Counts the requests a client makes (forwarding to the real transport)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def cohort_shape(instances: int) -> dict[str, int]:
    """Patients x 2 studies x 4 series x 50 slices, about ``instances`` in all."""
    per_series = 50 if instances >= 2000 else 10
    series = 4 if instances >= 2000 else 2
    patients = max(1, round(instances / (2 * series * per_series)))
    return {"patients": patients, "studies": 2, "series": series, "instances": per_series}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def upload(client: of.Orthanc, files: list[Path], workers: int) -> None:
    def store(path: Path) -> None:
        client.post_instances(data=path.read_bytes())

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(store, files))


def raw_floor(url: str, auth: tuple[str, str] | None, workers: int) -> tuple[float, int]:
    """The same data with plain ``requests``: same finds and pages, bodies not parsed."""
    session = requests.Session()
    session.auth = auth
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(workers, 4))
    session.mount("http://", adapter)
    calls = 0

    def page(body: dict[str, Any]) -> int:
        return len(session.post(f"{url}/tools/find", json=body).content)

    started = time.perf_counter()
    for level in LEVELS:
        base = {
            "Level": level.title(),
            "Query": {},
            "ResponseContent": _RESPONSE_CONTENT[level],
        }
        if _LINK_TAGS[level]:
            base["RequestedTags"] = list(_LINK_TAGS[level])
        count_body = {"Level": base["Level"], "Query": {}}
        total = session.post(f"{url}/tools/count-resources", json=count_body).json()["Count"]
        calls += 1
        size = parallel_page_size(total, workers)
        bodies = [{**base, "Since": s, "Limit": size} for s in range(0, max(total, 1), size)]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(page, bodies))
        calls += len(bodies)
    return time.perf_counter() - started, calls


def raw_floor_list_routes(
    url: str, auth: tuple[str, str] | None, workers: int
) -> tuple[float, int]:
    """The floor on a server without extended find (Orthanc < 1.12.5, PostgreSQL index).

    The fastest plain requests for the same rows, as measured on such
    servers (see README): the count, the instance listing in parallel pages
    (``GET /instances?expand&since=K&limit=N``, ``workers`` at a time) and,
    meanwhile on one more connection, one expanded listing per upper level;
    parents are joined from the upper levels, not asked per row. Bodies not
    parsed.
    """
    session = requests.Session()
    session.auth = auth
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=workers + 1))
    started = time.perf_counter()
    total = session.get(f"{url}/statistics").json()["CountInstances"]
    size = parallel_page_size(total, workers)
    starts = range(0, total + 1, size)

    def upper_levels() -> None:
        for route in ("patients", "studies", "series"):
            session.get(f"{url}/{route}?expand").content  # noqa: B018

    with ThreadPoolExecutor(1) as side, ThreadPoolExecutor(workers) as pool:
        upper = side.submit(upper_levels)
        list(
            pool.map(
                lambda k: session.get(f"{url}/instances?expand&since={k}&limit={size}").content,
                starts,
            )
        )
        upper.result()
    return time.perf_counter() - started, 4 + len(starts)


def per_resource_walk(client: of.Orthanc, every: int = 1) -> int:
    """What a naive client does: list each level, then one GET per resource.

    ``every`` > 1 walks only every ``every``-th patient (all of its
    studies, series and instances): a sample, to extrapolate from on large
    servers. Returns the resources visited.
    """
    seen = 0
    for patient in sorted(client.GET("/patients"))[::every]:
        client.GET(f"/patients/{patient}")
        seen += 1
        for study in client.GET(f"/patients/{patient}/studies"):
            seen += 1
            for series in client.GET(f"/studies/{study['ID']}/series"):
                seen += 1
                for instance in series["Instances"]:
                    client.GET(f"/instances/{instance}")
                    seen += 1
    return seen


def change_one_percent(client: of.Orthanc, extra_files: list[Path], workers: int) -> dict[str, int]:
    """A fresh ~1% change: ~0.5% new instances stored, ~0.5% deleted, a few labels changed.

    ``extra_files`` are new instances (a new patient, study and series);
    the deleted instances are the first ones by ID of those left. Two
    studies that do not carry the label get it, one that does loses it (so
    each round of a run changes labels, removals included), and five
    instances get it.
    """
    upload(client, extra_files, workers)
    instances = sorted(client.GET("/instances"))
    deleted = max(1, len(instances) // 200)
    for instance in instances[:deleted]:
        client.DELETE(f"/instances/{instance}")
    if not client.capabilities.has_labels:  # Orthanc before 1.12
        return {"uploaded": len(extra_files), "deleted": deleted, "labelled": 0, "unlabelled": 0}
    carrying = client.POST("/tools/find", json={"Level": "Study", "Query": {}, "Labels": ["bench"]})
    unlabelled = sorted(carrying)[:1]
    for study in unlabelled:
        client.DELETE(f"/studies/{study}/labels/bench")
    studies = sorted(set(client.GET("/studies")) - set(carrying))
    labelled = studies[:2]
    for study in labelled:
        client.PUT(f"/studies/{study}/labels/bench")
    for instance in instances[deleted : deleted + 5]:
        client.PUT(f"/instances/{instance}/labels/bench")
    return {
        "uploaded": len(extra_files),
        "deleted": deleted,
        "labelled": len(labelled) + 5,
        "unlabelled": len(unlabelled),
    }


def differences(a: of.Frames, b: of.Frames) -> list[str]:
    """Where two frames differ: ``level.column: N rows`` (rows missing on either side, too)."""
    found = []
    for level in LEVELS:
        x, y = a.frame(level).sort_index(), b.frame(level).sort_index()
        if not x.index.equals(y.index):
            only_x, only_y = x.index.difference(y.index), y.index.difference(x.index)
            found.append(f"{level}: {len(only_x)} rows only refreshed, {len(only_y)} only reloaded")
            both = x.index.intersection(y.index)
            x, y = x.loc[both], y.loc[both]
        if list(x.columns) != list(y.columns):
            found.append(f"{level}: columns {list(x.columns)} vs {list(y.columns)}")
            continue
        for column in x.columns:
            try:
                pd.testing.assert_series_equal(x[column], y[column])
            except AssertionError:
                unequal = (x[column].astype(str) != y[column].astype(str)).sum()
                found.append(f"{level}.{column}: {int(unequal)} rows")
    return found


def frames_equal(a: of.Frames, b: of.Frames) -> bool:
    return not differences(a, b)


class Phases(dict[str, float]):
    """Seconds per phase; each is reported on stderr as it ends (long runs show progress)."""

    def __setitem__(self, key: str, value: float) -> None:
        super().__setitem__(key, value)
        print(f"[bench] {key}: {value:.1f} s", file=sys.stderr, flush=True)


def median_of(runs: list[float]) -> float:
    return round(statistics.median(runs), 3)


def run(args: argparse.Namespace) -> dict[str, Any]:
    target = 200 if args.small else args.instances
    shape = cohort_shape(target)
    workdir = Path(tempfile.mkdtemp(prefix="bench-frames-"))
    phases = Phases()
    # Other work on the machine shows here (this script alone keeps about one core busy).
    load_average_at_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    cohort = write_cohort(workdir / "cohort", seed=11, **shape)
    change_shape = dict(shape, patients=1, studies=1, series=1)
    change_shape["instances"] = max(1, cohort.instances // 200)
    # One fresh change per refresh, and one for the snapshot: a new patient each.
    rounds = max(1, args.refreshes)
    extras = [
        list(write_cohort(workdir / f"extra{k}", seed=12 + k, **change_shape).files)
        for k in range(rounds + 1)
    ]
    phases["write_corpus"] = time.perf_counter() - started
    server: LocalOrthanc | None = None
    if args.url:
        url, auth = args.url, (args.username, args.password) if args.username else None
    else:
        # Nothing becomes stable during the run: a resource turning stable
        # between a refresh and the reload after it (60 s after its last
        # store, Orthanc's default) would be a real change between the two
        # reads, and the frames would differ in ``is_stable`` by right.
        server = LocalOrthanc(
            workdir / "orthanc", name="BENCH", kind=args.server, extra={"StableAge": 86_400}
        ).start()
        url, auth = server.url, server.auth
    try:
        client_kwargs: dict[str, Any] = {"timeout": 600}
        if auth:
            client_kwargs.update(username=auth[0], password=auth[1])
        with of.Orthanc(url, **client_kwargs) as client:
            upload_s, _ = timed(lambda: upload(client, list(cohort.files), args.workers))
            phases["upload"] = upload_s
            counter = CountingTransport()
            counting = of.Orthanc(url, transport=counter, **client_kwargs)
            extended = counting.capabilities.has_extended_find
            floor = raw_floor if extended else raw_floor_list_routes

            def load() -> of.Frames:
                return counting.frames(workers=args.workers, progress=False)

            # Load and floor alternate, the median of each is kept: on a shared
            # machine one run of either can be slowed by a neighbour.
            phase_started = time.perf_counter()
            load_runs, floor_runs = [], []
            for _ in range(max(1, args.repeat)):
                counter.count = 0
                load_s, frames = timed(load)
                load_runs.append(load_s)
                load_requests = counter.count
                floor_s, floor_requests = floor(url, auth, args.workers)
                floor_runs.append(floor_s)
            phases["load_and_floor"] = time.perf_counter() - phase_started
            load_s, floor_s = median_of(load_runs), median_of(floor_runs)
            loaded_counts = {
                "instances": len(frames.instances),
                "studies": len(frames.studies),
                "series": len(frames.series),
            }
            resources = sum(len(frames.frame(level)) for level in LEVELS)

            every = max(1, math.ceil(len(frames.instances) / args.walk_instances))
            walker = CountingTransport()
            walk_client = of.Orthanc(url, transport=walker, **client_kwargs)
            walk_sample_s, walked = timed(lambda: per_resource_walk(walk_client, every))
            phases["walk"] = walk_sample_s
            scale = resources / max(walked, 1)
            walk_s = walk_sample_s * scale if every > 1 else walk_sample_s

            # Refresh: each after a fresh 1% change, against a reload in the same state.
            phase_started = time.perf_counter()
            refresh_runs, reload_runs, refresh_requests, unequal = [], [], [], []
            for files in extras[:rounds]:
                change = change_one_percent(client, files, args.workers)
                counter.count = 0
                refresh_s, _ = timed(frames.refresh)
                refresh_runs.append(refresh_s)
                refresh_requests.append(counter.count)
                reload_s, fresh = timed(load)
                reload_runs.append(reload_s)
                unequal.extend(differences(frames, fresh))
                print(
                    f"[bench] refresh {refresh_s:.3f} s, reload {reload_s:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
            phases["refreshes"] = time.perf_counter() - phase_started

            # A snapshot written now, re-opened after a fresh change and refreshed,
            # against a cold load in the same state.
            phase_started = time.perf_counter()
            snapshot = workdir / "snapshot"
            frames.to_parquet(snapshot)
            change_one_percent(client, extras[rounds], args.workers)
            counter.count = 0

            def reopen() -> of.Frames:
                return of.Frames.read_parquet(snapshot, client=counting).refresh()

            reopen_s, reopened = timed(reopen)
            reopen_requests = counter.count
            cold_s, cold = timed(load)
            phases["snapshot"] = time.perf_counter() - phase_started

            instances = cold.instances
            typed_bytes = int(instances.memory_usage(deep=True).sum())
            object_bytes = int(instances.astype(object).memory_usage(deep=True).sum())
            rows = max(len(instances), 1)
            refresh_s, reload_s = median_of(refresh_runs), median_of(reload_runs)
            figures = {
                "server_version": client.capabilities.version,
                **loaded_counts,
                "workers": args.workers,
                "repeat": max(1, args.repeat),
                "upload_seconds": round(upload_s, 3),
                "load_seconds": load_s,
                "load_runs": [round(x, 3) for x in load_runs],
                "load_requests": load_requests,
                "raw_floor_seconds": floor_s,
                "raw_floor_runs": [round(x, 3) for x in floor_runs],
                "raw_floor_requests": floor_requests,
                "walk_seconds": round(walk_s, 3),
                "walk_sampled": every > 1,
                "walk_every_nth_patient": every,
                "walk_sample_seconds": round(walk_sample_s, 3),
                "walk_resources": walked,
                "walk_requests": walker.count,
                "walk_requests_extrapolated": round(walker.count * scale),
                "change": change,
                "refreshes": rounds,
                "refresh_seconds": refresh_s,
                "refresh_runs": [round(x, 3) for x in refresh_runs],
                "refresh_requests": refresh_requests,
                "refresh_mode": frames.last_refresh.get("instances"),
                "reload_seconds": reload_s,
                "reload_runs": [round(x, 3) for x in reload_runs],
                "refresh_equals_reload": not unequal,
                "refresh_differences": unequal,
                "snapshot_refresh_seconds": round(reopen_s, 3),
                "snapshot_refresh_requests": reopen_requests,
                "snapshot_refresh_mode": reopened.last_refresh.get("instances"),
                "cold_load_seconds": round(cold_s, 3),
                "snapshot_equals_cold_load": frames_equal(reopened, cold),
                "bytes_per_row": round(typed_bytes / rows, 1),
                "bytes_per_row_object": round(object_bytes / rows, 1),
                "ratio_load_vs_raw_floor": round(load_s / floor_s, 2),
                "ratio_walk_vs_load": round(walk_s / load_s, 1),
                "ratio_refresh_vs_reload": round(refresh_s / reload_s, 3),
                "ratio_snapshot_refresh_vs_cold_load": round(reopen_s / cold_s, 3),
                "ratio_memory_object_vs_typed": round(object_bytes / max(typed_bytes, 1), 2),
                "phase_seconds": {k: round(v, 1) for k, v in phases.items()},
                "load_average_at_start": load_average_at_start,
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            }
            counting.close()
            walk_client.close()
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use this Orthanc instead of starting one (it is written to)")
    parser.add_argument("--username", default=os.environ.get("ORTHANC_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("ORTHANC_PASSWORD"))
    parser.add_argument(
        "--server",
        choices=SERVER_KINDS,
        default="sqlite",
        help="kind of the throw-away server (without --url): sqlite, postgres or 1.10",
    )
    parser.add_argument("--instances", type=int, default=20_000, help="corpus size (default 20000)")
    parser.add_argument("--small", action="store_true", help="~200 instances, for a quick run")
    parser.add_argument("--workers", type=int, default=4, help="parallel pages and uploads")
    parser.add_argument(
        "--repeat", type=int, default=3, help="load and floor runs, medians kept (default 3)"
    )
    parser.add_argument(
        "--refreshes",
        type=int,
        default=3,
        help="refreshes, each after a fresh 1%% change, medians kept (default 3)",
    )
    parser.add_argument(
        "--walk-instances",
        type=int,
        default=20_000,
        help="walk every n-th patient so that about this many instances are walked, and "
        "extrapolate (default 20000: the whole corpus up to that size)",
    )
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and server folder")
    args = parser.parse_args(argv)
    figures = run(args)
    for key, value in figures.items():
        print(f"{key:32} {value}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
