"""Creating, editing, archiving classes and their join codes."""

import pytest

from dreamseed.classes.models import JOIN_CODE_ALPHABET, Class, join_code_normalise
from dreamseed.testing import in_schema


def _class(persona, pk):
    with in_schema(persona.schema_name):
        return Class.objects.prefetch_related("teachers").get(pk=pk)


def test_a_teacher_creates_a_class_they_teach(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/classes/new/",
        {
            "name": "Science 6",
            "subject": "Science",
            "grade": "6",
            "teachers": [alpha_teacher.user_id],
        },
    )
    assert response.status_code == 302
    with in_schema(alpha_teacher.schema_name):
        school_class = Class.objects.get(name="Science 6")
        assert list(school_class.teachers.values_list("pk", flat=True)) == [alpha_teacher.user_id]
        assert school_class.created_by_id == alpha_teacher.user_id
    assert response["Location"] == f"/classes/{school_class.pk}/"
    page = client_for(alpha_teacher).get(response["Location"])
    assert school_class.join_code in page.text


def test_the_new_class_form_ticks_the_teacher_themselves(client_for, alpha_teacher, alpha_admin):
    form = client_for(alpha_teacher).get("/classes/new/").context["form"]
    assert form["teachers"].initial == [alpha_teacher.user_id]
    # An admin chooses who teaches.
    assert client_for(alpha_admin).get("/classes/new/").context["form"]["teachers"].initial == []


def test_a_class_can_have_co_teachers(client_for, alpha_teacher, alpha_teacher2):
    client_for(alpha_teacher).post(
        "/classes/new/",
        {"name": "Team 7", "teachers": [alpha_teacher.user_id, alpha_teacher2.user_id]},
    )
    with in_schema(alpha_teacher.schema_name):
        school_class = Class.objects.get(name="Team 7")
    # Both see and manage it.
    for persona in (alpha_teacher, alpha_teacher2):
        assert client_for(persona).get(f"/classes/{school_class.pk}/").status_code == 200
        assert "Team 7" in client_for(persona).get("/classes/").text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "teachers": "me"}, "name"),
        ({"name": "x" * 121, "teachers": "me"}, "name"),
        ({"name": "No teacher"}, "teachers"),
        ({"name": "Student teacher", "teachers": "student"}, "teachers"),
        ({"name": "Bad id", "teachers": "999999"}, "teachers"),
    ],
)
def test_bad_class_input_is_a_field_error(client_for, alpha_teacher, alpha_student, data, field):
    ids = {"me": alpha_teacher.user_id, "student": alpha_student.user_id}
    if "teachers" in data:
        data = {**data, "teachers": ids.get(data["teachers"], data["teachers"])}
    response = client_for(alpha_teacher).post("/classes/new/", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors


def test_editing_a_class(client_for, alpha_teacher, alpha_teacher2, math_class):
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/edit/",
        {
            "name": "Math 5A (morning)",
            "subject": "Mathematics",
            "grade": "5",
            "teachers": [alpha_teacher.user_id, alpha_teacher2.user_id],
        },
    )
    assert response.status_code == 302
    school_class = _class(alpha_teacher, math_class.pk)
    assert school_class.name == "Math 5A (morning)" and school_class.subject == "Mathematics"
    assert {t.pk for t in school_class.teachers.all()} == {
        alpha_teacher.user_id,
        alpha_teacher2.user_id,
    }


def test_a_teacher_who_removes_themselves_goes_back_to_their_list(
    client_for, alpha_teacher, alpha_teacher2, math_class
):
    client = client_for(alpha_teacher)
    response = client.post(
        f"/classes/{math_class.pk}/edit/",
        {"name": "Math 5A", "teachers": [alpha_teacher2.user_id]},
    )
    assert response["Location"] == "/classes/"
    assert client.get(f"/classes/{math_class.pk}/").status_code == 404
    assert client_for(alpha_teacher2).get(f"/classes/{math_class.pk}/").status_code == 200


def test_archiving_hides_the_class_and_stops_its_code(
    client_for, alpha_teacher, alpha_student, math_class
):
    client = client_for(alpha_teacher)
    assert client.post(f"/classes/{math_class.pk}/archive/", {"archive": "1"}).status_code == 302
    assert _class(alpha_teacher, math_class.pk).is_archived
    assert list(client.get("/classes/").context["classes"]) == []
    assert list(client.get("/classes/?archived=1").context["classes"]) == [math_class]
    # Students no longer see it or join it.
    assert "Math 5A" not in client_for(alpha_student).get("/classes/mine/").text
    joined = client_for(alpha_student).post("/classes/join/", {"code": math_class.join_code})
    assert joined.status_code == 400
    # ...and it can be restored.
    client.post(f"/classes/{math_class.pk}/archive/", {"archive": "0"})
    assert not _class(alpha_teacher, math_class.pk).is_archived
    assert "Math 5A" in client_for(alpha_student).get("/classes/mine/").text


def test_archive_needs_post(client_for, alpha_teacher, math_class):
    assert client_for(alpha_teacher).get(f"/classes/{math_class.pk}/archive/").status_code == 405


def test_regenerating_the_join_code(client_for, alpha_teacher, math_class):
    old = math_class.join_code
    response = client_for(alpha_teacher).post(f"/classes/{math_class.pk}/join-code/", follow=True)
    new = _class(alpha_teacher, math_class.pk).join_code
    assert new != old
    assert new in response.text and "old code no longer works" in response.text


def test_join_codes_are_short_and_unambiguous(alpha_teacher, math_class):
    assert len(math_class.join_code) == 6
    assert set(math_class.join_code) <= set(JOIN_CODE_ALPHABET)
    assert not set("0O1IL") & set(JOIN_CODE_ALPHABET)
    assert join_code_normalise(" ab-c 23x ") == "ABC23X"


def test_admins_see_every_class_teachers_only_their_own(
    client_for, alpha_admin, alpha_teacher, math_class, art_class
):
    admin_page = client_for(alpha_admin).get("/classes/")
    assert "Math 5A" in admin_page.text and "Art 5B" in admin_page.text
    assert "All classes" in admin_page.text
    teacher_page = client_for(alpha_teacher).get("/classes/")
    assert "Math 5A" in teacher_page.text and "Art 5B" not in teacher_page.text


def test_class_list_shows_student_counts(client_for, alpha_teacher, math_class):
    page = client_for(alpha_teacher).get("/classes/")
    (school_class,) = page.context["classes"]
    assert school_class.student_count == 1
