"""LTI and the school's licence: launches work read-only when the licence has ended (people from
the LMS often have no password to sign in with otherwise), and students made by a launch or by
roster sync take seats, with a clear message in the LMS's frame and nothing half-made when the
seats run out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dreamseed.accounts.models import Role, User
from dreamseed.assessments.models import Assignment
from dreamseed.assessments.tests.factories import make_assessment, make_assignment
from dreamseed.classes.models import Class, Enrollment
from dreamseed.lti import roster
from dreamseed.lti.models import LtiContext, LtiIdentity
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.lti.tests.platform import LIS, LmsCourse
from dreamseed.schools.licensing import seats_used
from dreamseed.schools.models import LicenceStatus, School

MIDDLEWARE = "dreamseed.schools.licensing_middleware.LicenceReadOnlyMiddleware"
DEEP_LINKING = "LtiDeepLinkingRequest"
LEARNER = [LIS + "membership#Learner"]


@pytest.fixture(autouse=True)
def read_only_middleware(settings):
    if MIDDLEWARE not in settings.MIDDLEWARE:
        middleware = list(settings.MIDDLEWARE)
        at = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
        settings.MIDDLEWARE = [*middleware[:at], MIDDLEWARE, *middleware[at:]]


def _licence(school, **fields):
    School.objects.filter(pk=school.pk).update(**fields)


def _expire(school):
    _licence(
        school,
        licence_status=LicenceStatus.TRIALING,
        licence_expires_at=timezone.now() - timedelta(hours=1),
    )


def _seats_left(school, free: int):
    _licence(school, seats=seats_used() + free)


# --- Read-only schools ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [LicenceStatus.CANCELED, LicenceStatus.EXPIRED])
def test_known_people_still_launch_into_a_read_only_school(
    canvas, lti_client, course, alpha_school, personas, status
):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    school_class = LtiContext.objects.get().school_class
    assignment = make_assignment(
        assessment=make_assessment(author=personas["alpha_teacher"].user),
        school_class=school_class,
    )
    custom = {"dreamseed_assignment": str(assignment.pk)}
    learner = lti_client(canvas)
    learner.follow(learner.launch(student(), course, resource_link_id="rl-1", custom=custom))
    _licence(alpha_school, licence_status=status)

    # The teacher lands on the class, the student on their results (no new test can start).
    assert tool.follow(tool.launch(teacher(), course)) == f"/classes/{school_class.pk}/"
    landing = learner.follow(
        learner.launch(student(), course, resource_link_id="rl-1", custom=custom)
    )
    assert landing == "/tests/mine/"
    assert learner.client.get(landing).status_code == 200


def test_a_read_only_school_makes_no_new_account_and_says_why(canvas, lti_client, course,
                                                              alpha_school):  # fmt: skip
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    _expire(alpha_school)
    users = User.objects.count()

    response = lti_client(canvas).launch(student(sub="s-new"), course)
    assert response.status_code == 403
    assert "DreamSeed is read-only at this school" in response.content.decode()
    assert "frame-ancestors" in response["Content-Security-Policy"]  # shown in the LMS frame
    assert User.objects.count() == users
    assert not LtiIdentity.objects.filter(sub="s-new").exists()


def test_a_read_only_school_makes_no_class_for_a_new_course(canvas, lti_client, alpha_school):
    teacher_client = lti_client(canvas)
    teacher_client.follow(teacher_client.launch(teacher(), None))  # an account first, no course
    _expire(alpha_school)
    classes = Class.objects.count()
    landing = teacher_client.follow(teacher_client.launch(teacher(), LmsCourse(id="c-2")))
    assert landing == "/"
    assert Class.objects.count() == classes
    assert not LtiContext.objects.exists()


def test_a_read_only_school_adds_no_activity_by_deep_linking(canvas, lti_client, course,
                                                             alpha_school):  # fmt: skip
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    _expire(alpha_school)
    response = tool.launch(teacher(), course, message_type=DEEP_LINKING)
    assert response.status_code == 403
    assert "No new DreamSeed activities for now" in response.content.decode()


def test_the_read_only_middleware_lets_lti_sign_in_through(canvas, lti_client, course,
                                                           alpha_school):  # fmt: skip
    _expire(alpha_school)
    tool = lti_client(canvas)
    response = tool.login(teacher())
    assert response.status_code == 302  # on to the LMS, not the read-only 403 page
    assert response["Location"].startswith(canvas.auth_login_url)


# --- Seats ---------------------------------------------------------------------------------------


def test_a_student_launch_takes_a_seat(canvas, lti_client, course, alpha_school):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    _seats_left(alpha_school, 1)
    used = seats_used()
    learner = lti_client(canvas)
    learner.follow(learner.launch(student(), course))
    assert seats_used() == used + 1


def test_a_student_launch_past_the_seat_limit_is_refused_in_the_frame(
    canvas, lti_client, course, alpha_school
):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    _seats_left(alpha_school, 0)
    users, enrollments = User.objects.count(), Enrollment.objects.count()

    response = lti_client(canvas).launch(student(), course)
    assert response.status_code == 403
    page = response.content.decode()
    assert "No free seat for you at this school" in page
    assert "Billing page" in page
    assert "frame-ancestors" in response["Content-Security-Policy"]
    # Nothing half-made: no user, no identity, no enrollment.
    assert (User.objects.count(), Enrollment.objects.count()) == (users, enrollments)
    assert not LtiIdentity.objects.filter(sub="s-200").exists()


def test_teachers_and_returning_students_need_no_free_seat(canvas, lti_client, course,
                                                           alpha_school):  # fmt: skip
    learner = lti_client(canvas)
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    learner.follow(learner.launch(student(), course))
    _seats_left(alpha_school, 0)
    assert learner.follow(learner.launch(student(), course)) == "/tests/mine/"
    assert lti_client(canvas).launch(teacher(sub="t-2"), course).status_code == 302
    assert LtiIdentity.objects.get(sub="t-2").user.role == Role.TEACHER


def _roster(canvas, course, count):
    canvas.members[course.id] = [
        {"user_id": "t-100", "roles": [LIS + "membership#Instructor"], "status": "Active"},
        *(
            {"user_id": f"s-{n}", "roles": LEARNER, "status": "Active", "name": f"S {n}"}
            for n in range(count)
        ),
    ]


def test_roster_sync_past_the_seat_limit_adds_nobody_and_says_why(
    canvas, lti_client, course, alpha_school
):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    context = LtiContext.objects.get()
    _roster(canvas, course, 3)
    _seats_left(alpha_school, 2)
    users, enrollments = User.objects.count(), Enrollment.objects.count()

    response = tool.client.post(f"/lti/courses/{context.pk}/sync/", follow=True)
    page = response.content.decode()
    assert "The roster was not synced" in page
    assert "only 2 free" in page
    assert (User.objects.count(), Enrollment.objects.count()) == (users, enrollments)

    _seats_left(alpha_school, 3)
    result = roster.roster_sync(context=context)
    assert (result.created, result.enrolled) == (3, 3)


def test_a_background_roster_sync_past_the_seat_limit_is_shown_to_the_teacher(
    canvas, lti_client, course, alpha_school
):
    from dreamseed.lti import tasks

    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    context = LtiContext.objects.get()
    _roster(canvas, course, 2)
    _seats_left(alpha_school, 0)
    assert tasks.roster_sync.run(context.pk) is None
    page = tool.client.get("/lti/courses/").content.decode()
    assert "The roster was not synced" in page
    assert "All student seats" in page


def test_a_deep_linked_activity_is_not_created_in_a_read_only_school(
    canvas, lti_client, course, alpha_school
):
    tool = lti_client(canvas)
    tool.follow(tool.launch(teacher(), course))
    _expire(alpha_school)
    before = Assignment.objects.count()
    tool.launch(teacher(), course, message_type=DEEP_LINKING)
    assert Assignment.objects.count() == before
