"""The ``orthanc-frames`` command, run as a subprocess the way a person runs it."""

from __future__ import annotations

import datetime
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import PASSWORD, USERNAME, load_into

from orthanc_frames import Orthanc
from orthanc_frames.demo import DEMO_LABEL
from orthanc_frames.local_server import LocalOrthanc
from orthanc_frames.synthetic import CohortSummary

COMMAND = Path(sys.executable).with_name("orthanc-frames")


def of_client(env: dict[str, str]) -> Orthanc:
    return Orthanc(
        env["ORTHANC_URL"], username=env["ORTHANC_USERNAME"], password=env["ORTHANC_PASSWORD"]
    )


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    if not COMMAND.exists():
        pytest.fail(f"{COMMAND} is missing: install the package with `pip install -e .`")
    return subprocess.run(
        [str(COMMAND), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )


def clean_env(orthanc_bin: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORTHANC_")}
    env["ORTHANC_BIN"] = orthanc_bin
    env.update(extra)
    return env


def server_env(server: LocalOrthanc, orthanc_bin: str, password: str = PASSWORD) -> dict[str, str]:
    return clean_env(
        orthanc_bin, ORTHANC_URL=server.url, ORTHANC_USERNAME=USERNAME, ORTHANC_PASSWORD=password
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# -- demo ---------------------------------------------------------------------------


def test_demo_starts_a_local_server_and_runs_the_main_job(orthanc_bin: str) -> None:
    result = run("demo", env=clean_env(orthanc_bin))

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "5 patients, 10 studies, 20 series, 80 instances" in out
    assert "series per modality:  CT 10, MR 10" in out
    assert "study dates:          2019-01-15 to 2022-06-01" in out
    assert "PatientBirthDate" in out  # the value that does not parse is reported
    selected = int(re.search(r"StudyDate >= @since.* with since = [\d-]+: (\d+) series", out)[1])
    assert selected > 0
    result_rows = re.findall(r"^[0-9a-f]{8}(?:-[0-9a-f]{8}){4}\s+ok\s+<NA>$", out, re.MULTILINE)
    assert len(result_rows) == selected
    assert f"-> {selected} series in" in out  # found again by the server's label filter
    assert "Next:" in out


def test_demo_on_a_server_from_orthanc_url_leaves_no_label(
    empty_server: LocalOrthanc, cohort_dir: CohortSummary, orthanc_bin: str
) -> None:
    load_into(empty_server, cohort_dir.outdir)

    result = run("demo", env=server_env(empty_server, orthanc_bin))

    assert result.returncode == 0, result.stderr
    assert f"demo on the Orthanc at {empty_server.url} (from ORTHANC_URL)" in result.stdout
    assert "ok" in result.stdout
    assert f"Removed the label {DEMO_LABEL!r} again" in result.stdout
    with empty_server.http() as http:
        assert http.get("/tools/labels").json() == []


def test_demo_on_an_empty_server_says_what_to_do(
    empty_server: LocalOrthanc, orthanc_bin: str
) -> None:
    result = run("demo", env=server_env(empty_server, orthanc_bin))

    assert result.returncode == 0, result.stderr
    assert "The server holds no study yet. Unset ORTHANC_URL" in result.stdout


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("started_as", ["foreground", "background job"])
def test_demo_keep_running_serves_until_interrupted(orthanc_bin: str, started_as: str) -> None:
    # A shell starts a background job (`... &`) with SIGINT ignored.
    if not COMMAND.exists():
        pytest.fail(f"{COMMAND} is missing: install the package with `pip install -e .`")
    process = subprocess.Popen(
        [str(COMMAND), "demo", "--keep-running"],
        env=clean_env(orthanc_bin),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=_ignore_sigint if started_as == "background job" else None,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # bounded by the demo's own output, then the prompt
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        source_line = next(line for line in lines if line.strip().startswith("source "))
        env_file = Path(source_line.split()[1])
        env = dict(
            re.match(r"export (\w+)=(\S+)", line).groups()  # type: ignore[union-attr]
            for line in env_file.read_text().splitlines()
        )
        assert env["ORTHANC_PASSWORD"] not in "".join(lines)
        with of_client(env) as client:
            assert client.num_instances == 80
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert "stopping the demo server" in process.stdout.read()
        assert not env_file.exists()  # the demo's temporary folder is gone with the server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_without_orthanc_fails_in_one_line(tmp_path: Path) -> None:
    env = clean_env(str(tmp_path / "no-orthanc-here"))

    result = run("demo", env=env)

    assert_one_line_error(result, "orthanc-frames demo: error:", "ORTHANC_BIN=")


# -- export -------------------------------------------------------------------------


def test_export_parquet_keeps_types_and_the_server_side_filter(
    cohort_server: LocalOrthanc, cohort_dir: CohortSummary, orthanc_bin: str, tmp_path: Path
) -> None:
    ct_series = {uid for uid, modality in cohort_dir.modalities.items() if modality == "CT"}

    result = run(
        "export", "--level", "series", "--query", "Modality=CT", "--flat", "--out", "ct.parquet",
        env=server_env(cohort_server, orthanc_bin),
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert f"wrote {len(ct_series)} series rows" in result.stdout
    frame = pd.read_parquet(tmp_path / "ct.parquet")
    assert frame.index.name == "series"
    assert set(frame["SeriesInstanceUID"]) == ct_series
    assert set(frame["Modality"]) == {"CT"}
    assert {"PatientName", "StudyDate", "study", "patient"} <= set(frame.columns)  # --flat
    assert all(isinstance(value, datetime.date) for value in frame["StudyDate"])
    assert list(frame["labels"].iloc[0]) == []


def test_export_csv_with_an_extra_tag_and_credentials_on_the_command_line(
    cohort_server: LocalOrthanc, cohort_dir: CohortSummary, orthanc_bin: str, tmp_path: Path
) -> None:
    out = tmp_path / "studies.csv"

    result = run(
        "export", "--level", "study", "--tag", "InstitutionName", "--out", str(out),
        "--url", cohort_server.url, "--username", USERNAME, "--password", PASSWORD,
        env=clean_env(orthanc_bin),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out, index_col="study")
    assert len(frame) == cohort_dir.studies
    assert set(frame["StudyInstanceUID"]) == set(cohort_dir.study_uids)
    assert frame["InstitutionName"].notna().all()
    assert PASSWORD not in result.stdout + result.stderr


def test_export_of_a_tag_outside_the_index_notes_its_cost_in_one_line(
    cohort_server: LocalOrthanc, cohort_dir: CohortSummary, orthanc_bin: str, tmp_path: Path
) -> None:
    result = run(
        "export", "--tag", "SliceThickness", "--out", "series.parquet",
        env=server_env(cohort_server, orthanc_bin), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("orthanc-frames export: note: ")
    assert "SliceThickness" in notes[0]
    frame = pd.read_parquet(tmp_path / "series.parquet")
    assert len(frame) == cohort_dir.series
    thick = frame.set_index("SeriesInstanceUID").loc[cohort_dir.invalid_slice_thickness_series_uid]
    assert pd.isna(thick["SliceThickness"])  # "thick" does not parse: missing, not dropped
    assert set(frame["SliceThickness"].dropna()) <= {1.0, 2.5, 5.0}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--query", "Modalty=CT"], ["'Modalty' is not a DICOM keyword"]),
        (["--query", "Modality"], ["is not KEY=VALUE"]),
        (["--tag", "NoSuchKeyword"], ["--tag NoSuchKeyword", "not a DICOM keyword"]),
        (["--query", "SliceThickness=1"], ["only by main DICOM tags"]),
        (["--out", "frame.txt"], [".parquet, .pq or .csv"]),
        (["--out", "missing-folder/x.csv"], ["does not exist"]),
        (["--level", "galaxy"], ["invalid choice: 'galaxy'"]),
    ],
)
def test_export_rejects_bad_arguments_in_one_line(
    cohort_server: LocalOrthanc,
    orthanc_bin: str,
    tmp_path: Path,
    args: list[str],
    fragments: list[str],
) -> None:
    if "--out" not in args:
        args = [*args, "--out", "frame.csv"]

    result = run("export", *args, env=server_env(cohort_server, orthanc_bin), cwd=tmp_path)

    assert_one_line_error(result, *fragments)
    assert not list(tmp_path.iterdir())


def test_export_to_an_unreachable_server_fails_in_one_line(
    orthanc_bin: str, tmp_path: Path
) -> None:
    env = clean_env(orthanc_bin, ORTHANC_URL="http://127.0.0.1:9")

    result = run("export", "--out", "x.csv", env=env, cwd=tmp_path)

    assert_one_line_error(result, "cannot reach the server", "127.0.0.1:9")


def test_export_without_a_server_fails_in_one_line(orthanc_bin: str, tmp_path: Path) -> None:
    result = run("export", "--out", "x.csv", env=clean_env(orthanc_bin), cwd=tmp_path)

    assert_one_line_error(result, "no server: pass --url or set ORTHANC_URL")


def test_export_with_a_wrong_password_never_echoes_it(
    cohort_server: LocalOrthanc, orthanc_bin: str, tmp_path: Path
) -> None:
    wrong = "not-the-Password-42"

    result = run(
        "export", "--out", "x.csv", "--password", wrong,
        env=server_env(cohort_server, orthanc_bin), cwd=tmp_path,
    )  # fmt: skip

    assert_one_line_error(result, "refused the credentials")
    assert wrong not in result.stdout + result.stderr


# -- help ---------------------------------------------------------------------------


def test_help_explains_each_command() -> None:
    top = run("--help")
    demo = run("demo", "--help")
    export = run("export", "--help")

    assert top.returncode == demo.returncode == export.returncode == 0
    assert "demo" in top.stdout and "export" in top.stdout and "ORTHANC_URL" in top.stdout
    assert "--keep-running" in demo.stdout and "synthetic cohort" in demo.stdout
    for option in ("--level", "--query", "--label", "--tag", "--flat", "--out", "--url"):
        assert option in export.stdout
    assert "--ask-password" in export.stdout


def test_a_missing_command_fails_in_one_line() -> None:
    assert_one_line_error(run(), "orthanc-frames: error:")
