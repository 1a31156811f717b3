"""In Chromium: a teacher asks for a class report, watches the progress bar fill without a reload
(a real Celery worker makes the PDF), and downloads a valid PDF."""

import io
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from dreamseed.reports.tests.conftest import build_class, destroy_class
from dreamseed.reports.tests.pdfcheck import pdf_text
from dreamseed.testing import PASSWORD


def _keep(page, name):
    """REPORTS_KEEP_PNG=/some/folder keeps screenshots of the pages, to look at them."""
    folder = os.environ.get("REPORTS_KEEP_PNG")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


@pytest.fixture
def committed_class(personas, committed_db):
    world = build_class(personas, students=10, prefix="brw", name="Browser 7")
    yield world
    destroy_class(world)


@pytest.mark.browser
@pytest.mark.worker
def test_a_teacher_requests_a_class_report_watches_it_and_downloads_the_pdf(
    live_server, committed_class, report_worker, reports_on, page
):
    reports_on(report_worker.queue)
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    page.get_by_label("Username or email").fill("teacher@alpha.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))

    results = f"/tests/assignments/{committed_class.assignment.pk}/results/"
    page.goto(live_server.url("alpha.localhost", results))
    _keep(page, "results-page.png")
    page.get_by_label("Paper").select_option("a4")
    page.get_by_role("button", name="Class report (PDF)").click()

    expect(page).to_have_url(re.compile(r"/reports/\d+/$"))
    expect(page.get_by_role("heading", name="Class report")).to_be_visible()
    progress = page.locator("progress#report-progress")
    expect(progress).to_be_visible()
    # Mark this page: if the status changes by a reload, the mark is gone.
    page.evaluate("window.__stillTheSamePage = true")

    download_link = page.get_by_role("link", name="Download the PDF")
    expect(download_link).to_be_visible(timeout=60_000)
    assert page.evaluate("window.__stillTheSamePage") is True
    assert progress.evaluate("bar => bar.value") == 100
    expect(page.get_by_role("status")).to_have_text("Ready")
    expect(download_link).to_be_focused()
    _keep(page, "report-page-ready.png")

    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert re.fullmatch(r"Fractions check-in - Browser 7\.pdf", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    assert round(float(reader.pages[0].mediabox.width)) == 595  # A4
    text = pdf_text(data)
    assert "Class report" in text and "Browser 7" in text and "Sam Student" in text
