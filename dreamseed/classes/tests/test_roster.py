"""The class page's roster: search, sort, adding students, bulk enroll/unenroll, sign-in slips."""

import re

import pytest

from dreamseed.accounts.models import Role, User
from dreamseed.classes.models import Enrollment, StudentProfile
from dreamseed.classes.tests.conftest import make_students
from dreamseed.testing import in_schema, school_client


def _enrolled(persona, school_class):
    with in_schema(persona.schema_name):
        return set(
            Enrollment.objects.filter(school_class=school_class).values_list(
                "student__username", flat=True
            )
        )


def _roster_usernames(response):
    return [enrollment.student.username for enrollment in response.context["page"].object_list]


def test_the_class_page_lists_the_roster(client_for, alpha_teacher, math_class):
    make_students(alpha_teacher, 3, school_class=math_class)
    page = client_for(alpha_teacher).get(f"/classes/{math_class.pk}/")
    assert page.status_code == 200
    assert _roster_usernames(page) == ["pupil000", "pupil001", "pupil002", "sam"]
    assert "4 students" in page.text
    assert math_class.join_code in page.text


def test_the_roster_can_be_searched(client_for, alpha_teacher, math_class):
    make_students(alpha_teacher, 12, school_class=math_class)
    page = client_for(alpha_teacher).get(f"/classes/{math_class.pk}/?q=first011")
    assert _roster_usernames(page) == ["pupil011"]
    page = client_for(alpha_teacher).get(f"/classes/{math_class.pk}/?q=nobody-like-this")
    assert _roster_usernames(page) == []
    assert "No student matches" in page.text


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["pupil000", "pupil001", "pupil002", "sam"]),
        ("-name", ["sam", "pupil002", "pupil001", "pupil000"]),
        ("username", ["pupil000", "pupil001", "pupil002", "sam"]),
        ("-username", ["sam", "pupil002", "pupil001", "pupil000"]),
        ("grade", ["pupil000", "pupil002", "pupil001", "sam"]),  # 5, 5, 6, none (last)
        ("not-a-column", ["pupil000", "pupil001", "pupil002", "sam"]),
    ],
)
def test_the_roster_can_be_sorted(client_for, alpha_teacher, math_class, sort, expected):
    make_students(alpha_teacher, 3, school_class=math_class)
    page = client_for(alpha_teacher).get(f"/classes/{math_class.pk}/?sort={sort}")
    assert _roster_usernames(page) == expected


def test_the_sorted_column_is_announced(client_for, alpha_teacher, math_class):
    page = client_for(alpha_teacher).get(f"/classes/{math_class.pk}/?sort=-username")
    assert 'aria-sort="descending"' in page.text
    assert 'href="?sort=username"' in page.text  # clicking again flips it


def test_class_page_with_40_students_has_a_fixed_number_of_queries(
    client_for, alpha_teacher, math_class, django_assert_max_num_queries
):
    make_students(alpha_teacher, 40, school_class=math_class)
    client = client_for(alpha_teacher)
    client.get(f"/classes/{math_class.pk}/")  # warm up the tenant and content-type caches
    # SET search_path x2, domain, user, class, its teachers, count, roster page: 8, whatever
    # the size of the class (one spare for a cold cache), plus the audit log's row for a staff
    # view of student data (its savepoint and INSERT inside the test's transaction): 11; plus
    # the results summary and the tests table: 13.
    with django_assert_max_num_queries(13):
        page = client.get(f"/classes/{math_class.pk}/?sort=grade")
    assert len(page.context["page"].object_list) == 41


def test_a_teacher_adds_a_student_and_gets_a_slip_to_print(client_for, alpha_teacher, math_class):
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/students/new/",
        {"first_name": "Nina", "last_name": "Park", "username": "Nina.Park", "grade": "5"},
    )
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )
    (credential,) = response.context["credentials"]
    assert credential.student.username == "nina.park"
    assert credential.password in response.text
    assert "nina.park" in _enrolled(alpha_teacher, math_class)
    with in_schema(alpha_teacher.schema_name):
        assert StudentProfile.objects.get(user__username="nina.park").grade == "5"
    # The student signs in with the slip.
    student = school_client(alpha_teacher.host)
    signed_in = student.post(
        "/accounts/login/", {"username": "nina.park", "password": credential.password}
    )
    assert signed_in.status_code == 302


