"""The ``orthanc-frames`` command: a guided demo, and frames exported to Parquet or CSV.

::

    orthanc-frames demo                       # local Orthanc + synthetic cohort (or ORTHANC_URL)
    orthanc-frames export --level series --query Modality=CT --out ct.parquet

Both read the server's settings from ``ORTHANC_URL``, ``ORTHANC_USERNAME``,
``ORTHANC_PASSWORD``, ``ORTHANC_TOKEN`` and ``ORTHANC_VERIFY`` (``export``
also takes ``--url``, ``--username`` and ``--password``/``--ask-password``).
A password is never printed. Bad arguments and servers that cannot be
reached end the command with exit code 2 and one line on stderr.

This module only composes the layers below it (frames, demo server).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import getpass
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from ._version import __version__
from .client import ConnectionError, HTTPError, Orthanc, OrthancError, Unauthorized
from .demo import DEMO_LABEL, DemoConnection, DemoError, demo_connection, write_env_file
from .dicom_tags import tag_info
from .frames.parquet import write_frame_parquet
from .levels import LEVEL_NAMES, Level, level_name

__all__ = ["main"]

PROG = "orthanc-frames"
LEVEL_CHOICES = LEVEL_NAMES
EXPORT_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
_SHOWN_COLUMNS = ("PatientName", "StudyDate", "Modality", "SeriesDescription", "num_instances")
_PANDAS_DISPLAY = ("display.width", 120, "display.max_columns", 12, "display.max_colwidth", 28)


def _level_argument(text: str) -> str:
    """A level as typed (``series``, ``Series``, ``studies``); argparse's choices refuse others."""
    try:
        return level_name(text, "--level")
    except ValueError:
        return text


class UsageError(Exception):
    """A command line that cannot be run as given (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with one-line errors: ``orthanc-frames export: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


# -- arguments -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``orthanc-frames`` command (``--help`` explains each part).

    Returns
    -------
    argparse.ArgumentParser
        With the sub-commands ``demo`` and ``export``.
    """
    parser = _Parser(
        prog=PROG,
        description="An Orthanc DICOM server as four linked pandas DataFrames "
        "(patients, studies, series, instances).",
        epilog="Server settings come from ORTHANC_URL, ORTHANC_USERNAME, ORTHANC_PASSWORD, "
        "ORTHANC_TOKEN and ORTHANC_VERIFY=false (TLS without verification). "
        f"Run `{PROG} COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="start a local Orthanc with a synthetic cohort (or use ORTHANC_URL) and show "
        "the main job: frames, a summary, a cohort filter, a labelled action",
        description="Without ORTHANC_URL: write a synthetic cohort (5 patients, 10 studies, "
        "20 CT/MR series, 80 images), start a throw-away Orthanc on loopback ports, load it. "
        "With ORTHANC_URL: use that server (the demo label is removed again afterwards). "
        "Then load the four frames, print a summary (counts per level, modalities, date "
        f"range), select the CT series of recent studies, label them {DEMO_LABEL!r} on the "
        "server and print the per-row result, and say where to go next.",
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="keep the local demo server running after the demo (Ctrl-C stops it) and write "
        "its settings to an env file to `source` in another shell, e.g. for the notebooks",
    )
    demo.add_argument(
        "--progress", action="store_true", help="show progress bars (default: off in the demo)"
    )

    export = commands.add_parser(
        "export",
        help="load frames (filtered on the server) and write one level to Parquet or CSV",
        description="Load the frames of an Orthanc server, filtered on the server by --query "
        "and --label, and write the frame of --level to --out (.parquet or .csv, by suffix). "
        "Parquet keeps the types (dates, numbers, lists); read it back with pandas, DuckDB "
        "or Polars.",
        epilog="Example: orthanc-frames export --level series --query Modality=CT "
        "--query StudyDate=20200101-20201231 --flat --out ct-2020.parquet",
    )
    export.add_argument(
        "--level",
        choices=LEVEL_CHOICES,
        type=_level_argument,
        default="series",
        help="the frame to write: one row per resource of this level (default: series)",
    )
    export.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a server-side filter on a main DICOM tag, Orthanc's pattern syntax "
        "(wildcards * ?, date ranges 20200101-20201231); repeat for more (all must match)",
    )
    export.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="LABEL",
        help="keep studies with this label (repeatable; see --labels-constraint)",
    )
    export.add_argument(
        "--labels-constraint",
        choices=("All", "Any", "None"),
        default="All",
        help="how several --label combine (default: All)",
    )
    export.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEYWORD",
        help="an extra DICOM tag to read at --level, beyond Orthanc's main tags, by keyword "
        "or gggg,eeee (repeatable; costs a file read per resource on the server)",
    )
    export.add_argument(
        "--flat",
        action="store_true",
        help="add the columns of the parent levels (a study's patient, a series' study and patient)",
    )
    export.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="PATH",
        help="the file to write: NAME.parquet (or .pq), which keeps types and lists, or "
        "NAME.csv, where multi-valued tags and labels are joined by a backslash as in DICOM",
    )
    server = export.add_argument_group(
        "server", "default: the ORTHANC_* environment variables; a password is never printed"
    )
    server.add_argument("--url", help="the Orthanc REST root, e.g. https://pacs.example.org:8042")
    server.add_argument("--username", help="HTTP basic user")
    secret = server.add_mutually_exclusive_group()
    secret.add_argument(
        "--password",
        help="HTTP basic password (visible to other users of this machine in the process list: "
        "prefer ORTHANC_PASSWORD or --ask-password)",
    )
    secret.add_argument(
        "--ask-password", action="store_true", help="ask for the password on the terminal"
    )
    return parser


