"""Start and stop a real, throw-away Orthanc server on free loopback ports.

Used by the test suite, the ``demo`` command and the binder image. It needs
only the standard library and httpx, and an installed Orthanc (run
``scripts/install-orthanc.sh`` as root to get Orthanc 1.12.7 with the
DICOMweb, neuro and GDCM plugins).

Three kinds of server (``kind=``), the ones people run:

``"sqlite"``
    Orthanc 1.12.7 with its default SQLite index and the plugin folder.
``"postgres"``
    Orthanc 1.12.7 with the PostgreSQL index plugin (Debian's
    ``orthanc-postgresql``, which has no extended find) and the plugin
    folder; its index lives in a throw-away PostgreSQL cluster
    (:class:`PostgresCluster`) that the harness initialises in a temporary
    folder, starts on a free loopback port and stops.
``"1.10"``
    Orthanc 1.10.1 (Debian 12's own package), no plugins: no labels, no
    ``RequestedTags``, no extended find.

``scripts/install-other-servers.sh`` (run by ``scripts/bootstrap.sh``)
installs the last two.

Examples
--------
>>> from orthanc_frames.local_server import LocalOrthanc
>>> with LocalOrthanc(extra={"LimitFindResults": 100}) as server:  # doctest: +ELLIPSIS
...     stored = server.load("cohort/")
...     print(server.url, server.username)
http://127.0.0.1:... orthanc

Run ``python -m orthanc_frames.local_server --demo`` to start a server, load
a synthetic cohort, print what the server can do, and stop it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from ._parallel import DEFAULT_WORKERS, in_order
from .client import route

__all__ = [
    "DEFAULT_110_BINARY",
    "DEFAULT_BINARY",
    "DEFAULT_PLUGINS_DIR",
    "DEFAULT_POSTGRESQL_PLUGIN",
    "SERVER_KINDS",
    "LocalOrthanc",
    "OrthancNotInstalled",
    "OrthancStartError",
    "PostgresCluster",
    "find_orthanc_binary",
    "find_plugins_dir",
    "find_postgresql_bin",
    "stop_all",
]

DEFAULT_BINARY = "/opt/orthanc-ci/bin/orthanc"
DEFAULT_110_BINARY = "/opt/orthanc-ci/bin/orthanc-1.10"
"""The Orthanc 1.10.1 wrapper written by ``scripts/install-other-servers.sh``."""
# The plugin paths are read by Orthanc itself, which may run in a chroot
# (Debian 12 install): they are not checked on the host.
DEFAULT_PLUGINS_DIR = "/usr/share/orthanc/plugins"
DEFAULT_POSTGRESQL_PLUGIN = "/usr/share/orthanc/plugins-postgresql/libOrthancPostgreSQLIndex.so"
"""The PostgreSQL index plugin, kept out of the plugin folder by the install script."""
SERVER_KINDS = ("sqlite", "postgres", "1.10")
"""The kinds of server :class:`LocalOrthanc` starts (see the module notes)."""
_READY_POLL_SECONDS = 0.05
_STOP_TIMEOUT_SECONDS = 30.0


class OrthancNotInstalled(RuntimeError):
    """No Orthanc executable was found (env ``ORTHANC_BIN``, default path, ``PATH``)."""


class OrthancStartError(RuntimeError):
    """An Orthanc process exited or did not answer while starting."""


def find_orthanc_binary(kind: str = "sqlite") -> str:
    """Return the path of the Orthanc executable to run.

    Looks, in order, at the environment variable ``ORTHANC_BIN``, at
    :data:`DEFAULT_BINARY` (the wrapper written by
    ``scripts/install-orthanc.sh``) and at ``Orthanc`` on ``PATH``. For
    ``kind="1.10"``: ``ORTHANC_110_BIN``, then :data:`DEFAULT_110_BINARY`.

    Parameters
    ----------
    kind : {"sqlite", "postgres", "1.10"}
        The server kind (the first two run the same Orthanc 1.12).

    Returns
    -------
    str
        Path of an executable file.

    Raises
    ------
    OrthancNotInstalled
        When none of these is an executable file; the message says what to run.
    """
    _check_kind(kind)
    if kind == "1.10":
        path = os.environ.get("ORTHANC_110_BIN") or DEFAULT_110_BINARY
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise OrthancNotInstalled(
            f"Orthanc 1.10 is not installed: {path} is not an executable file. Install it "
            "with `sudo scripts/install-other-servers.sh` (Debian 12), or set "
            "ORTHANC_110_BIN to an Orthanc 1.10 executable."
        )
    from_env = os.environ.get("ORTHANC_BIN")
    if from_env:
        if os.path.isfile(from_env) and os.access(from_env, os.X_OK):
            return from_env
        raise OrthancNotInstalled(
            f"ORTHANC_BIN={from_env!r} is not an executable file. Point ORTHANC_BIN at "
            "an Orthanc executable, or unset it and install Orthanc with "
            "`sudo scripts/install-orthanc.sh`."
        )
    if os.path.isfile(DEFAULT_BINARY) and os.access(DEFAULT_BINARY, os.X_OK):
        return DEFAULT_BINARY
    on_path = shutil.which("Orthanc")
    if on_path:
        return on_path
    raise OrthancNotInstalled(
        f"Orthanc is not installed: ORTHANC_BIN is unset, {DEFAULT_BINARY} does not exist "
        "and no `Orthanc` is on PATH. Install it with `sudo scripts/install-orthanc.sh` "
        "(Debian 12/13), or set ORTHANC_BIN to an Orthanc executable."
    )


def find_plugins_dir() -> str:
    """Return the Orthanc plugin folder: env ``ORTHANC_PLUGINS`` or :data:`DEFAULT_PLUGINS_DIR`."""
    return os.environ.get("ORTHANC_PLUGINS") or DEFAULT_PLUGINS_DIR


def find_postgresql_bin() -> str:
    """Return the folder of the PostgreSQL server programs (``initdb``, ``pg_ctl``).

    Env ``POSTGRESQL_BIN``, else the newest ``/usr/lib/postgresql/*/bin``
    (Debian's layout).

    Raises
    ------
    OrthancNotInstalled
        When no folder with an executable ``initdb`` is found.
    """
    from_env = os.environ.get("POSTGRESQL_BIN")
    candidates = [Path(from_env)] if from_env else []
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()],
    )
    candidates += reversed(found)
    for folder in candidates:
        if os.access(folder / "initdb", os.X_OK):
            return str(folder)
    raise OrthancNotInstalled(
        "No PostgreSQL server found (POSTGRESQL_BIN is unset and no "
        "/usr/lib/postgresql/*/bin/initdb exists). Install it with "
        "`sudo scripts/install-other-servers.sh`, or set POSTGRESQL_BIN."
    )


