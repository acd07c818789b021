"""The Binder files agree with each other and with the package, and ``start`` boots a server.

``binder/postBuild``'s demo step and ``binder/start`` are run for real, with
``ORTHANC_BIN`` pointing at the installed Orthanc; the command handed to
``start`` checks that ``ORTHANC_URL`` answers with the demo cohort, through
the same ``Orthanc.from_env()`` the notebooks use.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from orthanc_frames import demo

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
ORTHANC_PACKAGES = {"orthanc", "orthanc-dicomweb", "orthanc-neuro", "orthanc-gdcm"}
CHECK_SERVER = """
import orthanc_frames as of
with of.Orthanc.from_env() as c:
    assert c.username == "demo", c.username
    print("instances", c.num_instances, "version", c.capabilities.version)
"""


def _lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _post_build_commands() -> list[list[str]]:
    return [
        shlex.split(line)
        for line in _lines(BINDER / "postBuild")
        if line.startswith("python ") and "orthanc_frames" in line
    ]


def test_apt_txt_installs_orthanc_and_its_plugins() -> None:
    assert set(_lines(BINDER / "apt.txt")) == ORTHANC_PACKAGES


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_scripts_are_executable_bash(script: str) -> None:
    path = BINDER / script
    assert path.stat().st_mode & stat.S_IXUSR, f"binder/{script} must be executable"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_start_ends_by_running_the_given_command() -> None:
    assert _lines(BINDER / "start")[-1] == 'exec "$@"'


def test_post_build_installs_an_extra_that_covers_the_notebooks_imports() -> None:
    install = next(
        line for line in _lines(BINDER / "postBuild") if "pip install" in line and ".[" in line
    )
    extra = re.search(r"\.\[([\w,-]+)\]", install)[1]
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    assert extra in extras, f"postBuild installs the extra {extra!r}, not in pyproject.toml"
    provided = {_requirement_name(r) for r in project["dependencies"] + extras[extra]}
    provided |= {_requirement_name(r) for r in _lines(BINDER / "requirements.txt")}
    for name in list(provided):  # what those bring along (IPython with ipykernel ...)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        provided |= {_requirement_name(r) for r in requires if "extra ==" not in r}
    distributions = importlib.metadata.packages_distributions()

    missing = set()
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                for module in {name.split(".")[0] for name in names}:
                    if module in sys.stdlib_module_names or module == "orthanc_frames":
                        continue
                    dists = {_requirement_name(d) for d in distributions.get(module, [module])}
                    if not dists & provided:
                        missing.add(f"{notebook.stem}: import {module}")
    assert not missing, f"the Binder image would lack: {sorted(missing)}"


def test_post_build_prepares_and_start_boots_a_server_the_notebooks_reach(
    orthanc_bin: str, tmp_path: Path
) -> None:
    demo_dir = tmp_path / "demo"
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORTHANC_")}
    env.update(
        ORTHANC_BIN=orthanc_bin,
        ORTHANC_FRAMES_DEMO_DIR=str(demo_dir),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(tmp_path),
    )
    commands = _post_build_commands()
    assert [command[:4] for command in commands] == [
        ["python", "-m", "orthanc_frames.demo", "prepare"]
    ]
    try:
        for command in commands:
            prepared = subprocess.run(
                [sys.executable, *command[1:4], str(demo_dir)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert prepared.returncode == 0, prepared.stderr

        started = subprocess.run(
            [str(BINDER / "start"), sys.executable, "-c", CHECK_SERVER],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

        assert started.returncode == 0, started.stderr
        assert "instances 80 version" in started.stdout
        assert "demo Orthanc at http://127.0.0.1:" in started.stderr
        env_file = (demo_dir / demo.ENV_FILE).read_text()
        assert stat.S_IMODE((demo_dir / demo.ENV_FILE).stat().st_mode) == 0o600
        password = re.search(r"ORTHANC_PASSWORD=(\S+)", env_file)[1]
        assert password not in started.stdout + started.stderr + prepared.stdout
    finally:
        assert demo.stop(demo_dir) is True


def test_start_runs_the_command_even_when_orthanc_cannot_start(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORTHANC_")}
    env.update(
        ORTHANC_BIN=str(tmp_path / "no-orthanc"),
        ORTHANC_FRAMES_DEMO_DIR=str(tmp_path / "demo"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )

    started = subprocess.run(
        [str(BINDER / "start"), "sh", "-c", 'echo "ran with ORTHANC_URL=${ORTHANC_URL:-}"'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode == 0
    assert started.stdout.strip() == "ran with ORTHANC_URL="
    assert "the demo Orthanc did not start" in started.stderr
