"""``resolve_progress``: an explicit choice wins, then the environment (no server)."""

from __future__ import annotations

import io
import sys

import pytest

from orthanc_frames._progress import progress_bar, resolve_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _plain(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Neither CI nor a test run nor a forced setting, as in a person's shell.

    Called in the test body: pytest sets ``PYTEST_CURRENT_TEST`` again
    between a fixture's setup and the test's call.
    """
    for name in ("ORTHANC_FRAMES_PROGRESS", "CI", "PYTEST_CURRENT_TEST"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("forced", ["0", "1", "yes", "off"])
@pytest.mark.parametrize("progress", [True, False])
def test_an_explicit_choice_beats_the_environment(
    monkeypatch: pytest.MonkeyPatch, progress: bool, forced: str
) -> None:
    plain_env = _plain(monkeypatch)
    plain_env.setenv("ORTHANC_FRAMES_PROGRESS", forced)
    assert resolve_progress(progress) is progress


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        *[("0", False), ("false", False), (" No ", False), ("OFF", False)],
        *[("1", True), ("true", True), ("Yes", True), ("on", True)],
    ],
)
def test_the_environment_variable_forces_it(
    monkeypatch: pytest.MonkeyPatch, value: str, shown: bool
) -> None:
    plain_env = _plain(monkeypatch)
    plain_env.setenv("CI", "true")  # forced on wins over CI too
    plain_env.setenv("ORTHANC_FRAMES_PROGRESS", value)
    assert resolve_progress(None) is shown


@pytest.mark.parametrize("name", ["CI", "PYTEST_CURRENT_TEST"])
def test_ci_and_test_runs_show_none(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    plain_env = _plain(monkeypatch)
    plain_env.setattr(sys, "stderr", _Terminal())
    plain_env.setenv(name, "1")
    assert resolve_progress(None) is False


def test_a_terminal_shows_one_and_a_pipe_none(monkeypatch: pytest.MonkeyPatch) -> None:
    plain_env = _plain(monkeypatch)
    plain_env.setattr(sys, "stderr", _Terminal())
    assert resolve_progress(None) is True
    plain_env.setattr(sys, "stderr", io.StringIO())
    assert resolve_progress(None) is False
    plain_env.setenv("ORTHANC_FRAMES_PROGRESS", "maybe")  # not a setting: ignored
    assert resolve_progress(None) is False


def test_a_disabled_bar_is_silent_with_the_same_api(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar(3, desc="files", enabled=False) as bar:
        bar.update(3)
    assert bar.disable and capsys.readouterr() == ("", "")