def _check_kind(kind: str) -> None:
    if kind not in SERVER_KINDS:
        raise ValueError(f"kind must be one of {SERVER_KINDS}, not {kind!r}.")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresCluster:
    """A throw-away PostgreSQL cluster on a free loopback port, for Orthanc's index.

    Parameters
    ----------
    bin_dir : str, optional
        Folder of ``initdb`` and ``pg_ctl``. Default: :func:`find_postgresql_bin`.
    port : int, optional
        Fixed port. Default: a free loopback port, chosen again once if taken.
    durable : bool
        Keep PostgreSQL's ``fsync`` and synchronous commits. Default False:
        a throw-away cluster does not need to survive a crash, and stores
        are several times faster without them.

    Notes
    -----
    :meth:`start` initialises the cluster in a new temporary folder (owned
    by the ``postgres`` user when run as root: PostgreSQL refuses to run as
    root) with one superuser, ``orthanc``, trusted on loopback.
    :meth:`stop` stops it and removes the folder. Each server gets its own
    database (:meth:`create_database`).
    """

    user = "orthanc"

    def __init__(
        self, *, bin_dir: str | None = None, port: int | None = None, durable: bool = False
    ) -> None:
        self.bin_dir = Path(bin_dir or find_postgresql_bin())
        self._fixed_port = port is not None
        self.port = port or _free_port()
        self.durable = durable
        self.workdir: Path | None = None
        self._databases = 0

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"PostgresCluster(port={self.port}, {state})"

    @property
    def is_running(self) -> bool:
        """True once started and until stopped."""
        return self.workdir is not None

    def _run(self, *args: str) -> None:
        import pwd

        owner: dict[str, Any] = {}
        if os.geteuid() == 0:
            owner = {"user": pwd.getpwnam("postgres").pw_uid}
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
            **owner,
        )
        if done.returncode != 0:
            raise OrthancStartError(
                f"PostgreSQL {args[0]} failed with code {done.returncode}:\n"
                f"{(done.stdout + done.stderr)[-2000:]}"
            )

    def start(self) -> PostgresCluster:
        """Initialise and start the cluster; returns ``self``.

        Raises
        ------
        OrthancStartError
            When ``initdb`` or ``pg_ctl`` fails (the message carries their output).
        """
        if self.is_running:
            return self
        import pwd

        workdir = Path(tempfile.mkdtemp(prefix="orthanc-frames-pg-"))
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
        data = workdir / "data"
        try:
            self._run("initdb", "-D", str(data), "-A", "trust", "-U", self.user, "--no-sync")
            try:
                self._pg_ctl_start(workdir)
            except OrthancStartError:
                if self._fixed_port or "already in use" not in self._log_tail(workdir):
                    raise
                self.port = _free_port()
                self._pg_ctl_start(workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        self.workdir = workdir
        return self

    def _pg_ctl_start(self, workdir: Path) -> None:
        options = f"-p {self.port} -k {workdir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(workdir / "data"),
            "-o",
            options,
            "-l",
            str(workdir / "postgres.log"),
            "-w",
            "start",
        )

    @staticmethod
    def _log_tail(workdir: Path) -> str:
        try:
            return (workdir / "postgres.log").read_text(errors="replace")[-2000:]
        except FileNotFoundError:
            return ""

    def create_database(self, prefix: str = "orthanc") -> str:
        """Create a new empty database and return its name."""
        if not self.is_running:
            self.start()
        self._databases += 1
        name = "".join(ch for ch in prefix.lower() if ch.isalnum() or ch == "_")[:40]
        name = f"{name or 'orthanc'}_{self._databases}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return name

    def orthanc_config(self, database: str) -> dict[str, Any]:
        """The ``PostgreSQL`` section of an Orthanc configuration using ``database``."""
        return {
            "EnableIndex": True,
            "EnableStorage": False,
            "Host": "127.0.0.1",
            "Port": self.port,
            "Database": database,
            "Username": self.user,
            "Password": "unused-trust-authentication",
            "Lock": False,
        }

    def stop(self) -> None:
        """Stop the cluster (fast shutdown) and remove its folder. Harmless when stopped."""
        workdir, self.workdir = self.workdir, None
        if workdir is None:
            return
        try:
            self._run("pg_ctl", "-D", str(workdir / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LocalOrthanc:
    """A real Orthanc process on free loopback ports, with its own storage.

    Parameters
    ----------
    workdir : str or Path, optional
        Folder for the configuration, storage and log. Default: a new
        temporary folder, removed by :meth:`stop`.
    name : str
        Orthanc's ``Name``; also the default AE title (upper case, 16 chars).
    aet : str, optional
        ``DicomAet`` of the server.
    auth : bool
        Enable HTTP basic authentication with one user.
    username, password : str
        The user registered when ``auth`` is true.
    extra : mapping, optional
        Configuration entries merged last, e.g. ``{"LimitFindResults": 3}``.
    http_port, dicom_port : int, optional
        Fixed ports. Default: free loopback ports, chosen again once if
        Orthanc finds one taken.
    binary : str, optional
        Orthanc executable. Default: :func:`find_orthanc_binary` of ``kind``.
    plugins_dir : str, optional
        Plugin folder. Default: :func:`find_plugins_dir` (none for ``kind="1.10"``:
        the plugins installed are built for Orthanc 1.12). Empty string: no plugins.
    start_timeout : float
        Seconds to wait for the server to answer ``/system``.
    kind : {"sqlite", "postgres", "1.10"}
        The kind of server (see the module notes). Default ``"sqlite"``.
    postgres : PostgresCluster, optional
        For ``kind="postgres"``: the cluster that holds the index (a new
        database in it). Default: a cluster of this server's own, started
        with it and stopped with it.

    Raises
    ------
    OrthancNotInstalled
        When ``binary`` (or, without it, any Orthanc) is not an executable file.

    Notes
    -----
    The server is started by :meth:`start` or by entering the context
    manager. The password never appears in the repr.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        name: str = "ORTHANC",
        aet: str | None = None,
        auth: bool = True,
        username: str = "orthanc",
        password: str = "orthanc",
        extra: Mapping[str, Any] | None = None,
        http_port: int | None = None,
        dicom_port: int | None = None,
        binary: str | None = None,
        plugins_dir: str | None = None,
        start_timeout: float = 30.0,
        kind: str = "sqlite",
        postgres: PostgresCluster | None = None,
    ) -> None:
        _check_kind(kind)
        if postgres is not None and kind != "postgres":
            raise ValueError(f"postgres= is for kind='postgres', not kind={kind!r}.")
        if binary is not None and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise OrthancNotInstalled(
                f"{binary!r} is not an executable Orthanc. Pass the path of an Orthanc "
                "executable, or install one with `sudo scripts/install-orthanc.sh`."
            )
        self.kind = kind
        self.binary = binary or find_orthanc_binary(kind)
        if kind == "postgres":
            find_postgresql_bin()  # fail now, before any process starts
        self._owns_postgres = kind == "postgres" and postgres is None
        self.postgres = postgres
        self._database: str | None = None
        self.name = name
        self.aet = (aet or name)[:16].upper()
        self.auth_enabled = auth
        self.username = username if auth else None
        self.password = password if auth else None
        self.extra = dict(extra or {})
        if plugins_dir is None:
            plugins_dir = "" if kind == "1.10" else find_plugins_dir()
        self.plugins_dir = plugins_dir
        self.start_timeout = start_timeout
        self._fixed_ports = http_port is not None or dicom_port is not None
        self.http_port = http_port or _free_port()
        self.dicom_port = dicom_port or _free_port()
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="orthanc-frames-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "orthanc.json"
        self.log_path = self.workdir / "orthanc.log"
        self._process: subprocess.Popen[bytes] | None = None

    # -- description -------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the REST API, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def auth(self) -> tuple[str, str] | None:
        """``(username, password)`` for httpx/requests, or None without authentication."""
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)

    @property
    def pid(self) -> int | None:
        """Process id of the running Orthanc, or None."""
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        """True while the Orthanc process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def config(self) -> dict[str, Any]:
        """The Orthanc configuration this server is (or will be) started with."""
        storage = str(self.workdir / "db")
        config: dict[str, Any] = {
            "Name": self.name,
            "DicomAet": self.aet,
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": self.auth_enabled,
            "RegisteredUsers": dict([self.auth]) if self.auth else {},
            "Plugins": [self.plugins_dir] if self.plugins_dir else [],
            # The DICOMweb plugin's series metadata cache (on by default) is
            # computed when a series becomes stable, 60 s after its last store;
            # its cost grows with the whole archive, not with the series
            # (measured on 1.12.7: 7 s of CPU at 4,000 instances, 33 s at 8,000,
            # 268 s at 20,000), and it competes with every request meanwhile.
            # A throw-away server does not need it.
            "DicomWeb": {"Enable": True, "EnableMetadataCache": False},
        }
        if self.kind == "postgres":
            config["Plugins"].append(
                os.environ.get("ORTHANC_POSTGRESQL_PLUGIN") or DEFAULT_POSTGRESQL_PLUGIN
            )
            if self.postgres is not None and self._database is not None:
                config["PostgreSQL"] = self.postgres.orthanc_config(self._database)
        config.update(self.extra)
        return config

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        user = f", username={self.username!r}" if self.username else ""
        kind = f", kind={self.kind!r}" if self.kind != "sqlite" else ""
        return (
            f"LocalOrthanc(name={self.name!r}, url={self.url!r}, aet={self.aet!r}{user}"
            f"{kind}, {state})"
        )

    def log_tail(self, lines: int = 30) -> str:
        """Return the last ``lines`` lines of the server's log (empty if none yet)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- life cycle --------------------------------------------------------

    def start(self) -> LocalOrthanc:
        """Start Orthanc and wait until ``/system`` answers.

        Returns
        -------
        LocalOrthanc
            ``self``, running.

        Raises
        ------
        OrthancStartError
            When the process exits (the message carries the log tail) or
            does not answer within ``start_timeout`` seconds.
        """
        if self.is_running:
            return self
        if self.kind == "postgres" and self._database is None:
            if self.postgres is None:
                self.postgres = PostgresCluster()
            self._database = self.postgres.create_database(self.name)
        try:
            self._start_once()
        except OrthancStartError:
            if self._fixed_ports or not self._lost_port_race():
                raise
            self.http_port, self.dicom_port = _free_port(), _free_port()
            self._start_once()
        return self

    def _lost_port_race(self) -> bool:
        # Orthanc's exit status does not tell; its log does ("... already in use").
        return "already in use" in self.log_tail(20)

    def _start_once(self) -> None:
        self.config_path.write_text(json.dumps(self.config, indent=1))
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [self.binary, str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(auth=self.auth, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise OrthancStartError(
                        f"Orthanc {self.name!r} exited with code {self._process.returncode} "
                        f"while starting on HTTP port {self.http_port} / DICOM port "
                        f"{self.dicom_port}. Last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    if http.get(f"{self.url}/system").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(_READY_POLL_SECONDS)
        self.stop()
        raise OrthancStartError(
            f"Orthanc {self.name!r} did not answer {self.url}/system within "
            f"{self.start_timeout} s. Last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def signal_stop(self) -> None:
        """Ask Orthanc to shut down (SIGTERM) without waiting; see :meth:`stop`."""
        if self.is_running:
            assert self._process is not None
            self._process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = _STOP_TIMEOUT_SECONDS) -> None:
        """Stop Orthanc: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL.

        Shutting down takes Orthanc 1-3 s; use :func:`stop_all` for several
        servers. A temporary ``workdir`` created by this object is removed.
        Calling it again is harmless.
        """
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._owns_postgres and self.postgres is not None:
            self.postgres.stop()
            self._database = None
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalOrthanc:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- convenience for tests and demos ------------------------------------

    def http(self, timeout: float = 60.0) -> httpx.Client:
        """Return a new httpx client with this server's base URL and credentials."""
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=timeout)

    def load(
        self, folder: str | os.PathLike[str], workers: int = DEFAULT_WORKERS
    ) -> list[dict[str, Any]]:
        """Store every file under ``folder`` in this server (``POST /instances``).

        Parameters
        ----------
        folder : str or Path
            Folder searched recursively; every regular file is sent.
        workers : int
            Parallel uploads.

        Returns
        -------
        list of dict
            Orthanc's answer for each file, in sorted path order.

        Raises
        ------
        httpx.HTTPStatusError
            When Orthanc rejects a file; the message names the file.
        """
        paths = sorted(path for path in Path(folder).rglob("*") if path.is_file())
        with self.http() as http:

            def store(path: Path) -> dict[str, Any]:
                response = http.post("/instances", content=path.read_bytes())
                if response.status_code != 200:
                    raise httpx.HTTPStatusError(
                        f"Orthanc {self.name!r} rejected {path} with HTTP "
                        f"{response.status_code}: {response.text[:500]}",
                        request=response.request,
                        response=response,
                    )
                answer: dict[str, Any] = response.json()
                return answer

            return list(in_order(store, paths, workers=workers))

    def register_modality(self, name: str, other: LocalOrthanc) -> None:
        """Declare ``other`` as DICOM modality ``name`` of this server (``PUT /modalities``)."""
        body = {"AET": other.aet, "Host": "127.0.0.1", "Port": other.dicom_port}
        with self.http() as http:
            http.put(route("modalities", name), json=body).raise_for_status()

    def register_peer(self, name: str, other: LocalOrthanc) -> None:
        """Declare ``other`` as Orthanc peer ``name`` of this server (``PUT /peers``)."""
        body: dict[str, Any] = {"Url": f"{other.url}/"}
        if other.auth:
            body["Username"], body["Password"] = other.auth
        with self.http() as http:
            http.put(route("peers", name), json=body).raise_for_status()


def stop_all(servers: Iterable[LocalOrthanc]) -> None:
    """Stop several servers: signal them all first, then wait for each.

    Parameters
    ----------
    servers : iterable of LocalOrthanc
        Servers to stop; ones already stopped are skipped.
    """
    servers = list(servers)
    for server in servers:
        server.signal_stop()
    for server in servers:
        server.stop()


def _demo() -> int:
    from orthanc_frames.synthetic import write_cohort

    with tempfile.TemporaryDirectory(prefix="orthanc-frames-demo-") as tmp:
        started = time.monotonic()
        cohort = write_cohort(Path(tmp) / "cohort", invalid_values=True)
        print(
            f"wrote a synthetic cohort of {cohort.instances} files "
            f"in {time.monotonic() - started:.2f} s"
        )
        with LocalOrthanc(Path(tmp) / "server", name="ORTHANC_FRAMES_DEMO") as server:
            print(f"started {server!r}")
            started = time.monotonic()
            server.load(cohort.outdir)
            print(f"loaded {cohort.instances} files in {time.monotonic() - started:.2f} s")
            with server.http() as http:
                system = http.get("/system").json()
                plugins = http.get("/plugins").json()
                statistics = http.get("/statistics").json()
            print(f"Orthanc {system['Version']}, REST API version {system['ApiVersion']}")
            print(f"capabilities: {json.dumps(system.get('Capabilities', {}))}")
            print(
                f"labels: {system.get('HasLabels')}; plugins: {', '.join(sorted(p for p in plugins if '.' not in p))}"
            )
            for level in ("Patients", "Studies", "Series", "Instances"):
                print(f"{level.lower():>10}: {statistics['Count' + level]}")
        print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m orthanc_frames.local_server --demo``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Process exit code.
    """
    parser = argparse.ArgumentParser(
        prog="python -m orthanc_frames.local_server", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a server, load a synthetic cohort, print capabilities and counts, stop",
    )
    args = parser.parse_args(argv)
    if not args.demo:
        parser.print_help()
        return 2
    try:
        return _demo()
    except OrthancNotInstalled as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
