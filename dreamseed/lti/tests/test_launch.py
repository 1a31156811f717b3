"""Valid launches from Canvas- and Moodle-shaped id_tokens: who the person becomes, which class
the course becomes, where they land, and how the pages may be framed."""

import pytest

from dreamseed.accounts.models import Role, User
from dreamseed.assessments.tests.factories import make_assessment, make_assignment
from dreamseed.classes.models import Class, ClassTeacher, Enrollment
from dreamseed.lti.models import (
    LtiContext,
    LtiDeployment,
    LtiIdentity,
    LtiPlatform,
    LtiResourceLink,
)
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.lti.tests.platform import (
    CANVAS_ADMIN,
    LIS,
    MOODLE_ADMIN,
    SCOPE_SCORE,
    LmsCourse,
    LmsUser,
)


def _identity(lms, sub):
    return LtiIdentity.objects.select_related("user").get(platform=lms.registration, sub=sub)


def test_a_canvas_teacher_gets_an_account_and_a_class_for_the_course(canvas, lti_client, course):
    tool = lti_client(canvas)
    landing = tool.follow(tool.launch(teacher(), course))

    user = _identity(canvas, "t-100").user
    assert (user.role, user.first_name, user.last_name, user.email) == (
        Role.TEACHER,
        "Grace",
        "Hopper",
        "grace@springfield.example",
    )
    assert not user.has_usable_password()
    link = LtiContext.objects.get(platform=canvas.registration, context_id="course-501")
    assert link.school_class.name == "Algebra 7 (Period 2)"
    assert list(link.school_class.teachers.all()) == [user]
    assert link.memberships_url == canvas.memberships_url("course-501")
    assert landing == f"/classes/{link.school_class_id}/"
    # Signed in as them, at this school.
    assert tool.client.get(landing).context["user"] == user


def test_the_second_launch_links_the_same_person_and_class(canvas, lti_client, course):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    tool.follow(tool.launch(teacher(given_name="Grace B."), course))
    assert LtiIdentity.objects.filter(platform=canvas.registration).count() == 1
    assert LtiContext.objects.filter(platform=canvas.registration).count() == 1
    assert _identity(canvas, "t-100").user.first_name == "Grace B."


def test_a_moodle_student_is_enrolled_in_the_courses_class(moodle, lti_client, course):
    tool = lti_client(moodle)
    tool.follow(tool.launch(teacher("moodle"), course))
    landing = tool.follow(tool.launch(student("moodle"), course))

    user = _identity(moodle, "s-200").user
    assert user.role == Role.STUDENT
    school_class = LtiContext.objects.get(platform=moodle.registration).school_class
    assert Enrollment.objects.filter(school_class=school_class, student=user).exists()
    assert landing == "/tests/mine/"


def test_a_student_before_any_teacher_is_told_to_wait(moodle, lti_client, course):
    tool = lti_client(moodle)
    landing = tool.follow(tool.launch(student("moodle"), course))
    assert landing == "/lti/notice/course_not_ready/"
    assert not LtiContext.objects.exists()
    page = tool.client.get(landing)
    assert b"has not opened DreamSeed in this course yet" in page.content


def test_a_link_placed_by_deep_linking_opens_its_test(canvas, lti_client, course, personas):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    school_class = LtiContext.objects.get().school_class
    assessment = make_assessment(author=personas["alpha_teacher"].user)
    assignment = make_assignment(assessment=assessment, school_class=school_class)

    response = tool.launch(
        student(), course, resource_link_id="rl-9", custom={"dreamseed_assignment": assignment.pk}
    )
    assert tool.follow(response) == f"/tests/take/{assignment.pk}/"
    link = LtiResourceLink.objects.get(resource_link_id="rl-9")
    assert link.assignment == assignment
    assert link.lineitem_url == canvas.lineitem_url("course-501", "7")
    assert SCOPE_SCORE in link.ags_scopes
    # The student's start page is there, inside the class they were enrolled in.
    page = tool.client.get(f"/tests/take/{assignment.pk}/")
    assert page.status_code == 200
    assert assessment.name.encode() in page.content

    # The teacher opening the same link sees the assignment's page.
    landing = tool.follow(
        tool.launch(
            teacher(),
            course,
            resource_link_id="rl-9",
            custom={"dreamseed_assignment": assignment.pk},
        )
    )
    assert landing == f"/tests/assignments/{assignment.pk}/"