def test_a_student_added_with_only_an_email_uses_it_as_username(
    client_for, alpha_teacher, math_class
):
    client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/students/new/",
        {"first_name": "Eve", "last_name": "Lee", "email": "Eve@Example.org"},
    )
    with in_schema(alpha_teacher.schema_name):
        eve = User.objects.get(username="eve@example.org")
        assert eve.email == "eve@example.org" and eve.role == Role.STUDENT


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"first_name": "A", "last_name": "B"}, "username", "username or an email"),
        ({"first_name": "A", "last_name": "B", "username": "has space"}, "username", "no spaces"),
        ({"first_name": "A", "last_name": "B", "email": "bob@"}, "email", "valid email"),
        ({"first_name": "", "last_name": "B", "username": "ab"}, "first_name", "required"),
        ({"first_name": "A", "last_name": "B", "username": "SAM"}, "username", "already has"),
        (
            {"first_name": "A", "last_name": "B", "username": "teacher@alpha.example"},
            "username",
            "already has",
        ),
    ],
)
def test_bad_student_input_is_a_field_error(
    client_for, alpha_teacher, math_class, data, field, message
):
    response = client_for(alpha_teacher).post(f"/classes/{math_class.pk}/students/new/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])


def test_bulk_enroll_existing_students(client_for, alpha_teacher, alpha_student2, math_class):
    pupils = make_students(alpha_teacher, 3)
    client = client_for(alpha_teacher)
    page = client.get(f"/classes/{math_class.pk}/enroll/")
    offered = {student.username for student in page.context["candidates"]}
    assert {"pupil000", "pupil001", "pupil002", "sara"} <= offered
    assert "sam" not in offered  # already in the class
    assert "teacher@alpha.example" not in offered  # staff are never enrolled
    response = client.post(
        f"/classes/{math_class.pk}/enroll/",
        {"students": [pupils[0].pk, pupils[2].pk, alpha_student2.user_id]},
        follow=True,
    )
    assert "3 students enrolled" in response.text
    assert _enrolled(alpha_teacher, math_class) == {"sam", "sara", "pupil000", "pupil002"}


def test_bulk_enroll_searches(client_for, alpha_teacher, math_class):
    make_students(alpha_teacher, 3)
    page = client_for(alpha_teacher).get(f"/classes/{math_class.pk}/enroll/?q=first001")
    assert [student.username for student in page.context["candidates"]] == ["pupil001"]


def test_bulk_enroll_refuses_staff_and_strangers(
    client_for, alpha_teacher, alpha_teacher2, math_class
):
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/enroll/", {"students": [alpha_teacher2.user_id, 987654]}
    )
    assert response.status_code == 400
    assert _enrolled(alpha_teacher, math_class) == {"sam"}


def test_bulk_enroll_with_nothing_selected_says_so(client_for, alpha_teacher, math_class):
    response = client_for(alpha_teacher).post(f"/classes/{math_class.pk}/enroll/", {})
    assert response.status_code == 400
    assert "Select at least one student" in response.text


def test_bulk_unenroll(client_for, alpha_teacher, math_class):
    pupils = make_students(alpha_teacher, 3, school_class=math_class)
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/unenroll/",
        {"students": [pupils[0].pk, pupils[1].pk]},
        follow=True,
    )
    assert "2 students were removed" in response.text
    assert _enrolled(alpha_teacher, math_class) == {"sam", "pupil002"}
    with in_schema(alpha_teacher.schema_name):
        assert User.objects.filter(pk=pupils[0].pk).exists()  # the account stays


def test_unenroll_only_touches_this_class(
    client_for, alpha_teacher, alpha_student2, math_class, art_class
):
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/unenroll/", {"students": [alpha_student2.user_id]}, follow=True
    )
    assert "Select a valid choice" in response.text
    assert _enrolled(alpha_teacher, art_class) == {"sara"}


