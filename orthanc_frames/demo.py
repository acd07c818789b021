"""The demo: a local Orthanc holding a synthetic cohort, set up one way for everyone.

The ``orthanc-frames demo`` command, the Binder image (``binder/postBuild``
and ``binder/start``), the notebooks and their tests all get their demo
server from this module:

- :func:`write_demo_cohort` writes the cohort (5 patients, 10 studies, 20 CT
  and MR series, 80 images; one patient carries values that do not parse);
- :func:`start_demo_server` starts a throw-away :class:`LocalOrthanc` holding
  it, with a fresh random password;
- :func:`demo_connection` connects to ``ORTHANC_URL`` when it is set, and to
  a demo server started for the occasion otherwise;
- :func:`serve` / :func:`stop` leave a demo server running in the background
  and write its connection settings to ``DIR/orthanc.env`` (shell syntax),
  which is what ``binder/start`` does before it starts Jupyter.

Command line::

    python -m orthanc_frames.demo prepare DIR   # cohort files + a pre-loaded storage
    python -m orthanc_frames.demo serve DIR     # boot in the background; prints the env file
    python -m orthanc_frames.demo stop DIR      # stop what `serve` started
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import secrets
import shlex
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from .client import Orthanc
from .local_server import LocalOrthanc, OrthancNotInstalled, OrthancStartError
from .synthetic import CohortSummary, write_cohort

__all__ = [
    "DEMO_LABEL",
    "DEMO_NAME",
    "DEMO_USERNAME",
    "DemoConnection",
    "DemoError",
    "connect",
    "demo_connection",
    "main",
    "serve",
    "server_env",
    "start_demo_server",
    "stop",
    "write_demo_cohort",
    "write_env_file",
]

DEMO_NAME = "ORTHANC_FRAMES_DEMO"
"""Orthanc ``Name`` (and AE title) of every demo server."""
DEMO_USERNAME = "demo"
"""User of every demo server; its password is random, made when the server starts."""
DEMO_LABEL = "demo-ct"
"""The label the demo puts on the CT series it selects."""

_COHORT_FOLDER = "cohort"
_SERVER_FOLDER = "server"
ENV_FILE = "orthanc.env"
PID_FILE = "orthanc.pid"
_STOP_TIMEOUT_SECONDS = 30.0


class DemoError(RuntimeError):
    """The demo server could not be prepared, started, reached or stopped."""


def write_demo_cohort(folder: str | os.PathLike[str]) -> CohortSummary:
    """Write the demo cohort into ``folder`` (the same bytes every time).

    Parameters
    ----------
    folder : str or Path
        Created if needed. Files land in ``folder/p{P}/st{S}/se{R}/{I:04d}.dcm``.

    Returns
    -------
    orthanc_frames.synthetic.CohortSummary
        What was written: 5 patients (one with a ``PatientBirthDate`` and a
        ``SliceThickness`` that do not parse), 10 studies, 20 CT and MR
        series, 80 instances.
    """
    return write_cohort(folder, invalid_values=True)


def _cohort_is_written(folder: Path) -> bool:
    return folder.is_dir() and any(folder.rglob("*.dcm"))


def _stored_instances(server: LocalOrthanc) -> int:
    with server.http() as http:
        response = http.get("/statistics")
        response.raise_for_status()
        return int(response.json()["CountInstances"])


def start_demo_server(
    workdir: str | os.PathLike[str] | None = None,
    *,
    binary: str | None = None,
    password: str | None = None,
) -> LocalOrthanc:
    """Start a local Orthanc holding the demo cohort.

    Parameters
    ----------
    workdir : str or Path, optional
        Folder of the demo: the cohort goes to ``workdir/cohort`` (written
        only if missing), the server's configuration, storage and log to
        ``workdir/server`` (kept: a storage loaded before starts full).
        Default: a temporary folder removed when the server stops.
    binary : str, optional
        The Orthanc executable. Default: ``ORTHANC_BIN``, then the installed
        default, then ``Orthanc`` on ``PATH``
        (:func:`orthanc_frames.local_server.find_orthanc_binary`).
    password : str, optional
        Password of the user :data:`DEMO_USERNAME`. Default: a new random one.

    Returns
    -------
    LocalOrthanc
        The running server: ``.url``, ``.username``, ``.password``. Stop it
        with ``.stop()``.

    Raises
    ------
    DemoError
        When Orthanc is not installed, does not start, or refuses the cohort;
        the message says what to do.
    """
    try:
        server = LocalOrthanc(
            None if workdir is None else Path(workdir) / _SERVER_FOLDER,
            name=DEMO_NAME,
            username=DEMO_USERNAME,
            password=password or secrets.token_urlsafe(16),
            binary=binary,
        )
    except OrthancNotInstalled as error:
        raise DemoError(f"cannot start the demo Orthanc: {error}") from error
    # Without a workdir the cohort goes inside the server's temporary folder, removed with it.
    cohort = (server.workdir if workdir is None else Path(workdir)) / _COHORT_FOLDER
    if not _cohort_is_written(cohort):
        write_demo_cohort(cohort)
    try:
        server.start()
    except OrthancStartError as error:
        raise DemoError(f"the demo Orthanc did not start: {error}") from error
    try:
        if _stored_instances(server) == 0:
            server.load(cohort)
    except httpx.HTTPError as error:
        server.stop()
        raise DemoError(
            f"the demo Orthanc at {server.url} did not take the cohort in {cohort}: {error}. "
            f"Its log is {server.log_path}."
        ) from error
    return server


def server_env(server: LocalOrthanc) -> dict[str, str]:
    """The environment variables a client needs to reach ``server``.

    Returns
    -------
    dict of str to str
        ``ORTHANC_URL``, and ``ORTHANC_USERNAME`` / ``ORTHANC_PASSWORD`` when
        the server checks credentials: what :meth:`Orthanc.from_env` reads.
    """
    env = {"ORTHANC_URL": server.url}
    if server.auth is not None:
        env["ORTHANC_USERNAME"], env["ORTHANC_PASSWORD"] = server.auth
    return env


def write_env_file(path: str | os.PathLike[str], server: LocalOrthanc) -> Path:
    """Write ``export NAME=value`` lines of :func:`server_env` to ``path``, readable by its owner only.

    Parameters
    ----------
    path : str or Path
        The file to (over)write, with mode 0600: it holds the password.
    server : LocalOrthanc
        The server to describe.

    Returns
    -------
    Path
        ``path``: ``source`` it in a shell.
    """
    lines = [f"export {key}={shlex.quote(value)}" for key, value in server_env(server).items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as env_file:
        env_file.write("\n".join(lines) + "\n")
    return Path(path)


@dataclass
class DemoConnection:
    """A client on the demo's server, and the local server when one was started.

    Attributes
    ----------
    client : Orthanc
        Connected to the server.
    server : LocalOrthanc or None
        The demo server started for this connection, or None when the
        client came from ``ORTHANC_URL``.
    """

    client: Orthanc
    server: LocalOrthanc | None

    @property
    def is_local(self) -> bool:
        """True when the server is a demo server started for this connection."""
        return self.server is not None

    @property
    def description(self) -> str:
        """Where the client points, in words (no credentials)."""
        if self.server is not None:
            return f"a local demo Orthanc at {self.client.url} (synthetic cohort)"
        return f"the Orthanc at {self.client.url} (from ORTHANC_URL)"


@contextlib.contextmanager
def demo_connection(
    env: Mapping[str, str] | None = None,
    *,
    workdir: str | os.PathLike[str] | None = None,
    binary: str | None = None,
) -> Iterator[DemoConnection]:
    """Connect to ``ORTHANC_URL`` if set, else to a demo server started for the block.

    Parameters
    ----------
    env : mapping, optional
        Environment to read (default ``os.environ``): ``ORTHANC_URL``,
        ``ORTHANC_USERNAME``, ``ORTHANC_PASSWORD``, ``ORTHANC_TOKEN``,
        ``ORTHANC_VERIFY``.
    workdir, binary
        As in :func:`start_demo_server`, when a server is started.

    Yields
    ------
    DemoConnection
        The client is closed, and a server started here stopped, on exit.

    Raises
    ------
    DemoError
        When no ``ORTHANC_URL`` is set and the demo server cannot start.
    """
    env = os.environ if env is None else env
    server = None
    if env.get("ORTHANC_URL"):
        client = Orthanc(
            env["ORTHANC_URL"],
            username=env.get("ORTHANC_USERNAME") or None,
            password=env.get("ORTHANC_PASSWORD") or None,
            token=env.get("ORTHANC_TOKEN") or None,
            verify=env.get("ORTHANC_VERIFY", "true").strip().lower()
            not in ("0", "false", "no", "off"),
        )
    else:
        server = start_demo_server(workdir, binary=binary)
        assert server.auth is not None
        client = Orthanc(server.url, username=server.auth[0], password=server.auth[1])
    try:
        yield DemoConnection(client=client, server=server)
    finally:
        client.close()
        if server is not None:
            server.stop()


def connect(env: Mapping[str, str] | None = None) -> Orthanc:
    """A client for notebooks: ``ORTHANC_URL`` when set, else a demo server for this process.

    Parameters
    ----------
    env : mapping, optional
        Environment to read (default ``os.environ``), as in :func:`demo_connection`.

    Returns
    -------
    Orthanc
        With ``ORTHANC_URL`` set (Binder's ``start`` sets it), the same as
        :meth:`Orthanc.from_env`. Otherwise a client on a demo server started
        now and stopped when the Python process (the notebook's kernel) exits.

    Raises
    ------
    DemoError
        When no ``ORTHANC_URL`` is set and the demo server cannot start.
    """
    stack = contextlib.ExitStack()
    connection = stack.enter_context(demo_connection(env))
    atexit.register(stack.close)
    return connection.client


# -- a demo server left running in the background (Binder) ---------------------


def prepare(workdir: str | os.PathLike[str], *, binary: str | None = None) -> CohortSummary:
    """Write the cohort and a storage that already holds it, so :func:`serve` is quick.

    Parameters
    ----------
    workdir : str or Path
        The demo folder (created if needed).
    binary : str, optional
        The Orthanc executable (see :func:`start_demo_server`).

    Returns
    -------
    orthanc_frames.synthetic.CohortSummary
        The cohort written.
    """
    root = Path(workdir)
    cohort = write_demo_cohort(root / _COHORT_FOLDER)
    start_demo_server(root, binary=binary).stop()
    return cohort


def _read_pid(root: Path) -> int | None:
    try:
        return int((root / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, value = words[1].split("=", 1)
            env[key] = value
    return env


def _answers(env: Mapping[str, str]) -> bool:
    auth = None
    if env.get("ORTHANC_USERNAME") and env.get("ORTHANC_PASSWORD"):
        auth = (env["ORTHANC_USERNAME"], env["ORTHANC_PASSWORD"])
    try:
        return httpx.get(f"{env['ORTHANC_URL']}/system", auth=auth, timeout=2.0).status_code == 200
    except (httpx.HTTPError, KeyError):
        return False


def serve(workdir: str | os.PathLike[str], *, binary: str | None = None) -> Path:
    """Leave a demo server running in the background; return its env file.

    A server that an earlier call left running, and that still answers, is
    reused. The env file ``workdir/orthanc.env`` (mode 0600) holds
    ``export ORTHANC_URL=...`` lines for ``ORTHANC_URL``, ``ORTHANC_USERNAME``
    and ``ORTHANC_PASSWORD``; ``workdir/orthanc.pid`` the process id, for
    :func:`stop`.

    Parameters
    ----------
    workdir : str or Path
        The demo folder; :func:`prepare` it first to skip loading the cohort.
    binary : str, optional
        The Orthanc executable (see :func:`start_demo_server`).

    Returns
    -------
    Path
        The env file: ``source`` it in a shell, or read it.
    """
    root = Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    env_path = root / ENV_FILE
    pid = _read_pid(root)
    if (
        pid is not None
        and _is_alive(pid)
        and env_path.exists()
        and _answers(_read_env_file(env_path))
    ):
        return env_path
    server = start_demo_server(root, binary=binary)
    assert server.pid is not None
    write_env_file(env_path, server)
    (root / PID_FILE).write_text(f"{server.pid}\n")
    return env_path


def stop(workdir: str | os.PathLike[str], timeout: float = _STOP_TIMEOUT_SECONDS) -> bool:
    """Stop the demo server that :func:`serve` left running in ``workdir``.

    Parameters
    ----------
    workdir : str or Path
        The folder given to :func:`serve`.
    timeout : float
        Seconds to wait after SIGTERM before SIGKILL.

    Returns
    -------
    bool
        True if a running server was stopped, False if none was running.
    """
    root = Path(workdir)
    pid = _read_pid(root)
    (root / PID_FILE).unlink(missing_ok=True)
    (root / ENV_FILE).unlink(missing_ok=True)
    if pid is None or not _is_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_alive(pid) or _reaped(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _reaped(pid: int) -> bool:
    # A server started by this very process is its child: reap it, or it stays a zombie.
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return finished == pid


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m orthanc_frames.demo {prepare,serve,stop} DIR``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit code: 0 on success, 1 when the server could not be started.
    """
    parser = argparse.ArgumentParser(
        prog="python -m orthanc_frames.demo",
        description="Prepare, serve in the background, or stop the orthanc-frames demo server.",
    )
    parser.add_argument(
        "action",
        choices=("prepare", "serve", "stop"),
        help="prepare: write the cohort and a pre-loaded storage; serve: start the server "
        "in the background (or reuse a running one) and print the path of its env file; "
        "stop: stop it",
    )
    parser.add_argument("workdir", type=Path, help="the demo folder")
    args = parser.parse_args(argv)
    try:
        if args.action == "prepare":
            cohort = prepare(args.workdir)
            print(f"prepared the demo in {args.workdir}: {cohort.instances} files, storage loaded")
        elif args.action == "serve":
            print(serve(args.workdir))
        else:
            print("stopped" if stop(args.workdir) else "no demo server was running")
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
