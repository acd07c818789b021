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
    "reload_seconds",
    "refresh_equals_reload",
    "bytes_per_row",
    "bytes_per_row_object",
    "ratio_load_vs_raw_floor",
    "ratio_walk_vs_load",
    "ratio_refresh_vs_reload",
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
    # requests grow with pages: the load needs a handful, the walk one per resource
    assert figures["load_requests"] < 20 < figures["walk_requests"]
    assert "ratio_load_vs_raw_floor" in done.stdout
