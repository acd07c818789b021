"""The browser in a real headless Chromium, served by Voila, on a real Orthanc.

Playwright drives Debian's ``chromium`` (no ``playwright install``). The
page is ``browser_page.ipynb``; its kernel reads the server URL and
credentials from ``ORTHANC_URL``/``ORTHANC_USERNAME``/``ORTHANC_PASSWORD``,
set here. A person's path is followed: click a patient, a study, a series,
see the preview image and the tags, search the tags. Screenshots are kept
under ``test-output/browser/`` (or ``$BROWSER_ARTIFACTS``).

Env knobs: ``CHROMIUM_PATH`` (default /usr/bin/chromium), ``BROWSER_ARTIFACTS``,
``VOILA_EXTRA_ARGS``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import PASSWORD, USERNAME

pytest.importorskip("voila")
sync_api = pytest.importorskip("playwright.sync_api")
from voila_server import VoilaServer  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NOTEBOOK = HERE / "browser_page.ipynb"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Playwright already passes --headless, --no-sandbox, --disable-dev-shm-usage and
# friends. The resolver rule makes every host but 127.0.0.1 unresolvable: Voila's
# page asks a CDN for fonts, and the test stays hermetic at no cost per request.
CHROMIUM_ARGS = ["--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

pytestmark = pytest.mark.browser

PATIENT_ROWS = ".of-patients-rows select"
STUDY_ROWS = ".of-studies-rows select"
SERIES_ROWS = ".of-series-rows select"
PREVIEW = "img.widget-image.of-preview-image"
TAGS = ".widget-html.of-tags .widget-html-content"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI needs chromium at {CHROMIUM} (scripts/bootstrap.sh installs it)")
        pytest.skip(f"no chromium at {CHROMIUM}: apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("BROWSER_ARTIFACTS") or REPO / "test-output" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def voila(
    cohort_server: Any, tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> Iterator[VoilaServer]:
    workdir = tmp_path_factory.mktemp("voila")
    notebook = workdir / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook)
    server = VoilaServer(
        notebook,
        workdir,
        artifacts,
        env={
            "ORTHANC_URL": cohort_server.url,
            "ORTHANC_USERNAME": USERNAME,
            "ORTHANC_PASSWORD": PASSWORD,
            "ORTHANC_FRAMES_PROGRESS": "0",
        },
    )
    server.start()  # boots while Chromium launches
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium(voila: VoilaServer, chromium_path: str) -> Iterator[Any]:
    # Module scope, not session: while sync_playwright() is open it keeps an asyncio
    # loop running in this thread, and every later asyncio.run() of the session fails.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=30_000
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def voila_url(voila: VoilaServer, chromium: Any) -> str:
    return voila.wait_ready()


@pytest.fixture
def page(chromium: Any, voila_url: str, voila: VoilaServer) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 1180})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.page_errors = errors
    yield page
    page.close(run_before_unload=True)  # Voila's beforeunload shuts the kernel down
    context.close()


def _find(orthanc: httpx.Client, level: str, query: dict[str, str]) -> list[dict[str, Any]]:
    answer = orthanc.post("/tools/find", json={"Level": level, "Query": query, "Expand": True})
    answer.raise_for_status()
    return list(answer.json())


def _click_option(page: Any, rows: str, index: int) -> str:
    """Click the ``index``-th row of a table (a person's click); return its text."""
    option = page.locator(f"{rows} option").nth(index)
    text = " ".join(option.inner_text().split())
    option.click()
    return text


def test_a_person_browses_to_a_series(page, voila_url, voila, artifacts, cohort_server):
    orthanc = httpx.Client(base_url=cohort_server.url, auth=(USERNAME, PASSWORD))
    page.goto(voila_url, wait_until="domcontentloaded")
    patients = page.locator(PATIENT_ROWS)
    try:
        sync_api.expect(patients).to_be_visible()
    except AssertionError:
        raise AssertionError(
            f"the browser did not render; Voila log:\n{voila.log_tail()}"
        ) from None
    sync_api.expect(page.locator(".of-browser")).to_contain_text("5 patients")
    sync_api.expect(page.locator(f"{STUDY_ROWS} option")).to_have_count(8)  # one page of 8 rows

    # a patient: its studies only
    patient_text = _click_option(page, PATIENT_ROWS, 0)
    patient_id = next(word for word in patient_text.split() if word.startswith("OF0-"))
    (patient,) = _find(orthanc, "Patient", {"PatientID": patient_id})
    sync_api.expect(page.locator(f"{STUDY_ROWS} option")).to_have_count(len(patient["Studies"]))

    # a study: its series only
    study_text = _click_option(page, STUDY_ROWS, 0)
    accession = next(word for word in study_text.split() if word.startswith("A0"))
    (study,) = _find(orthanc, "Study", {"AccessionNumber": accession})
    assert study["ParentPatient"] == patient["ID"]
    sync_api.expect(page.locator(f"{SERIES_ROWS} option")).to_have_count(len(study["Series"]))
    sync_api.expect(page.locator(".of-action-target")).to_contain_text("1 study")

    # a series: the preview image loads and the tags of the shown instance appear
    _click_option(page, SERIES_ROWS, 0)
    page.wait_for_function(
        f"() => {{ const img = document.querySelector('{PREVIEW}');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    image = page.locator(PREVIEW).evaluate(
        "img => ({src: img.src, width: img.naturalWidth, height: img.naturalHeight})"
    )
    assert image["src"].startswith("blob:") and image["width"] > 0 and image["height"] > 0
    sync_api.expect(page.locator(".of-preview-caption")).to_contain_text("instance")
    tags = page.locator(TAGS)
    sync_api.expect(tags.locator("table.of-tag-table")).to_be_visible()
    sync_api.expect(tags.locator("tr", has_text="PatientID")).to_contain_text(patient_id)
    sync_api.expect(page.locator(".of-action-target")).to_contain_text("1 series")
    page.locator(".of-browser").screenshot(path=str(artifacts / "browser.png"))

    # the tag search narrows the table
    page.locator(".of-tags-search input").fill("StudyInstanceUID")
    sync_api.expect(tags.locator("tbody tr")).to_have_count(1)
    sync_api.expect(tags).to_contain_text(study["MainDicomTags"]["StudyInstanceUID"])

    # an action from the bar: download the picked series (into the kernel's folder)
    page.locator(".of-actions select").first.select_option("download")
    page.locator(".of-actions input[type=text]").first.fill("exported")
    page.locator("button.of-run").click()
    result = page.locator(".of-action-result")
    sync_api.expect(result.locator("table.of-result-table")).to_be_visible()
    sync_api.expect(result).to_contain_text("1 ok")
    sync_api.expect(page.locator(".of-action-status")).to_contain_text("done: 1 ok")

    shot = artifacts / "browser-tag-search-and-action.png"
    page.locator(".of-browser").screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.page_errors == [], page.page_errors
    orthanc.close()
