"""Run a notebook under Voila on a free loopback port, for the real-browser test.

See README.md beside this file for why each flag is there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

VOILA_START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Jupyter kernels run in their own process groups)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry))
    return kids


class VoilaServer:
    """``voila NOTEBOOK`` on 127.0.0.1; :meth:`start` returns at once, :meth:`wait_ready` polls.

    Parameters
    ----------
    notebook : Path
        The page to serve.
    workdir : Path
        Working directory, Jupyter's config/data/runtime dirs and TMPDIR.
    logdir : Path
        Where the Voila log goes (a file: an unread pipe can block the server).
    env : mapping, optional
        Extra environment for Voila and its kernels (the Orthanc URL...).
    """

    def __init__(
        self,
        notebook: Path,
        workdir: Path,
        logdir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.notebook, self.workdir, self.logdir = notebook, workdir, logdir
        jupyter_home = workdir / "jupyter"
        tmp = workdir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(jupyter_home / "config"),
            JUPYTER_DATA_DIR=str(jupyter_home / "data"),
            JUPYTER_RUNTIME_DIR=str(jupyter_home / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            TMPDIR=str(tmp),
            PYTHONUNBUFFERED="1",
            **(env or {}),
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""
        self.log = logdir / "voila.log"

    def start(self) -> None:
        """Launch Voila (no wait)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = self.logdir / f"voila-{self.port}.log"
        command = [
            sys.executable,
            "-m",
            "voila",
            str(self.notebook),
            "--no-browser",
            f"--port={self.port}",
            "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0",  # the default (50) silently moves to another port
            "--show_tracebacks=True",
            # voila#1458: without an _xsrf token the page's beforeunload kernel
            # shutdown gets a 403 and every page load leaks a kernel. Test only,
            # on loopback:
            "--Voila.tornado_settings=disable_check_xsrf=True",
            *os.environ.get("VOILA_EXTRA_ARGS", "").split(),
        ]
        self.started_at = time.perf_counter()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, chars: int = 3000) -> str:
        """The end of Voila's log (kernel tracebacks land there)."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def _poll_ready(self, timeout: float) -> None:
        probe = f"{self.url}voila/static/favicon.ico"  # static: starts no kernel
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"voila not ready after {timeout} s:\n{self.log_tail()}")

    def wait_ready(self, attempts: int = 3) -> str:
        """Wait until Voila answers; restart on another port if it lost a port race."""
        for attempt in range(attempts):
            try:
                self._poll_ready(VOILA_START_TIMEOUT)
                return self.url
            except (RuntimeError, TimeoutError):
                self.stop()
                if attempt == attempts - 1:
                    raise
                self.start()
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """SIGTERM Voila (it shuts its kernels down), then SIGKILL leftover kernels by PID."""
        if self.proc is None:
            return
        kernels = children_of(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in kernels:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc = None
