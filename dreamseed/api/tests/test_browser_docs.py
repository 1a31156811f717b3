"""In Chromium: the API docs page renders under the site's Content-Security-Policy."""

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
def test_swagger_ui_renders_without_csp_violations(live_server, personas, page):
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server.url("alpha.localhost", "/api/docs/"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("DreamSeed API")
    expect(page.get_by_text("/api/classes/{class_id}/enrollments/").first).to_be_visible()
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert problems == []
