"""The student side: home page with their classes, joining a class by typing its code."""

import pytest
from django.core.cache import cache

from dreamseed.classes.models import Enrollment
from dreamseed.classes.services import JOIN_FAILURES_ALLOWED
from dreamseed.testing import in_schema


def _is_enrolled(persona, school_class):
    with in_schema(persona.schema_name):
        return Enrollment.objects.filter(
            school_class=school_class, student_id=persona.user_id
        ).exists()


def test_a_student_joins_a_class_by_typing_its_code(client_for, alpha_student2, math_class):
    client = client_for(alpha_student2)
    typed = f" {math_class.join_code[:3].lower()}-{math_class.join_code[3:]} "
    response = client.post("/classes/join/", {"code": typed, "next": "/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "You joined Math 5A" in response.text
    assert _is_enrolled(alpha_student2, math_class)
    assert "Math 5A" in client.get("/classes/mine/").text


def test_joining_twice_is_harmless(client_for, alpha_student, math_class):
    response = client_for(alpha_student).post(
        "/classes/join/", {"code": math_class.join_code}, follow=True
    )
    assert "already in Math 5A" in response.text
    with in_schema(alpha_student.schema_name):
        assert Enrollment.objects.filter(student_id=alpha_student.user_id).count() == 1


def test_a_wrong_code_is_a_field_error_tied_to_the_input(client_for, alpha_student2, math_class):
    response = client_for(alpha_student2).post("/classes/join/", {"code": "ZZZZZZ"})
    assert response.status_code == 400
    assert "No class has that code" in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'aria-describedby="id_code_helptext id_code_error"' in response.text
    assert 'id="id_code_error"' in response.text
    assert not _is_enrolled(alpha_student2, math_class)


def test_an_empty_code_is_a_field_error(client_for, alpha_student2):
    response = client_for(alpha_student2).post("/classes/join/", {"code": ""})
    assert response.status_code == 400
    assert "This field is required" in response.text


def test_an_old_code_stops_working_after_a_new_one_is_made(
    client_for, alpha_teacher, alpha_student2, math_class
):
    old = math_class.join_code
    client_for(alpha_teacher).post(f"/classes/{math_class.pk}/join-code/")
    response = client_for(alpha_student2).post("/classes/join/", {"code": old})
    assert response.status_code == 400
    assert not _is_enrolled(alpha_student2, math_class)


@pytest.fixture
def forget_join_failures(alpha_student2):
    """The failure counter lives in Redis, outside the test's transaction."""
    yield
    with in_schema(alpha_student2.schema_name):
        cache.delete(f"class-join-failures:{alpha_student2.user_id}")


def test_guessing_codes_is_stopped_after_a_few_tries(
    client_for, alpha_student2, math_class, forget_join_failures
):
    client = client_for(alpha_student2)
    for _ in range(JOIN_FAILURES_ALLOWED):
        client.post("/classes/join/", {"code": "ZZZZZZ"})
    response = client.post("/classes/join/", {"code": math_class.join_code})
    assert response.status_code == 400
    assert "Too many wrong codes" in response.text
    assert not _is_enrolled(alpha_student2, math_class)


def test_the_next_address_must_be_on_this_site(client_for, alpha_student2, math_class):
    response = client_for(alpha_student2).post(
        "/classes/join/", {"code": math_class.join_code, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/classes/mine/"


def test_student_home_lists_their_classes_and_a_join_form(
    client_for, alpha_student, math_class, art_class
):
    page = client_for(alpha_student).get("/")
    assert [c.name for c in page.context["classes"]] == ["Math 5A"]
    assert "Tomas Teach" in page.text  # their teacher
    assert "Art 5B" not in page.text
    assert 'name="code"' in page.text
    assert '<label for="id_code">' in page.text
    assert 'href="/classes/mine/"' in page.text  # the "My classes" link


def test_student_pages_have_landmarks_and_a_labelled_form(client_for, alpha_student, math_class):
    page = client_for(alpha_student).get("/classes/mine/").text
    assert '<main id="main"' in page and "<nav" in page
    assert "<h1>My classes</h1>" in page
    assert 'aria-labelledby="join-heading"' in page and 'id="join-heading"' in page
    assert '<label for="id_code">Class code</label>' in page


def test_archived_classes_disappear_from_student_home(client_for, alpha_student, math_class):
    with in_schema(alpha_student.schema_name):
        math_class.archive()
    assert list(client_for(alpha_student).get("/").context["classes"]) == []


def test_teacher_home_lists_their_classes_with_counts(
    client_for, alpha_teacher, math_class, art_class
):
    page = client_for(alpha_teacher).get("/")
    (school_class,) = page.context["classes"]
    assert school_class.name == "Math 5A" and school_class.student_count == 1
    assert "1 student" in page.text and math_class.join_code in page.text
    assert 'href="/classes/"' in page.text  # the "Classes" link


def test_admin_home_counts_all_classes(client_for, alpha_admin, math_class, art_class):
    page = client_for(alpha_admin).get("/")
    assert page.context["class_count"] == 2
    assert "All classes" in page.text