def test_a_copied_course_gets_its_own_assignment_of_the_same_test(
    canvas, lti_client, course, personas
):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    original = make_assignment(
        assessment=make_assessment(author=personas["alpha_teacher"].user),
        school_class=LtiContext.objects.get().school_class,
    )
    copy = LmsCourse(id="course-777", title="Algebra 7 (next year)")
    custom = {"dreamseed_assignment": original.pk}
    tool.follow(tool.launch(teacher(), copy, resource_link_id="rl-copy", custom=custom))
    landing = tool.follow(tool.launch(student(), copy, resource_link_id="rl-copy", custom=custom))

    new_class = LtiContext.objects.get(context_id="course-777").school_class
    link = LtiResourceLink.objects.get(resource_link_id="rl-copy")
    assert link.assignment != original
    assert (link.assignment.assessment, link.assignment.school_class) == (
        original.assessment,
        new_class,
    )
    assert landing == f"/tests/take/{link.assignment.pk}/"
    assert not original.school_class.students.filter(lti_identities__sub="s-200").exists()


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        (CANVAS_ADMIN, Role.ADMIN),
        (MOODLE_ADMIN, Role.ADMIN),
        ([LIS + "membership/Instructor#TeachingAssistant"], Role.TEACHER),
        ([LIS + "membership#Learner", LIS + "membership#Instructor"], Role.TEACHER),
        (["Instructor"], Role.TEACHER),
        (["http://example.com/roles#Wizard", LIS + "membership#Mentor"], Role.STUDENT),
        ([], Role.STUDENT),
    ],
    ids=[
        "canvas-admin",
        "moodle-admin",
        "teaching-assistant",
        "multiple-roles",
        "short-name",
        "unknown-roles",
        "empty-roles",
    ],
)
def test_roles_map_to_dreamseed_roles(canvas, lti_client, course, roles, role):
    tool = lti_client(canvas)
    tool.follow(tool.launch(LmsUser(sub="u-1", roles=roles), course))
    user = _identity(canvas, "u-1").user
    assert user.role == role
    assert user.is_staff is False and user.is_superuser is False
    staff = role != Role.STUDENT
    assert LtiContext.objects.exists() is staff
    if not staff:
        assert tool.client.get("/lti/platforms/").status_code == 403
        assert tool.client.get("/classes/new/").status_code == 403


def test_a_later_launch_raises_a_role_but_never_lowers_it(canvas, lti_client, course):
    tool = lti_client(canvas)
    tool.follow(tool.launch(student(sub="x-1"), course))
    assert _identity(canvas, "x-1").user.role == Role.STUDENT
    tool.follow(tool.launch(teacher(sub="x-1"), course))
    assert _identity(canvas, "x-1").user.role == Role.TEACHER
    tool.follow(tool.launch(student(sub="x-1"), course))
    assert _identity(canvas, "x-1").user.role == Role.TEACHER


@pytest.mark.parametrize(
    ("personal", "expected"),
    [
        ({"email": "only@springfield.example"}, ("", "", "only@springfield.example")),
        ({"given_name": "Alan", "family_name": "Turing"}, ("Alan", "Turing", "")),
        ({"name": "Katherine Johnson"}, ("Katherine Johnson", "", "")),
        ({}, ("", "", "")),
    ],
    ids=["email-only", "names-only", "full-name-only", "no-personal-data"],
)
def test_names_and_email_are_used_when_sent(moodle, lti_client, course, personal, expected):
    tool = lti_client(moodle)
    user_claims = LmsUser(sub="p-1", roles=[LIS + "membership#Learner"], **personal)
    response = tool.launch(user_claims)
    assert response.status_code == 302
    user = _identity(moodle, "p-1").user
    assert (user.first_name, user.last_name, user.email) == expected
    assert user.username.startswith("lti-")


