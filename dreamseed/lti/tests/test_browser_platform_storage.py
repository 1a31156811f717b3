"""In Chromium with third-party cookies blocked (its default here), against a Canvas-shaped LMS
that offers platform storage (1EdTech LTI Client Side postMessages, `lti_storage_target`): the
OIDC state and nonce go to the LMS's post_message_forwarding frame instead of a cookie, and the
launch finishes inside the LMS's frame, with no new window. A storage that answers with another
state than the one stored is refused, and nothing is made."""

import re

import pytest
from django.db import connection
from playwright.sync_api import expect

from dreamseed.lti.models import LtiIdentity
from dreamseed.lti.tests.conftest import CommittedCourse, student
from dreamseed.testing import in_schema


@pytest.mark.browser
def test_a_canvas_launch_finishes_in_the_frame_with_platform_storage(
    live_server, committed_db, personas, lms_platform, page
):
    canvas = lms_platform.canvas
    tool_base = live_server.url("alpha.localhost", "")
    setup = CommittedCourse(personas, canvas, tool_base=tool_base)
    try:
        hint = canvas.prepare_launch(
            student(), setup.course, resource_link_id="rl-storage", custom=setup.custom
        )
        popups = []
        page.on("popup", lambda popup: popups.append(popup))
        page.goto(canvas.course_page_url(hint))

        frame = page.frame_locator("#tool")
        expect(frame.get_by_role("heading", name="Linked quiz")).to_be_visible()
        tool = page.frame(url=re.compile(r"^" + re.escape(tool_base)))
        assert tool is not None
        assert tool.url == f"{tool_base}/tests/take/{setup.assignment.pk}/"
        assert popups == []
        # Still in the frame: the student begins the test there (a POST: the CSRF cookie stuck).
        frame.get_by_role("button", name="Begin the test").click()
        expect(frame.get_by_role("heading", name="Question 1", exact=True)).to_be_visible()
        # The state never travelled in a cookie the frame could not keep.
        methods = [path for method, path in lms_platform.requests if method == "GET"]
        assert any(path.startswith("/canvas/post_message_forwarding") for path in methods)

        with in_schema(setup.schema):
            connection.set_tenant(personas["alpha_admin"].school)
            assert LtiIdentity.objects.filter(platform=setup.registration, sub="s-200").exists()
    finally:
        setup.cleanup()


@pytest.mark.browser
def test_a_forged_state_from_the_storage_is_refused(
    live_server, committed_db, personas, lms_platform, page
):
    canvas = lms_platform.canvas
    canvas.storage_lies = True
    tool_base = live_server.url("alpha.localhost", "")
    setup = CommittedCourse(personas, canvas, tool_base=tool_base)
    try:
        hint = canvas.prepare_launch(
            student(), setup.course, resource_link_id="rl-forged", custom=setup.custom
        )
        page.goto(canvas.course_page_url(hint))
        frame = page.frame_locator("#tool")
        expect(
            frame.get_by_role("heading", name="The launch does not match its sign-in")
        ).to_be_visible()
        with in_schema(setup.schema):
            connection.set_tenant(personas["alpha_admin"].school)
            assert not LtiIdentity.objects.filter(platform=setup.registration).exists()
    finally:
        setup.cleanup()
