"""/api/students/ and /api/token/."""

import pytest

from dreamseed.accounts.models import User
from dreamseed.classes.models import Enrollment
from dreamseed.classes.tests.conftest import make_students
from dreamseed.testing import PASSWORD, in_schema


def _usernames(response):
    return [item["username"] for item in response.json()["results"]]


def test_an_admin_lists_every_student(api_for, alpha_admin, math_class, art_class):
    assert _usernames(api_for(alpha_admin).get("/api/students/")) == ["sam", "sara"]


def test_a_teacher_lists_the_students_of_their_classes(
    api_for, alpha_teacher, math_class, art_class
):
    client = api_for(alpha_teacher)
    assert _usernames(client.get("/api/students/")) == ["sam"]
    assert _usernames(client.get(f"/api/students/?class_id={math_class.pk}")) == ["sam"]
    assert client.get(f"/api/students/?class_id={art_class.pk}").status_code == 404
    assert client.get("/api/students/?class_id=abc").status_code == 400


def test_students_can_be_searched(api_for, alpha_admin):
    make_students(alpha_admin, 5)
    assert _usernames(api_for(alpha_admin).get("/api/students/?search=first003")) == ["pupil003"]


def test_a_teacher_cannot_read_a_student_outside_their_classes(
    api_for, alpha_teacher, alpha_student2, math_class, art_class
):
    response = api_for(alpha_teacher).get(f"/api/students/{alpha_student2.user_id}/")
    assert response.status_code == 404


def test_staff_are_not_students(api_for, alpha_admin, alpha_teacher):
    assert api_for(alpha_admin).get(f"/api/students/{alpha_teacher.user_id}/").status_code == 404


def test_a_teacher_creates_a_student_in_their_class(api_for, alpha_teacher, math_class):
    response = api_for(alpha_teacher).post(
        "/api/students/",
        {
            "first_name": "Ana",
            "last_name": "Lopez",
            "username": "Ana.L",
            "grade": "5",
            "class_id": math_class.pk,
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "ana.l" and body["grade"] == "5" and body["has_password"] is True
    with in_schema(alpha_teacher.schema_name):
        ana = User.objects.get(username="ana.l")
        assert ana.check_password(body["initial_password"])
        assert Enrollment.objects.filter(student=ana, school_class=math_class).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"first_name": "A", "last_name": "B"}, "username"),
        ({"first_name": "A", "last_name": "B", "username": "has space"}, "username"),
        ({"first_name": "A", "last_name": "B", "username": "sam"}, "username"),
        ({"first_name": "A", "last_name": "B", "email": "bad@"}, "email"),
        ({"last_name": "B", "username": "ok"}, "first_name"),
        ({"first_name": "A", "last_name": "B", "username": "ok", "class_id": "art"}, "class_id"),
        ({"first_name": "A", "last_name": "B", "username": "ok", "class_id": 999999}, "class_id"),
    ],
)
def test_bad_student_input_is_a_400_with_field_errors(
    api_for, alpha_teacher, math_class, art_class, data, field
):
    if data.get("class_id") == "art":
        data = {**data, "class_id": art_class.pk}
    response = api_for(alpha_teacher).post("/api/students/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    with in_schema(alpha_teacher.schema_name):
        assert not User.objects.filter(username="ok").exists()


def test_staff_get_a_token_that_works_at_their_school_only(
    api_for, alpha_teacher, beta_admin, math_class
):
    from rest_framework.test import APIClient

    alpha = APIClient(HTTP_HOST=alpha_teacher.host)
    response = alpha.post(
        "/api/token/",
        {"username": alpha_teacher.username.upper(), "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200
    key = response.json()["token"]
    alpha.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert alpha.get("/api/classes/").status_code == 200

    # Tokens live in the school's schema: at beta the key does not exist.
    beta = APIClient(HTTP_HOST=beta_admin.host)
    beta.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    for url in ("/api/classes/", "/api/students/", f"/api/classes/{math_class.pk}/"):
        response = beta.get(url)
        assert response.status_code in (401, 403)
        assert response.json()["detail"] == "Invalid token."


def test_students_do_not_get_tokens(api_for, alpha_student):
    from rest_framework.test import APIClient

    response = APIClient(HTTP_HOST=alpha_student.host).post(
        "/api/token/", {"username": alpha_student.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert "teachers and school administrators" in str(response.json())


@pytest.mark.parametrize(
    "data", [{"username": "teacher@alpha.example", "password": "wrong"}, {"username": "x"}, {}]
)
def test_bad_token_requests_are_400(personas, db, data):
    from rest_framework.test import APIClient

    response = APIClient(HTTP_HOST="alpha.localhost").post("/api/token/", data, format="json")
    assert response.status_code == 400


def test_token_requests_are_throttled_like_sign_ins(alpha_teacher2, settings):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST=alpha_teacher2.host)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/token/", {"username": alpha_teacher2.username, "password": "no"})
    # Even the right password is refused now (django-axes, as on the sign-in page).
    locked = client.post("/api/token/", {"username": alpha_teacher2.username, "password": PASSWORD})
    assert locked.status_code == 400
    assert "token" not in locked.json()
