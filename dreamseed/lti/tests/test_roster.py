"""Roster sync over Names and Role Provisioning: the LMS course's members become the class's
students and teachers in DreamSeed."""

import pytest

from dreamseed.accounts.models import Role, User
from dreamseed.classes.models import ClassTeacher, Enrollment
from dreamseed.lti import roster
from dreamseed.lti.models import LtiContext, LtiIdentity
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.lti.tests.platform import LIS, SCOPE_NRPS


def _member(sub, roles, status="Active", **personal):
    return {"user_id": sub, "roles": roles, "status": status, **personal}


LEARNER = [LIS + "membership#Learner"]
INSTRUCTOR = [LIS + "membership#Instructor"]


@pytest.fixture
def linked(lti_client, course):
    """A course a teacher and one student opened DreamSeed from."""

    def build(lms):
        tool = lti_client(lms)
        tool.follow(tool.launch(teacher(lms.kind), course))
        learner = lti_client(lms)
        learner.follow(learner.launch(student(lms.kind), course))
        lms.members[course.id] = [
            _member("t-100", INSTRUCTOR, name="Grace Hopper"),
            _member("s-200", LEARNER, given_name="Ada", family_name="King"),
            _member("s-201", LEARNER, given_name="Bea", family_name="Ng", email="bea@ex.org"),
            _member("s-202", LEARNER, name="Cy Ortiz"),
            _member("s-203", LEARNER),
            _member("t-101", [LIS + "membership/Instructor#TeachingAssistant"], name="Tia"),
            _member("s-204", LEARNER, status="Inactive", given_name="Dee"),
        ]
        return tool, LtiContext.objects.get(platform=lms.registration)

    return build


def _enrolled_subs(context):
    return set(
        LtiIdentity.objects.filter(
            platform=context.platform,
            user__in=Enrollment.objects.filter(school_class=context.school_class).values("student"),
        ).values_list("sub", flat=True)
    )


@pytest.mark.parametrize("kind", ["canvas", "moodle"])
def test_a_teacher_imports_the_lms_roster(kind, request, lms_platform, linked):
    lms = request.getfixturevalue(kind)
    tool, context = linked(lms)
    response = tool.client.post(f"/lti/courses/{context.pk}/sync/")
    assert response.status_code == 302
    page = tool.client.get(response["Location"])
    assert "Roster of “Algebra 7 (Period 2)” synced" in page.content.decode()

    assert _enrolled_subs(context) == {"s-200", "s-201", "s-202", "s-203"}
    bea = LtiIdentity.objects.get(platform=context.platform, sub="s-201").user
    assert (bea.first_name, bea.last_name, bea.email, bea.role) == (
        "Bea",
        "Ng",
        "bea@ex.org",
        Role.STUDENT,
    )
    assert not bea.has_usable_password()
    ada = LtiIdentity.objects.get(platform=context.platform, sub="s-200").user
    assert ada.last_name == "King"  # names follow the LMS
    tia = LtiIdentity.objects.get(platform=context.platform, sub="t-101").user
    assert tia.role == Role.TEACHER
    assert ClassTeacher.objects.filter(school_class=context.school_class).count() == 2
    context.refresh_from_db()
    assert context.roster_synced_at is not None
    # s-204 is Inactive in the LMS: no account (and no seat) for them.
    assert context.roster_sync_summary.startswith("7 members: 4 new accounts")
    assert not LtiIdentity.objects.filter(sub="s-204").exists()
    if kind == "moodle":  # Moodle's membership URL has capitals; pages were followed as sent
        pages = [path for method, path in lms.platform.requests if "memberships" in path]
        assert len(pages) == 4 and all("CourseSection" in path for path in pages)


def test_a_second_sync_adds_nothing_and_removes_who_left(canvas, linked):
    _tool, context = linked(canvas)
    roster.roster_sync(context=context)
    users = User.objects.count()
    canvas.members["course-501"][3]["status"] = "Deleted"  # s-202 left the course
    result = roster.roster_sync(context=context)
    assert (result.created, result.enrolled, result.removed) == (0, 0, 1)
    assert User.objects.count() == users
    assert _enrolled_subs(context) == {"s-200", "s-201", "s-203"}
    # Their account stays.
    assert LtiIdentity.objects.filter(sub="s-202").exists()


def test_an_lms_that_refuses_the_roster_scope_gives_a_clear_message(canvas, linked):
    tool, context = linked(canvas)
    canvas.scopes_allowed.discard(SCOPE_NRPS)
    before = (User.objects.count(), Enrollment.objects.count())
    response = tool.client.post(f"/lti/courses/{context.pk}/sync/", follow=True)
    assert "The LMS did not send the roster" in response.content.decode()
    assert (User.objects.count(), Enrollment.objects.count()) == before


def test_roster_sync_is_for_the_courses_teachers(canvas, linked, client_for, alpha_teacher2):
    _tool, context = linked(canvas)
    assert client_for(alpha_teacher2).post(f"/lti/courses/{context.pk}/sync/").status_code == 404
    learner = LtiIdentity.objects.get(sub="s-200").user
    client = client_for(host="alpha.localhost")
    client.force_login(learner, backend="dreamseed.accounts.backends.AccountBackend")
    assert client.post(f"/lti/courses/{context.pk}/sync/").status_code == 403
    assert canvas.token_requests == []


def test_the_courses_page_lists_the_teachers_lms_courses(canvas, linked, client_for, alpha_admin):
    tool, _context = linked(canvas)
    page = tool.client.get("/lti/courses/")
    assert page.status_code == 200
    assert b"Algebra 7 (Period 2)" in page.content and b"Never synced" in page.content
    assert b"Algebra 7" in client_for(alpha_admin).get("/lti/courses/").content


def test_the_roster_sync_task_runs_the_sync(canvas, linked):
    from dreamseed.lti import tasks

    _tool, context = linked(canvas)
    assert tasks.roster_sync.run(context.pk).startswith("7 members")
    assert _enrolled_subs(context) == {"s-200", "s-201", "s-202", "s-203"}
    assert tasks.roster_sync.run(10**9) is None  # gone: nothing to do
    canvas.platform.tokens.clear()  # the LMS revoked our token...
    canvas.scopes_allowed.clear()  # ...and will not give another
    assert tasks.roster_sync.run(context.pk) is None  # logged, not raised
