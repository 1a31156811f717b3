"""The licence's seat limit and read-only state, where students are added."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dreamseed.accounts.models import User
from dreamseed.schools.models import School
from dreamseed.testing import in_schema


def _set_licence(persona, **fields):
    School.objects.filter(schema_name=persona.schema_name).update(**fields)


def _students(persona) -> int:
    with in_schema(persona.schema_name):
        return User.objects.filter(role="student").count()


def test_a_roster_import_that_would_exceed_the_seats_says_why_and_writes_nothing(
    client_for, alpha_teacher, math_class
):
    _set_licence(alpha_teacher, seats=_students(alpha_teacher) + 1)
    client = client_for(alpha_teacher)
    rows = "first_name,last_name,username,grade\nAna,One,ana1,5\nBen,Two,ben2,5\n"
    uploaded = client.post(
        f"/classes/{math_class.pk}/import/", {"file": SimpleUploadedFile("r.csv", rows.encode())}
    )
    preview = client.get(uploaded["Location"])
    before = _students(alpha_teacher)
    response = client.post(uploaded["Location"], {"digest": preview.context["digest"]})
    assert response.status_code == 400
    assert "only has" in response.text or "seats" in response.text
    assert "Ask your school administrator to buy more seats" in response.text
    assert _students(alpha_teacher) == before


def test_admins_are_offered_the_upgrade(client_for, alpha_admin, math_class):
    _set_licence(alpha_admin, seats=_students(alpha_admin))
    client = client_for(alpha_admin)
    rows = "first_name,last_name,username,grade\nAna,One,ana1,5\n"
    uploaded = client.post(
        f"/classes/{math_class.pk}/import/", {"file": SimpleUploadedFile("r.csv", rows.encode())}
    )
    preview = client.get(uploaded["Location"])
    response = client.post(uploaded["Location"], {"digest": preview.context["digest"]})
    assert "Buy more seats" in response.text and "/billing/" in response.text


def test_adding_one_student_when_seats_are_full_is_a_form_error(
    client_for, alpha_teacher, math_class
):
    _set_licence(alpha_teacher, seats=_students(alpha_teacher))
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/students/new/",
        {"first_name": "Cy", "last_name": "Three", "username": "cy3"},
    )
    assert response.status_code in (200, 400)
    assert "seats" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not User.objects.filter(username="cy3").exists()


def test_an_expired_school_is_read_only(client_for, alpha_teacher, math_class):
    _set_licence(
        alpha_teacher,
        licence_status="active",
        licence_expires_at=timezone.now() - timedelta(days=60),
    )
    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/students/new/",
        {"first_name": "Cy", "last_name": "Three", "username": "cy3"},
    )
    assert response.status_code == 403
    assert "read-only" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not User.objects.filter(username="cy3").exists()