def parse_query(pairs: Sequence[str]) -> dict[str, str]:
    """Turn ``KEY=VALUE`` strings into a query mapping; keys must be DICOM keywords or tags.

    Parameters
    ----------
    pairs : sequence of str
        E.g. ``["Modality=CT", "StudyDate=20200101-20201231"]``.

    Returns
    -------
    dict of str to str
        Keyword to Orthanc pattern.

    Raises
    ------
    UsageError
        On a pair without ``=``, an empty key or an unknown keyword.
    """
    query: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--query {pair!r} is not KEY=VALUE (e.g. --query Modality=CT)")
        query[_known_tag(key, f"--query {pair}")] = value
    return query


def _known_tag(name: str, where: str) -> str:
    try:
        tag_info(name)
    except (KeyError, ValueError) as error:
        reason = error.args[0] if error.args else str(error)
        raise UsageError(f"{where}: {reason}") from None
    return name


# -- shared output helpers ---------------------------------------------------------


def _say(text: str = "") -> None:
    print(text, flush=True)


def _table(frame: pd.DataFrame, columns: Sequence[str] = _SHOWN_COLUMNS, rows: int = 12) -> str:
    shown = [column for column in columns if column in frame.columns]
    with pd.option_context(*_PANDAS_DISPLAY):
        return frame[shown].head(rows).to_string()


# -- demo --------------------------------------------------------------------------


def run_demo(keep_running: bool = False, progress: bool = False) -> int:
    """The ``demo`` command (see ``orthanc-frames demo --help``).

    Parameters
    ----------
    keep_running : bool
        Keep a local demo server running until Ctrl-C.
    progress : bool
        Show progress bars.

    Returns
    -------
    int
        Exit code.
    """
    with demo_connection() as connection:
        client = connection.client
        capabilities = client.capabilities
        _say(f"orthanc-frames {__version__}: demo on {connection.description}")
        plugins = ", ".join(sorted(capabilities.plugins)) or "none"
        _say(
            f"Orthanc {capabilities.version}, REST API {capabilities.api_version}; plugins: {plugins}"
        )
        frames = _load_frames(client, progress)
        if frames.studies.empty:
            _say(
                f"\nThe server holds no study yet. Unset ORTHANC_URL to run the demo on a local "
                f"server with a synthetic cohort, or upload DICOM files to {client.url}."
            )
            return 0
        _print_summary(frames)
        selection, expression = _demo_selection(frames)
        _say(f"\nA cohort is a pandas expression: {expression}")
        _say(_table(selection))
        _label_selection(connection, selection)
        _print_next_steps(connection)
        if keep_running:
            _keep_running(connection)
    return 0


