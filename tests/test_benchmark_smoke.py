"""The benchmark script runs end to end on a small corpus (figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import installed_binary

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {
    "instances",
    "load_seconds",
    "load_requests",
    "raw_floor_seconds",
    "walk_seconds",
    "walk_requests",
    "refresh_seconds",
    "refresh_runs",
    "reload_seconds",
    "reload_runs",
    "refresh_equals_reload",
    "snapshot_refresh_seconds",
    "cold_load_seconds",
    "snapshot_equals_cold_load",
    "bytes_per_row",
    "bytes_per_row_object",
    "ratio_load_vs_raw_floor",
    "ratio_walk_vs_load",
    "ratio_refresh_vs_reload",
    "ratio_snapshot_refresh_vs_cold_load",
    "ratio_memory_object_vs_typed",
}


@pytest.mark.parametrize("server", ["sqlite", "1.10"])
def test_benchmark_small_run_writes_its_figures(
    orthanc_bin: str, tmp_path: Any, server: str
) -> None:
    # 1.10: the floor of servers without extended find (list routes) runs too.
    installed_binary(server)
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_frames.py"),
            "--small",
            "--server",
            server,
            "--walk-instances",
            "100",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert set(figures) >= FIELDS
    assert figures["instances"] == 200
    assert figures["refresh_equals_reload"] is True
    assert figures["refresh_mode"] == "incremental"
    # each refresh followed its own fresh change, and so did the re-opened snapshot's
    assert len(figures["refresh_runs"]) == len(figures["reload_runs"]) == 3
    assert figures["change"]["uploaded"] >= 1 and figures["change"]["deleted"] >= 1
    # a later round took a label off (labels need Orthanc 1.12)
    assert figures["change"]["unlabelled"] == (0 if server == "1.10" else 1)
    assert figures["snapshot_equals_cold_load"] is True
    assert figures["snapshot_refresh_mode"] == "incremental"
    # the walk covered every second patient and was scaled to the whole corpus
    assert figures["walk_sampled"] is True and figures["walk_every_nth_patient"] == 2
    assert figures["walk_requests_extrapolated"] > figures["walk_requests"]
    # requests grow with pages: the load needs a handful, the walk one per resource
    assert figures["load_requests"] < 20 < figures["walk_requests"]
    assert "ratio_load_vs_raw_floor" in done.stdout