def test_slips_preselect_students_who_cannot_sign_in_yet(client_for, alpha_teacher, math_class):
    make_students(alpha_teacher, 2, school_class=math_class)
    page = client_for(alpha_teacher).get(f"/classes/{math_class.pk}/slips/")
    assert page.status_code == 200
    with in_schema(alpha_teacher.schema_name):
        ids = {
            str(pk)
            for pk in User.objects.filter(username__startswith="pupil").values_list("pk", flat=True)
        }
    assert page.context["selected"] == ids  # not sam, who has a password


def test_printing_slips_gives_new_passwords_that_work(
    client_for, alpha_teacher, alpha_student, math_class
):
    pupils = make_students(alpha_teacher, 2, school_class=math_class)
    client = client_for(alpha_teacher)
    # Step one, from the roster's checkboxes: only a confirmation.
    step_one = client.post(
        f"/classes/{math_class.pk}/slips/", {"students": [pupils[0].pk, alpha_student.user_id]}
    )
    assert step_one.status_code == 200 and "credentials" not in step_one.context
    assert step_one.context["selected"] == {str(pupils[0].pk), str(alpha_student.user_id)}
    with in_schema(alpha_teacher.schema_name):
        assert not User.objects.get(pk=pupils[0].pk).has_usable_password()
    # Step two: new passwords, printed once.
    slips = client.post(
        f"/classes/{math_class.pk}/slips/",
        {"students": [pupils[0].pk, alpha_student.user_id], "generate": "1"},
    )
    assert slips.status_code == 200
    assert "no-cache" in slips["Cache-Control"] or "no-store" in slips["Cache-Control"]
    credentials = {c.student.username: c.password for c in slips.context["credentials"]}
    assert set(credentials) == {"pupil000", "sam"}
    for username, password in credentials.items():
        assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}", password)
        assert password in slips.text
        login = school_client(alpha_teacher.host).post(
            "/accounts/login/", {"username": username, "password": password}
        )
        assert login.status_code == 302, username


def test_slips_ends_the_students_open_sessions(
    client_for, alpha_teacher, alpha_student, math_class
):
    student = client_for(alpha_student)
    assert student.get("/").status_code == 200
    client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/slips/", {"students": [alpha_student.user_id], "generate": "1"}
    )
    assert student.get("/").status_code == 302


def test_slips_need_a_selection(client_for, alpha_teacher, math_class):
    response = client_for(alpha_teacher).post(f"/classes/{math_class.pk}/slips/", {"generate": "1"})
    assert response.status_code == 400
    assert "Select at least one student" in response.text


def test_slips_refuse_students_of_other_classes(
    client_for, alpha_teacher, alpha_student2, math_class, art_class
):
    before = alpha_student2.user.password
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/slips/", {"students": [alpha_student2.user_id], "generate": "1"}
    )
    assert response.status_code == 400
    assert alpha_student2.user.password == before


def test_resetting_one_students_password(client_for, alpha_teacher, alpha_student, math_class):
    client = client_for(alpha_teacher)
    confirm = client.get(f"/classes/students/{alpha_student.user_id}/password/")
    assert "old password stops working" in confirm.text
    response = client.post(f"/classes/students/{alpha_student.user_id}/password/")
    (credential,) = response.context["credentials"]
    assert alpha_student.user.check_password(credential.password)


def test_temporary_passwords_use_a_lighter_pbkdf2_that_is_upgraded_at_first_sign_in(
    alpha_teacher, math_class, settings
):
    """See TEMPORARY_PASSWORD_ITERATIONS in services.py for why this is safe."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from dreamseed.classes.services import TEMPORARY_PASSWORD_ITERATIONS, student_passwords_reset

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    (pupil,) = make_students(alpha_teacher, 1)
    with in_schema(alpha_teacher.schema_name):
        (credential,) = student_passwords_reset(students=[pupil])
        pupil.refresh_from_db()
        assert pupil.password.startswith(f"pbkdf2_sha256${TEMPORARY_PASSWORD_ITERATIONS}$")
        assert pupil.check_password(credential.password)  # a successful check upgrades it
        pupil.refresh_from_db()
        assert pupil.password.startswith(f"pbkdf2_sha256${PBKDF2PasswordHasher.iterations}$")
