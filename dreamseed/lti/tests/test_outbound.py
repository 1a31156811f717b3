"""The outbound-request policy on LTI's URLs: refused at registration (a form error) and at every
fetch (key set, token, grades, roster), so that anyone who signs up a school cannot make the
server request its own network."""

import pytest

from dreamseed.lti import grades, roster
from dreamseed.lti.models import GradePassback, LtiContext, LtiPlatform, PassbackStatus
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.lti.tests.test_registration import MOODLE_FORM


@pytest.fixture
def admin(client_for, alpha_admin, alpha_school):
    return client_for(alpha_admin)


@pytest.mark.parametrize(
    ("field", "url", "message"),
    [
        ("key_set_url", "http://127.0.0.1:8000/jwks", "loopback"),
        ("key_set_url", "https://localhost/jwks", "loopback"),
        ("auth_token_url", "http://169.254.169.254/latest/meta-data/", "link-local"),
        ("auth_token_url", "https://10.0.0.5/token", "private"),
        ("auth_login_url", "https://[fd00::1]/auth", "private"),
        ("key_set_url", "https://192.168.1.10/jwks", "private"),
    ],
)
def test_registration_refuses_urls_on_this_servers_network(admin, settings, field, url, message):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    response = admin.post("/lti/platforms/new/", {**MOODLE_FORM, field: url})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not LtiPlatform.objects.exists()


def test_registration_refuses_plain_http_in_production(admin, settings):
    settings.OUTBOUND_HTTPS_ONLY = True
    form = {**MOODLE_FORM, "key_set_url": "http://moodle.springfield.example/mod/lti/certs.php"}
    response = admin.post("/lti/platforms/new/", form)
    assert response.status_code == 400
    assert "must use https://" in response.content.decode()
    assert not LtiPlatform.objects.exists()


def test_an_anonymous_launch_makes_no_request_to_a_loopback_key_set(
    canvas, lti_client, course, settings, lms_platform
):
    # A registration made before the policy existed (or straight in the database): its key set
    # is on 127.0.0.1. Anyone can start a login and post an id_token; the server must not fetch.
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    tool = lti_client(canvas)
    lms_platform.requests.clear()
    response = tool.launch(student(), course)
    assert response.status_code == 400
    assert "signature" in response.content.decode()
    assert lms_platform.requests == []


def test_grade_passback_to_a_refused_address_fails_at_once(canvas, lti_client, course, personas,
                                                           settings):  # fmt: skip
    from dreamseed.lti.tests.test_grades import Course

    setup = Course(canvas, lti_client, course, personas)
    session = setup.finish()
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    assert grades.grade_passback_send(session_id=session.pk) is None
    row = GradePassback.objects.get(session=session)
    assert row.status == PassbackStatus.FAILED
    assert "loopback" in row.last_error
    assert canvas.scores == [] and canvas.token_requests == []


def test_roster_sync_from_a_refused_address_says_why(canvas, lti_client, course, settings):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    context = LtiContext.objects.get()
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(roster.RosterSyncError) as caught:
        roster.roster_sync(context=context)
    assert "does not fetch the roster from this address" in str(caught.value)
    assert canvas.token_requests == []