def _load_frames(client: Orthanc, progress: bool) -> Any:
    from .frames import Frames

    started = time.perf_counter()
    frames = Frames.load(client, progress=progress)
    _say(
        f"\nf = c.frames(): {len(frames.patients)} patients, {len(frames.studies)} studies, "
        f"{len(frames.series)} series, {len(frames.instances)} instances "
        f"in {time.perf_counter() - started:.2f} s"
    )
    return frames


def _print_summary(frames: Any) -> None:
    modalities = frames.series["Modality"].value_counts()
    by_modality = ", ".join(f"{name} {count}" for name, count in modalities.items())
    _say(f"  series per modality:  {by_modality or 'none'}")
    dates = frames.studies["StudyDate"].dropna()
    if not dates.empty:
        _say(f"  study dates:          {dates.min()} to {dates.max()}")
    problems = getattr(frames, "problems", None)
    if problems is not None and len(problems):
        columns = ", ".join(sorted(set(problems["column"])))
        _say(f"  values that did not parse ({columns}): {len(problems)}, listed in f.problems")


def _demo_selection(frames: Any) -> tuple[pd.DataFrame, str]:
    series = frames.flat("series")
    counts = series["Modality"].value_counts()
    modality = "CT" if "CT" in counts.index else str(counts.index[0])
    dates = sorted(set(series["StudyDate"].dropna()))
    since: datetime.date = dates[len(dates) // 2] if dates else datetime.date.min
    selection = series[(series["Modality"] == modality) & (series["StudyDate"] >= since)]
    expression = (
        f"f.flat('series').query(\"Modality == '{modality}' and StudyDate >= @since\") "
        f"with since = {since}: {len(selection)} series"
    )
    return selection, expression


def _label_selection(connection: DemoConnection, selection: pd.DataFrame) -> None:
    client = connection.client
    if not client.capabilities.has_labels:
        _say(
            f"\nOrthanc {client.capabilities.version} has no labels (they came with 1.12.0): "
            "the labelled action is skipped."
        )
        return
    _say(f"\nAct on it: selection.orthanc.add_label({DEMO_LABEL!r}) -> one row per series")
    result = selection.orthanc.add_label(DEMO_LABEL)
    _say(_table(result, ("status", "error")))
    from .frames import Frames

    labelled = Frames.load(
        client, labels=[DEMO_LABEL], labels_level="series", levels=("patient", "study", "series")
    )
    _say(
        f"The server finds them again: c.frames(labels=[{DEMO_LABEL!r}], labels_level='series') "
        f"-> {len(labelled.series)} series in {len(labelled.studies)} studies of "
        f"{len(labelled.patients)} patients"
    )
    if not connection.is_local:
        selection.orthanc.remove_label(DEMO_LABEL)
        _say(f"Removed the label {DEMO_LABEL!r} again: your server is as it was.")


def _print_next_steps(connection: DemoConnection) -> None:
    _say("\nNext:")
    _say("  - in Python:  import orthanc_frames as of; f = of.Orthanc.from_env().frames()")
    _say("  - notebooks/01-quickstart.ipynb ... 05-from-folder.ipynb walk through the rest")
    _say(f"  - {PROG} export --level series --query Modality=CT --out ct.parquet")
    if connection.is_local:
        _say(f"  - {PROG} demo --keep-running keeps this server up for the notebooks")


def _keep_running(connection: DemoConnection) -> None:
    server = connection.server
    if server is None:
        _say("\n--keep-running: nothing to keep, the demo used the server of ORTHANC_URL.")
        return
    env_file = write_env_file(server.workdir / "orthanc.env", server)
    _say(
        f"\nThe demo server keeps running at {server.url}. In another shell:\n"
        f"  source {env_file}    # sets ORTHANC_URL, ORTHANC_USERNAME, ORTHANC_PASSWORD\n"
        "Press Ctrl-C to stop it."
    )
    # A shell that starts a command in the background (``demo --keep-running &``)
    # starts it with SIGINT ignored: Ctrl-C, ``kill -INT`` and ``kill`` stop it all the same.
    previous = {sig: signal.signal(sig, _stop_waiting) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while server.is_running:
                time.sleep(0.5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say("stopping the demo server")


def _stop_waiting(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# -- export ------------------------------------------------------------------------


def run_export(args: argparse.Namespace) -> int:
    """The ``export`` command (see ``orthanc-frames export --help``).

    Parameters
    ----------
    args : argparse.Namespace
        As parsed by :func:`build_parser`.

    Returns
    -------
    int
        Exit code.
    """
    out: Path = args.out
    file_format = EXPORT_SUFFIXES.get(out.suffix.lower())
    if file_format is None:
        raise UsageError(f"--out {out}: the name must end in .parquet, .pq or .csv")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    query = parse_query(args.query)
    tags = [_known_tag(name, f"--tag {name}") for name in args.tag]
    levels = LEVEL_CHOICES[: LEVEL_CHOICES.index(args.level) + 1]
    from .frames import Frames

    with _export_client(args) as client, warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        try:
            frames = Frames.load(
                client,
                query=query or None,
                labels=args.label or None,
                labels_constraint=args.labels_constraint,
                tags={args.level: tags} if tags else None,
                levels=levels,
            )
        except ValueError as error:
            raise UsageError(str(error)) from None
        frame = (
            frames.flat(args.level) if args.flat else getattr(frames, Level.parse(args.level).route)
        )
    for note in dict.fromkeys(_first_line(str(note.message)) for note in notes):
        print(f"{PROG} export: note: {note}", file=sys.stderr)
    if file_format == "parquet":
        write_parquet(frame, out)
    else:
        write_csv(frame, out)
    print(f"wrote {len(frame)} {args.level} rows x {len(frame.columns)} columns to {out}")
    return 0


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to a Parquet file that ``pandas.read_parquet`` reads back as is."""
    write_frame_parquet(frame, path)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to CSV; list values (multi-valued tags, labels) are joined by a backslash.

    The backslash is DICOM's own separator of multiple values.
    """
    flat = frame.copy()
    for name in flat.columns:
        if isinstance(flat[name].dtype, pd.ArrowDtype) and "list<" in str(flat[name].dtype):
            flat[name] = [
                "\\".join(str(item) for item in value) if value is not None else None
                for value in flat[name].tolist()
            ]
    flat.to_csv(path)


@contextlib.contextmanager
def _export_client(args: argparse.Namespace) -> Iterator[Orthanc]:
    overrides: dict[str, Any] = {}
    if args.url:
        overrides["url"] = args.url
    if args.username:
        overrides["username"] = args.username
    if args.ask_password:
        overrides["password"] = getpass.getpass(f"password for {args.username or 'the server'}: ")
    elif args.password:
        overrides["password"] = args.password
    if not (args.url or os.environ.get("ORTHANC_URL")):
        raise UsageError("no server: pass --url or set ORTHANC_URL")
    with Orthanc.from_env(**overrides) as client:
        yield client


# -- entry point -------------------------------------------------------------------


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _one_line(error: BaseException) -> str:
    return _first_line(str(error)) or type(error).__name__


def _describe_server_error(error: OrthancError) -> str:
    if isinstance(error, Unauthorized):
        return (
            f"the server refused the credentials ({_one_line(error)}): check --username/"
            "--password or ORTHANC_USERNAME/ORTHANC_PASSWORD/ORTHANC_TOKEN"
        )
    if isinstance(error, ConnectionError):
        return f"cannot reach the server: {_one_line(error)} (check --url or ORTHANC_URL)"
    if isinstance(error, HTTPError):
        return f"the server answered an error: {_one_line(error)}"
    return _one_line(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``orthanc-frames`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit code: 0 on success, 2 for bad arguments, an unreachable server,
        a server error or a demo server that cannot start (one line on
        stderr, no traceback), 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"{PROG} {args.command}: error:"
    try:
        if args.command == "demo":
            return run_demo(keep_running=args.keep_running, progress=args.progress)
        return run_export(args)
    except UsageError as error:
        print(f"{prefix} {error} (see `{PROG} {args.command} --help`)", file=sys.stderr)
    except OrthancError as error:
        print(f"{prefix} {_describe_server_error(error)}", file=sys.stderr)
    except DemoError as error:
        print(f"{prefix} {_one_line(error)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    return 2


if __name__ == "__main__":
    sys.exit(main())