def test_a_launch_without_a_course_signs_in_and_creates_no_class(canvas, lti_client):
    tool = lti_client(canvas)
    classes = Class.objects.count()
    assert tool.follow(tool.launch(teacher())) == "/"
    assert tool.follow(tool.launch(student())) == "/tests/mine/"
    assert Class.objects.count() == classes
    assert LtiResourceLink.objects.filter(context__isnull=True).count() == 1


def test_an_instructor_launch_adds_a_co_teacher_to_the_existing_class(canvas, lti_client, course):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    tool.follow(tool.launch(teacher(sub="t-101", given_name="Tara"), course))
    school_class = LtiContext.objects.get().school_class
    assert ClassTeacher.objects.filter(school_class=school_class).count() == 2


def test_an_instructor_launch_queues_a_roster_sync(
    canvas, lti_client, course, monkeypatch, django_capture_on_commit_callbacks
):
    from dreamseed.lti import tasks

    queued = []
    # Sent through the outbox, which publishes with apply_async after the commit.
    monkeypatch.setattr(
        tasks.roster_sync,
        "apply_async",
        lambda args=(), kwargs=None, **options: queued.append(tuple(args)),
    )
    tool = lti_client(canvas)
    with django_capture_on_commit_callbacks(execute=True):
        tool.follow(tool.launch(teacher(), course))
        tool.follow(tool.launch(student(), course))
    assert queued == [(LtiContext.objects.get().pk,)]


# --- Framing, cookies, login initiation ------------------------------------------------------------


