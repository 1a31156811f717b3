"""In Chromium: a student opens DreamSeed from a course page of the simulated LMS, where DreamSeed
sits in an iframe. Chromium here blocks third-party cookies (as Safari and Chrome's incognito
do), so the login's cookie check offers to continue in a new window; one click there runs the
whole OIDC login and launch, and the student lands on their test."""

import re

import pytest
from django.db import connection
from playwright.sync_api import expect

from dreamseed.classes.models import Enrollment
from dreamseed.lti.models import LtiIdentity, LtiResourceLink
from dreamseed.lti.tests.conftest import CommittedCourse, student, teacher
from dreamseed.testing import in_schema


@pytest.mark.browser
def test_a_student_launches_from_the_lms_frame_and_lands_on_the_test(
    live_server, committed_db, personas, lms_platform, page
):
    canvas = lms_platform.canvas
    # A Canvas that names a storage target but answers no lti.capabilities: after a moment the
    # login falls back to the new window (test_browser_platform_storage.py: one that answers).
    canvas.platform_storage = False
    tool_base = live_server.url("alpha.localhost", "")
    setup = CommittedCourse(personas, canvas, tool_base=tool_base)
    try:
        hint = canvas.prepare_launch(
            student(), setup.course, resource_link_id="rl-browser", custom=setup.custom
        )
        page.goto(canvas.course_page_url(hint))

        # Inside the LMS's frame: login initiation, then the cookie check, which finds the
        # frame's cookies blocked. (The frame shows at all: frame-ancestors lists the LMS.)
        frame = page.frame_locator("#tool")
        continue_link = frame.get_by_role("link", name="Open DreamSeed in a new window")
        expect(continue_link).to_be_visible()
        expect(continue_link).to_be_focused()

        with page.expect_popup() as popup_info:
            continue_link.click()
        window = popup_info.value
        # OIDC login -> the LMS's authorization endpoint -> its form post of the id_token ->
        # launch -> the student's test.
        expect(window.get_by_role("heading", name="Linked quiz")).to_be_visible()
        expect(window).to_have_url(
            re.compile(rf"^{re.escape(tool_base)}/tests/take/{setup.assignment.pk}/$")
        )
        expect(frame.get_by_text("DreamSeed opened in a new window.")).to_be_visible()

        window.get_by_role("button", name="Begin the test").click()
        expect(window.get_by_role("heading", name="Question 1", exact=True)).to_be_visible()

        with in_schema(setup.schema):
            connection.set_tenant(personas["alpha_admin"].school)
            identity = LtiIdentity.objects.get(platform=setup.registration, sub="s-200")
            assert identity.user.get_full_name() == "Ada Lovelace"
            assert Enrollment.objects.filter(
                school_class=setup.school_class, student=identity.user
            ).exists()
            link = LtiResourceLink.objects.get(resource_link_id="rl-browser")
            assert link.assignment_id == setup.assignment.pk
            assert link.lineitem_url == canvas.lineitem_url("course-501", "7")
    finally:
        setup.cleanup()


@pytest.mark.browser
def test_a_teacher_adds_a_test_from_the_lms_dialog(
    live_server, committed_db, personas, lms_platform, page
):
    """Deep linking with third-party cookies blocked (Chromium's default here), against a Moodle
    whose return page only works in the frame that opened the tool: the picker runs in a new
    window, hands its signed answer back to DreamSeed's page in the frame, which posts it to
    Moodle from there; the course page then saves the activity."""
    moodle = lms_platform.moodle
    setup = CommittedCourse(personas, moodle, tool_base=live_server.url("alpha.localhost", ""))
    try:
        hint = moodle.prepare_launch(
            teacher("moodle"), setup.course, message_type="LtiDeepLinkingRequest"
        )
        page.goto(moodle.course_page_url(hint))
        with page.expect_popup() as popup_info:
            page.frame_locator("#tool").get_by_role(
                "link", name="Open DreamSeed in a new window"
            ).click()
        window = popup_info.value
        expect(window.get_by_role("heading", name="Add a DreamSeed test")).to_be_visible()
        expect(window.get_by_text("The grade the LMS receives is a percentile")).to_be_visible()
        window.get_by_label("Linked quiz").check()
        window.get_by_role("button", name="Add to the course").click()

        # Back in the LMS's course page: Moodle's return page ran in the frame and the course
        # page saved the activity. The picker window says where to go.
        expect(page.get_by_role("heading", name="Activity added: Linked quiz")).to_be_visible()
        expect(window.get_by_role("heading", name="Test chosen")).to_be_visible()
        expect(window.get_by_role("button", name="Continue")).to_be_hidden()
        [saved] = moodle.saved_activities
        assert [item["title"] for item in saved["items"]] == ["Linked quiz"]

        [response] = moodle.deep_link_responses
        [item] = response["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
        assert item["title"] == "Linked quiz"
        assert set(item["custom"]) == {"dreamseed_choice"}
        with in_schema(setup.schema):
            from dreamseed.assessments.models import Assignment

            # Nothing is made until the LMS launches the new link.
            assert list(Assignment.objects.all()) == [setup.assignment]
    finally:
        setup.cleanup()


@pytest.mark.browser
def test_the_simulated_moodle_return_page_works_only_in_the_opening_frame(lms_platform, page):
    """Like Moodle's contentitem_return.php: a valid response posted from a window of its own
    (not the frame the course page opened) fails with Moodle's TypeError, and nothing is saved."""
    import jwt as pyjwt

    from dreamseed.lti.tests.platform import SigningKey

    moodle = lms_platform.moodle
    tool_key = SigningKey.new()
    moodle.tool_jwks = {"keys": [tool_key.public_jwk]}
    token = pyjwt.encode(
        {"iss": moodle.client_id, "aud": moodle.issuer,
         "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [{"title": "Quiz"}]},
        tool_key.private_pem, algorithm="RS256", headers={"kid": tool_key.kid},
    )  # fmt: skip
    page.goto(moodle.base + "/nothing-here")  # on the LMS's origin, as the tool's window would be
    page.set_content(
        f'<form method="post" action="{moodle.deep_link_return_url("course-501")}">'
        f'<input type="hidden" name="JWT" value="{token}"><button>Send</button></form>'
    )
    page.get_by_role("button", name="Send").click()
    expect(
        page.get_by_text("TypeError: window.processContentItemReturnData is not a function")
    ).to_be_visible()
    assert len(moodle.deep_link_responses) == 1  # the response itself was valid
    assert moodle.saved_activities == []
