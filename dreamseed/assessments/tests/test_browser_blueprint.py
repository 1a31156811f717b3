"""In the browser a preset fills the new-test form in place (the typed name stays), announces it,
and the advanced IRT settings open from the keyboard."""

import pytest

from dreamseed.testing import PASSWORD


@pytest.mark.browser
def test_a_preset_fills_the_form_in_place_and_keeps_the_name(live_server, page, committed_db):
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    page.get_by_label("Username or email").fill("teacher@alpha.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.goto(live_server.url("alpha.localhost", "/tests/new/"))
    page.locator("#id_name").fill("Week 3 check")
    page.get_by_role("link", name="Quick check, 10 items").click()
    assert page.url.endswith("/tests/new/")  # no reload
    assert page.locator("#id_name").input_value() == "Week 3 check"
    assert page.locator("#id_min_items").input_value() == "10"
    assert page.locator("#id_max_items").input_value() == "10"
    assert "Preset applied" in page.get_by_role("status").first.text_content()
    assert page.get_by_role("link", name="Quick check, 10 items").get_attribute("aria-current")
    page.get_by_role("link", name="Placement, 15–20 items").click()
    assert page.locator("#id_min_items").input_value() == "15"
    summary = page.get_by_text("Advanced IRT settings")
    assert not page.locator("#id_se_target").is_visible()
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("#id_se_target").input_value() == "0.3"
