"""Who may open which class page: admins every class, teachers their own, students none of the
staff pages; a teacher of another class gets 404, as if the class did not exist."""

import pytest

from dreamseed.testing import in_schema, school_client

CLASS_PAGES = [
    ("get", "/classes/{pk}/"),
    ("get", "/classes/{pk}/edit/"),
    ("get", "/classes/{pk}/import/"),
    ("get", "/classes/{pk}/students/new/"),
    ("get", "/classes/{pk}/enroll/"),
    ("get", "/classes/{pk}/slips/"),
    ("get", "/classes/{pk}/statistics/"),
    ("get", "/classes/{pk}/groups/"),
    ("get", "/classes/{pk}/groups.csv"),
    ("post", "/classes/{pk}/archive/"),
    ("post", "/classes/{pk}/join-code/"),
    ("post", "/classes/{pk}/unenroll/"),
]
STAFF_PAGES = ["/classes/", "/classes/new/", "/classes/statistics/"]
STUDENT_PAGES = ["/classes/mine/", "/classes/mine/results/"]


@pytest.mark.parametrize(("method", "url"), CLASS_PAGES)
@pytest.mark.parametrize("who", ["alpha_admin", "alpha_teacher"])
def test_the_classes_teacher_and_the_school_admin_may_use_every_class_page(
    client_for, personas, math_class, who, method, url
):
    response = getattr(client_for(personas[who]), method)(url.format(pk=math_class.pk))
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert "/accounts/login/" not in response["Location"]


@pytest.mark.parametrize(("method", "url"), CLASS_PAGES)
def test_a_teacher_of_another_class_gets_404(client_for, alpha_teacher2, math_class, method, url):
    response = getattr(client_for(alpha_teacher2), method)(url.format(pk=math_class.pk))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "url"), CLASS_PAGES)
def test_students_get_403_on_class_pages_even_for_their_own_class(
    client_for, alpha_student, math_class, method, url
):
    response = getattr(client_for(alpha_student), method)(url.format(pk=math_class.pk))
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "url"), CLASS_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(personas, math_class, method, url):
    response = getattr(school_client("alpha.localhost"), method)(url.format(pk=math_class.pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_are_for_staff(client_for, alpha_admin, alpha_teacher, alpha_student, url):
    assert client_for(alpha_admin).get(url).status_code == 200
    assert client_for(alpha_teacher).get(url).status_code == 200
    assert client_for(alpha_student).get(url).status_code == 403


@pytest.mark.parametrize("url", STUDENT_PAGES)
def test_student_pages_are_for_students(client_for, alpha_admin, alpha_teacher, alpha_student, url):
    assert client_for(alpha_student).get(url).status_code == 200
    assert client_for(alpha_teacher).get(url).status_code == 403
    assert client_for(alpha_admin).get(url).status_code == 403


@pytest.mark.parametrize("who", ["alpha_teacher", "alpha_admin"])
def test_only_students_join_classes(client_for, personas, math_class, who):
    response = client_for(personas[who]).post("/classes/join/", {"code": math_class.join_code})
    assert response.status_code == 403


def test_joining_needs_post(client_for, alpha_student):
    assert client_for(alpha_student).get("/classes/join/").status_code == 405


@pytest.mark.parametrize("suffix", ["", "password/"])
def test_a_students_page_is_for_their_teachers_and_the_admin(
    client_for, alpha_admin, alpha_teacher, alpha_teacher2, alpha_student, math_class, suffix
):
    url = f"/classes/students/{alpha_student.user_id}/{suffix}"
    assert client_for(alpha_admin).get(url).status_code == 200
    assert client_for(alpha_teacher).get(url).status_code == 200
    assert client_for(alpha_teacher2).get(url).status_code == 404
    assert client_for(alpha_student).get(url).status_code == 403


def test_staff_cannot_open_a_staff_members_page_as_a_student_page(
    client_for, alpha_admin, alpha_teacher
):
    assert (
        client_for(alpha_admin).get(f"/classes/students/{alpha_teacher.user_id}/").status_code
        == 404
    )


def test_a_teacher_of_another_class_cannot_reset_a_students_password(
    client_for, alpha_teacher2, alpha_student, math_class
):
    before = alpha_student.user.password
    response = client_for(alpha_teacher2).post(
        f"/classes/students/{alpha_student.user_id}/password/"
    )
    assert response.status_code == 404
    assert alpha_student.user.password == before


def test_a_roster_preview_belongs_to_whoever_uploaded_it(
    client_for, alpha_admin, alpha_teacher, alpha_teacher2, alpha_student, beta_teacher, math_class
):
    csv = b"first_name,last_name,username,grade\nNew,Kid,newkid,5\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(alpha_teacher).post(
        f"/classes/{math_class.pk}/import/", {"file": SimpleUploadedFile("r.csv", csv)}
    )
    assert response.status_code == 302
    preview = response["Location"]
    assert client_for(alpha_teacher).get(preview).status_code == 200
    # Even the school admin cannot confirm someone else's upload; other roles get the usual.
    assert client_for(alpha_admin).get(preview).status_code == 404
    assert client_for(alpha_admin).post(preview, {"digest": "x"}).status_code == 404
    assert client_for(alpha_teacher2).post(preview, {"digest": "x"}).status_code == 404
    assert client_for(alpha_student).get(preview).status_code == 403
    assert client_for(beta_teacher).get(preview).status_code == 404
    with in_schema(alpha_teacher.schema_name):
        from dreamseed.accounts.models import User

        assert not User.objects.filter(username="newkid").exists()
