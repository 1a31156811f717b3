"""In Chromium: create a school on the public site, land on its dashboard, switch to Korean."""

import re

import pytest
from playwright.sync_api import expect

from dreamseed.schools.models import School


@pytest.fixture
def cleanup_school(committed_db):
    yield
    for school in School.objects.filter(schema_name="pw_academy"):
        school.delete(force_drop=True)


@pytest.mark.browser
def test_create_a_school_land_on_its_dashboard_and_switch_to_korean(
    live_server, cleanup_school, page
):
    page.goto(live_server.url("localhost", "/"))
    page.get_by_role("link", name="Create your school").click()
    page.get_by_label("School name").fill("Playwright Academy")
    page.get_by_label("School address").fill("pw-academy")
    page.get_by_label("Your first name").fill("Paula")
    page.get_by_label("Your last name").fill("Wright")
    page.get_by_label("Your email").fill("paula@pw-academy.example")
    page.locator("#id_password1").fill("weak")
    page.get_by_label("Password again").fill("weak")
    page.get_by_role("button", name="Create school").click()

    # A weak password is refused with a message next to the field, and nothing is created.
    expect(page.locator(".field-invalid")).to_contain_text("too short")
    assert not School.objects.filter(schema_name="pw_academy").exists()

    page.locator("#id_password1").fill("a-much-longer-passphrase")
    page.get_by_label("Password again").fill("a-much-longer-passphrase")
    page.get_by_role("button", name="Create school").click()

    expect(page).to_have_url(re.compile(r"^http://pw-academy\.localhost:\d+/$"))
    expect(page.get_by_role("status")).to_contain_text("Welcome to Playwright Academy!")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Paula")
    expect(page.locator(".brand")).to_contain_text("Playwright Academy")

    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Change language").click()

    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("navigation", name="주 메뉴")).to_be_visible()
    expect(page.get_by_role("link", name="홈")).to_be_visible()
    expect(page.get_by_role("button", name="언어 변경")).to_be_visible()
    # Still signed in at the school after the language change.
    expect(page.locator(".brand")).to_contain_text("Playwright Academy")
