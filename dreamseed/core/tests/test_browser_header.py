"""The page header stays small: one row for the staff at 1280 px, a compact header for students on
a phone, and still reachable by keyboard (the skip link, the nav landmark, a visible focus)."""

import pytest

from dreamseed.testing import PASSWORD


def _sign_in(page, live_server, username):
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def _header_height(page) -> float:
    return page.locator(".site-header").bounding_box()["height"]


def _row_tops(page) -> set[int]:
    """The distinct vertical positions of the header's parts: one value means one row."""
    return set(
        page.eval_on_selector_all(
            ".header-row > *, .main-nav li",
            "els => els.map(e => Math.round(e.getBoundingClientRect().top"
            " + e.getBoundingClientRect().height / 2))",
        )
    )


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_staff_header_is_one_row_at_1280_px(live_server, page, committed_db, language):
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(page, live_server, "admin@alpha.example")  # the admin sees every menu entry
    if language != "en":
        page.get_by_label("Language").select_option(language)
        page.locator(".language-form button").click()
        page.wait_for_load_state()
    centres = _row_tops(page)
    assert max(centres) - min(centres) <= 4, f"header parts on several rows: {sorted(centres)}"
    assert _header_height(page) <= 72


@pytest.mark.browser
def test_the_student_header_is_compact_on_a_phone(live_server, page, committed_db):
    page.set_viewport_size({"width": 375, "height": 667})
    _sign_in(page, live_server, "sam")
    page.goto(live_server.url("alpha.localhost", "/tests/mine/"))
    assert _header_height(page) <= 667 * 0.17, _header_height(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Home", "My tests", "My results", "My classes"):
        assert nav.get_by_role("link", name=name).count() == 1
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.bounding_box()["x"] >= 0  # shown on screen while focused
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the brand, then the first menu entry
    focused = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focused != "none"
