"""Read aloud, an accommodation a student's teacher (or an admin) turns on from the student's page;
the student and other teachers cannot."""

import pytest

from dreamseed.classes.models import StudentProfile
from dreamseed.testing import in_schema


def _reads_aloud(persona) -> bool:
    with in_schema(persona.schema_name):
        return StudentProfile.objects.filter(user_id=persona.user_id, read_aloud=True).exists()


def _url(student) -> str:
    return f"/classes/students/{student.user_id}/accommodations/"


@pytest.mark.parametrize("who", ["alpha_teacher", "alpha_admin"])
def test_the_students_teacher_or_an_admin_turns_read_aloud_on_and_off(
    client_for, personas, who, alpha_student, math_class
):
    client = client_for(personas[who])
    page = client.get(f"/classes/students/{alpha_student.user_id}/")
    assert (
        'name="read_aloud"' in page.text and "checked" not in page.text.split("read_aloud")[1][:80]
    )

    response = client.post(_url(alpha_student), {"read_aloud": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/classes/students/{alpha_student.user_id}/"
    assert "Read aloud is on for Sam Student." in response.text
    assert _reads_aloud(alpha_student)
    assert (
        'name="read_aloud" aria-describedby="id_read_aloud_helptext" id="id_read_aloud" checked'
        in (response.text)
    )

    response = client.post(_url(alpha_student), {}, follow=True)
    assert "Read aloud is off for Sam Student." in response.text
    assert not _reads_aloud(alpha_student)


def test_a_student_without_a_profile_gets_one(client_for, alpha_teacher, alpha_student, math_class):
    with in_schema(alpha_student.schema_name):
        StudentProfile.objects.filter(user_id=alpha_student.user_id).delete()
    client_for(alpha_teacher).post(_url(alpha_student), {"read_aloud": "on"})
    assert _reads_aloud(alpha_student)


def test_the_student_cannot_turn_it_on(client_for, alpha_student, math_class):
    response = client_for(alpha_student).post(_url(alpha_student), {"read_aloud": "on"})
    assert response.status_code == 403
    assert not _reads_aloud(alpha_student)


def test_a_teacher_who_does_not_teach_the_student_gets_404(
    client_for, alpha_teacher2, alpha_student, math_class
):
    response = client_for(alpha_teacher2).post(_url(alpha_student), {"read_aloud": "on"})
    assert response.status_code == 404
    assert not _reads_aloud(alpha_student)


def test_a_teacher_of_another_school_gets_404(
    client_for, beta_teacher, beta_class, alpha_student, math_class
):
    # The alpha student's id, asked at beta (where it names nobody beta's teacher teaches)...
    response = client_for(beta_teacher).post(_url(alpha_student), {"read_aloud": "on"})
    assert response.status_code == 404
    # ...and beta's session is worthless at alpha.
    at_alpha = client_for(beta_teacher).post(
        _url(alpha_student), {"read_aloud": "on"}, HTTP_HOST=alpha_student.host
    )
    assert at_alpha.status_code == 302 and "/login/" in at_alpha["Location"]
    assert not _reads_aloud(alpha_student)


def test_a_get_changes_nothing(client_for, alpha_teacher, alpha_student, math_class):
    assert client_for(alpha_teacher).get(_url(alpha_student)).status_code == 405
    assert not _reads_aloud(alpha_student)


def test_staff_accounts_have_no_accommodations(client_for, alpha_admin, alpha_teacher):
    # Not a student: not found among the students the admin may manage.
    response = client_for(alpha_admin).post(_url(alpha_teacher), {"read_aloud": "on"})
    assert response.status_code == 404