def test_launch_pages_may_be_framed_by_the_registered_lms_only(canvas, lti_client, course):
    tool = lti_client(canvas)
    response = tool.launch(student(), course)
    origin = canvas.platform.base_url
    policy = response["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {origin}" in policy
    assert "X-Frame-Options" not in response
    # Pages of this LTI session (the student's tests) too; others stay unframeable.
    page = tool.client.get(tool.follow(response))
    assert f"frame-ancestors 'self' {origin}" in page["Content-Security-Policy"]
    assert "X-Frame-Options" not in page


def test_pages_of_an_ordinary_session_stay_unframeable(client_for, alpha_teacher, canvas):
    response = client_for(alpha_teacher).get("/classes/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'self';" in response["Content-Security-Policy"] + ";"


def test_over_https_the_session_and_csrf_cookies_are_samesite_none(
    canvas, lti_client, course, settings
):
    canvas.tool_launch_url = "https://alpha.localhost/lti/launch/"
    tool = lti_client(canvas, secure=True)
    response = tool.launch(teacher(), course)
    assert response.status_code == 302, response.content.decode()[:2000]
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        cookie = response.cookies[name]
        assert cookie["samesite"] == "None", name
        assert cookie["secure"] is True, name
    # And on the pages of that session, whenever Django sets them again.
    page = tool.client.get(tool.follow(response), secure=True)
    assert page.status_code == 200
    if settings.CSRF_COOKIE_NAME in page.cookies:
        assert page.cookies[settings.CSRF_COOKIE_NAME]["samesite"] == "None"


def test_pylti1p3_state_cookie_is_samesite_none_over_https(canvas, lti_client):
    canvas.tool_launch_url = "https://alpha.localhost/lti/launch/"
    tool = lti_client(canvas, secure=True)
    response = tool.login(teacher())
    assert response.status_code == 302
    state_cookies = [c for name, c in response.cookies.items() if name.startswith("lti1p3-")]
    assert state_cookies
    assert all(c["samesite"] == "None" and c["secure"] is True for c in state_cookies)


def test_login_in_a_frame_shows_the_cookie_check_first(canvas, lti_client):
    tool = lti_client(canvas)
    response = tool.login(teacher(), new_window=False, headers={"Sec-Fetch-Dest": "iframe"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Open DreamSeed in a new window" in page
    assert "lti1p3_new_window=1" in page
    assert "js/lti-cookie-check.js" in page
    assert "<script>" not in page  # no inline script: CSP script-src 'self'
    assert (
        f"frame-ancestors 'self' {canvas.platform.base_url}" in response["Content-Security-Policy"]
    )


def test_a_top_level_login_skips_the_cookie_check(canvas, lti_client):
    tool = lti_client(canvas)
    response = tool.login(teacher(), new_window=False, headers={"Sec-Fetch-Dest": "document"})
    assert response.status_code == 302
    assert response["Location"].startswith(canvas.auth_login_url)


def test_login_sends_the_oidc_authorization_request(canvas, lti_client):
    tool = lti_client(canvas)
    auth = tool.start(teacher())
    assert auth["client_id"] == canvas.client_id
    assert auth["redirect_uri"] == "http://alpha.localhost/lti/launch/"
    assert auth["login_hint"] == "t-100"
    assert auth["lti_message_hint"] == "hint"
    assert (auth["scope"], auth["response_type"], auth["response_mode"], auth["prompt"]) == (
        "openid",
        "id_token",
        "form_post",
        "none",
    )
    assert auth["state"] and auth["nonce"]


def test_a_launch_that_cannot_keep_its_session_cookie_offers_a_new_window(
    canvas, lti_client, client_for
):
    tool = lti_client(canvas)
    response = tool.launch(student())
    continue_url = response["Location"]
    # A browser that dropped the session cookie in the frame arrives anonymous.
    framed = client_for(host="alpha.localhost")
    page = framed.get(continue_url)
    assert page.status_code == 200
    assert b"Open DreamSeed in a new window" in page.content
    assert f"frame-ancestors 'self' {canvas.platform.base_url}" in page["Content-Security-Policy"]
    # The new window signs them in, once.
    new_window = client_for(host="alpha.localhost")
    landed = new_window.get(continue_url + "?window=new")
    assert landed.status_code == 302 and landed["Location"] == "/tests/mine/"
    assert new_window.get("/tests/mine/").context["user"].lti_identities.get().sub == "s-200"
    again = client_for(host="alpha.localhost").get(continue_url + "?window=new")
    assert again.status_code == 400


def test_jwks_publishes_the_schools_public_key(canvas, client_for):
    keys = client_for(host="alpha.localhost").get("/lti/jwks/").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert "d" not in keys[0]  # public half only
    assert keys == canvas.tool_jwks["keys"]


def test_a_deactivated_account_cannot_launch(canvas, lti_client, course):
    tool = lti_client(canvas)
    tool.follow(tool.launch(student(), course))
    User.objects.filter(lti_identities__sub="s-200").update(is_active=False)
    response = tool.launch(student(), course)
    assert response.status_code == 403
    assert b"deactivated" in response.content


def test_one_lms_person_through_two_registrations_is_one_user(canvas, lti_client, course):
    """sub is unique per issuer: two developer keys of the same Canvas reach the same person."""
    tool = lti_client(canvas)
    tool.follow(tool.launch(student(), course))
    first = _identity(canvas, "s-200").user
    second_key = LtiPlatform.objects.create(
        name="Canvas, second key",
        vendor="canvas",
        issuer=canvas.issuer,
        client_id="10000000000099",
        auth_login_url=canvas.auth_login_url,
        auth_token_url=canvas.token_url,
        key_set_url=canvas.jwks_url,
        frame_origins=canvas.platform.base_url,
    )
    LtiDeployment.objects.create(platform=second_key, deployment_id="99:second")
    canvas.client_id, canvas.deployment_id = "10000000000099", "99:second"
    again = lti_client(canvas)
    again.follow(again.launch(student()))
    assert LtiIdentity.objects.get(platform=second_key, sub="s-200").user == first
