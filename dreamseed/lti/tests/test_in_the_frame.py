"""What an LMS user sees inside the LMS's frame: the launch URL fetched with GET, confirmation
messages that survive the frame's cookie rules, and services the LMS stopped offering."""

import pytest
from django.conf import settings

from dreamseed.lti import grades, roster
from dreamseed.lti.models import GradePassback, LtiContext, LtiResourceLink, PassbackStatus
from dreamseed.lti.tests.conftest import teacher
from dreamseed.lti.tests.platform import LIS
from dreamseed.lti.tests.test_grades import Course


@pytest.fixture
def make_course_in_lms(lti_client, course, personas):
    def build(lms, **claims):
        return Course(lms, lti_client, course, personas, **claims)

    return build


def test_get_on_the_launch_url_explains_itself(canvas, client_for):
    # Moodle fetches the tool URL when a teacher saves an activity: no 405 warning there.
    client = client_for(host="alpha.localhost")
    response = client.get("/lti/launch/")
    assert response.status_code == 200
    assert "DreamSeed's LTI launch address" in response.content.decode()
    assert canvas.platform.base_url in response["Content-Security-Policy"]
    assert client.head("/lti/launch/").status_code == 200
    assert client.put("/lti/launch/").status_code == 405


def test_over_https_the_messages_cookie_survives_the_frame(canvas, lti_client, course):
    tool = lti_client(canvas, secure=True)
    tool.follow(tool.launch(teacher(), course))
    context = LtiContext.objects.get()
    canvas.members[course.id] = [
        {"user_id": "t-100", "roles": [LIS + "membership#Instructor"], "status": "Active"}
    ]
    response = tool.client.post(f"/lti/courses/{context.pk}/sync/", secure=True)
    assert response.status_code == 302
    cookie = response.cookies["messages"]
    assert (cookie["samesite"], cookie["secure"]) == ("None", True)
    page = tool.client.get(response["Location"], secure=True)
    assert "Roster of “Algebra 7 (Period 2)” synced" in page.content.decode()


def test_cookies_of_other_sessions_keep_the_sites_samesite(client_for, alpha_teacher, canvas):
    client = client_for(alpha_teacher)
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"}, secure=True)
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, "messages"):
        if name in response.cookies:
            assert response.cookies[name]["samesite"] != "None", name


def test_a_launch_without_the_grade_service_drops_the_old_endpoints(canvas, make_course_in_lms):
    setup = make_course_in_lms(canvas)
    assert setup.link.lineitem_url
    # Grade sync switched off in the LMS: the next launch carries no AGS claim.
    setup.relaunch(ags=False)
    link = LtiResourceLink.objects.get(pk=setup.link.pk)
    assert (link.lineitem_url, link.lineitems_url, link.ags_scopes) == ("", "", [])

    session = setup.finish()
    assert grades.grade_passback_send(session_id=session.pk) is None
    row = GradePassback.objects.get(session=session)
    assert row.status == PassbackStatus.SKIPPED
    assert "Grade sync is off for this activity in the LMS" in row.last_error
    assert canvas.scores == [] and canvas.token_requests == []
    page = setup.teacher.client.get("/lti/courses/").content.decode()
    assert "Grade sync is off for this activity" in page


def test_a_launch_without_the_roster_service_drops_the_old_roster_url(canvas, lti_client, course):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    assert LtiContext.objects.get().memberships_url
    tool.follow(tool.launch(teacher(), course, nrps=False))
    context = LtiContext.objects.get()
    assert context.memberships_url == ""
    with pytest.raises(roster.RosterSyncError) as caught:
        roster.roster_sync(context=context)
    assert "Roster sharing is off for DreamSeed in the LMS" in str(caught.value)
    assert canvas.token_requests == []
    page = tool.client.get("/lti/courses/").content.decode()
    assert "Roster sharing is off in the LMS" in page


def test_a_deep_linking_launch_without_the_roster_claim_keeps_the_roster_url(
    canvas, lti_client, course
):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    tool.launch(teacher(), course, message_type="LtiDeepLinkingRequest", nrps=False)
    assert LtiContext.objects.get().memberships_url


def test_the_frames_cookie_check_page_can_post_a_handed_back_deep_link_response(
    canvas, lti_client, client_for, alpha_teacher
):
    # The new window keeps its opener through the login (no COOP same-origin on LTI pages), and
    # the frame's page may post the picker's answer to the LMS (form-action lists its origins).
    tool = lti_client(canvas)
    page = tool.login(teacher(), new_window=False, headers={"Sec-Fetch-Dest": "iframe"})
    assert page.status_code == 200
    assert 'rel="opener"' in page.content.decode()
    assert page["Cross-Origin-Opener-Policy"] == "unsafe-none"
    form_action = page["Content-Security-Policy"].split("form-action")[1].split(";")[0]
    assert canvas.platform.base_url in form_action
    # Pages outside LTI keep the site's policy.
    other = client_for(alpha_teacher).get("/")
    assert other["Cross-Origin-Opener-Policy"] == "same-origin"
