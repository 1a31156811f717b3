"""/api/classes/ and /api/classes/{id}/enrollments/: scoped to the school and the caller's role."""

import pytest

from dreamseed.classes.models import Class, Enrollment
from dreamseed.classes.tests.conftest import make_students
from dreamseed.testing import in_schema


def _enrolled(persona, school_class):
    with in_schema(persona.schema_name):
        return set(
            Enrollment.objects.filter(school_class=school_class).values_list(
                "student__username", flat=True
            )
        )


def _names(response):
    return [item["name"] for item in response.json()["results"]]


@pytest.mark.parametrize("token", [False, True])
def test_a_teacher_lists_their_classes(api_for, alpha_teacher, math_class, art_class, token):
    response = api_for(alpha_teacher, token=token).get("/api/classes/")
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["name"] == "Math 5A"
    assert item["join_code"] == math_class.join_code
    assert item["student_count"] == 1
    assert item["teachers"] == [{"id": alpha_teacher.user_id, "name": "Tomas Teach"}]


def test_an_admin_lists_every_class(api_for, alpha_admin, math_class, art_class):
    assert _names(api_for(alpha_admin).get("/api/classes/")) == ["Art 5B", "Math 5A"]


def test_a_student_reads_only_their_own_classes_without_join_codes(
    api_for, alpha_student, math_class, art_class
):
    client = api_for(alpha_student)
    response = client.get("/api/classes/")
    (item,) = response.json()["results"]
    assert item["name"] == "Math 5A" and "join_code" not in item
    assert client.get(f"/api/classes/{math_class.pk}/").status_code == 200
    assert client.get(f"/api/classes/{art_class.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/api/classes/", {"name": "Mine now"}),
        ("patch", "/api/classes/{pk}/", {"name": "Renamed"}),
        ("post", "/api/classes/{pk}/archive/", None),
        ("post", "/api/classes/{pk}/join-code/", None),
        ("get", "/api/classes/{pk}/enrollments/", None),
        ("post", "/api/classes/{pk}/enrollments/", {"student_ids": [1]}),
        ("delete", "/api/classes/{pk}/enrollments/", {"student_ids": [1]}),
        ("get", "/api/students/", None),
    ],
)
def test_students_get_403_on_staff_endpoints(api_for, alpha_student, math_class, method, url, data):
    response = getattr(api_for(alpha_student), method)(
        url.format(pk=math_class.pk), data, format="json"
    )
    assert response.status_code == 403
    with in_schema(alpha_student.schema_name):
        assert Class.objects.get(pk=math_class.pk).name == "Math 5A"


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/api/classes/{pk}/", None),
        ("patch", "/api/classes/{pk}/", {"name": "Renamed"}),
        ("post", "/api/classes/{pk}/archive/", None),
        ("post", "/api/classes/{pk}/restore/", None),
        ("post", "/api/classes/{pk}/join-code/", None),
        ("get", "/api/classes/{pk}/enrollments/", None),
        ("post", "/api/classes/{pk}/enrollments/", {"student_ids": ["sara"]}),
        ("delete", "/api/classes/{pk}/enrollments/", {"student_ids": ["sam"]}),
        ("delete", "/api/classes/{pk}/enrollments/sam/", None),
    ],
)
def test_a_teacher_of_another_class_gets_404(
    api_for, alpha_teacher2, alpha_student, alpha_student2, math_class, method, url, data
):
    ids = {"sam": alpha_student.user_id, "sara": alpha_student2.user_id}
    url = url.replace("sam", str(ids["sam"]))
    if data and "student_ids" in data:
        data = {"student_ids": [ids[name] for name in data["student_ids"]]}
    response = getattr(api_for(alpha_teacher2), method)(
        url.format(pk=math_class.pk), data, format="json"
    )
    assert response.status_code == 404
    assert _enrolled(alpha_teacher2, math_class) == {"sam"}
    with in_schema(alpha_teacher2.schema_name):
        unchanged = Class.objects.get(pk=math_class.pk)
    assert (unchanged.name, unchanged.join_code, unchanged.archived_at) == (
        "Math 5A",
        math_class.join_code,
        None,
    )


def test_anonymous_callers_get_401_or_403(api_for, personas, math_class):
    client = api_for(host="alpha.localhost")
    assert client.get("/api/classes/").status_code in (401, 403)
    assert client.get(f"/api/classes/{math_class.pk}/enrollments/").status_code in (401, 403)


def test_a_teacher_creates_a_class_and_teaches_it(api_for, alpha_teacher):
    response = api_for(alpha_teacher).post(
        "/api/classes/", {"name": "Robotics", "subject": "Tech", "grade": "7"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Robotics" and len(body["join_code"]) == 6
    assert [teacher["id"] for teacher in body["teachers"]] == [alpha_teacher.user_id]
    assert body["student_count"] == 0 and body["archived"] is False


def test_co_teachers_can_be_set(api_for, alpha_teacher, alpha_teacher2, math_class):
    response = api_for(alpha_teacher).patch(
        f"/api/classes/{math_class.pk}/",
        {"teacher_ids": [alpha_teacher.user_id, alpha_teacher2.user_id]},
        format="json",
    )
    assert response.status_code == 200
    assert {t["id"] for t in response.json()["teachers"]} == {
        alpha_teacher.user_id,
        alpha_teacher2.user_id,
    }
    assert api_for(alpha_teacher2).get(f"/api/classes/{math_class.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 200}, "name"),
        ({"name": "A", "teacher_ids": []}, "teacher_ids"),
        ({"name": "A", "teacher_ids": [999999]}, "teacher_ids"),
        ({"name": "A", "teacher_ids": ["abc"]}, "teacher_ids"),
        ({"name": "A", "teacher_ids": "student"}, "teacher_ids"),
        ({"name": "A", "grade": "x" * 50}, "grade"),
    ],
)
def test_bad_class_input_is_a_400_with_field_errors(
    api_for, alpha_teacher, alpha_student, data, field
):
    if data.get("teacher_ids") == "student":
        data = {**data, "teacher_ids": [alpha_student.user_id]}
    response = api_for(alpha_teacher).post("/api/classes/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_malformed_json_is_a_400(api_for, alpha_teacher):
    response = api_for(alpha_teacher).generic(
        "POST", "/api/classes/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_archive_restore_and_new_join_code(api_for, alpha_teacher, math_class):
    client = api_for(alpha_teacher)
    archived = client.post(f"/api/classes/{math_class.pk}/archive/").json()
    assert archived["archived"] is True
    assert _names(client.get("/api/classes/")) == []
    assert _names(client.get("/api/classes/?archived=true")) == ["Math 5A"]
    assert client.post(f"/api/classes/{math_class.pk}/restore/").json()["archived"] is False
    new = client.post(f"/api/classes/{math_class.pk}/join-code/").json()["join_code"]
    assert new != math_class.join_code


def test_enrollments_list_and_bulk_changes(api_for, alpha_teacher, alpha_student2, math_class):
    pupils = make_students(alpha_teacher, 3)
    client = api_for(alpha_teacher, token=True)
    url = f"/api/classes/{math_class.pk}/enrollments/"

    added = client.post(
        url, {"student_ids": [pupils[0].pk, pupils[1].pk, alpha_student2.user_id]}, format="json"
    )
    assert added.status_code == 201 and added.json() == {"count": 3}
    again = client.post(url, {"student_ids": [pupils[0].pk]}, format="json")
    assert again.json() == {"count": 0}  # already enrolled: nothing to add

    listed = client.get(url).json()
    assert listed["count"] == 4
    assert {e["student"]["username"] for e in listed["results"]} == {
        "sam",
        "sara",
        "pupil000",
        "pupil001",
    }
    assert listed["results"][0]["student"].keys() >= {"id", "username", "grade", "has_password"}

    removed = client.delete(url, {"student_ids": [pupils[0].pk, pupils[1].pk]}, format="json")
    assert removed.status_code == 200 and removed.json() == {"count": 2}
    one = client.delete(f"{url}{alpha_student2.user_id}/")
    assert one.status_code == 204
    assert client.delete(f"{url}{alpha_student2.user_id}/").status_code == 404
    assert _enrolled(alpha_teacher, math_class) == {"sam"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "required"),
        ({"student_ids": []}, "empty"),
        ({"student_ids": "1,2"}, "list"),
        ({"student_ids": ["x"]}, "valid integer"),
        ({"student_ids": [999999]}, "not active students of this school: 999999"),
        ({"student_ids": ["teacher"]}, "not active students of this school"),
    ],
)
def test_bad_enrollment_input_is_a_400(api_for, alpha_teacher, math_class, data, message):
    if data.get("student_ids") == ["teacher"]:
        data = {"student_ids": [alpha_teacher.user_id]}
    response = api_for(alpha_teacher).post(
        f"/api/classes/{math_class.pk}/enrollments/", data, format="json"
    )
    assert response.status_code == 400
    assert message in str(response.json()["student_ids"])
    assert _enrolled(alpha_teacher, math_class) == {"sam"}


def test_enrolling_into_an_archived_class_is_a_400(
    api_for, alpha_teacher, alpha_student2, math_class
):
    client = api_for(alpha_teacher)
    client.post(f"/api/classes/{math_class.pk}/archive/")
    response = client.post(
        f"/api/classes/{math_class.pk}/enrollments/",
        {"student_ids": [alpha_student2.user_id]},
        format="json",
    )
    assert response.status_code == 400
    assert "archived" in str(response.json())


def test_enrollments_list_query_count_is_flat(
    api_for, alpha_teacher, math_class, django_assert_max_num_queries
):
    make_students(alpha_teacher, 40, school_class=math_class)
    client = api_for(alpha_teacher, token=True)
    client.get(f"/api/classes/{math_class.pk}/enrollments/")
    # SET x2, domain, token with user, class, its teachers, count, page: 8 (+1 spare), and the
    # audit log's row for a staff read of student data (its savepoint and INSERT inside the
    # test's transaction): 11 at most, whatever the class size.
    with django_assert_max_num_queries(11):
        response = client.get(f"/api/classes/{math_class.pk}/enrollments/")
    assert response.json()["count"] == 41


def test_class_list_query_count_is_flat(
    api_for, alpha_admin, alpha_teacher, django_assert_max_num_queries
):
    from dreamseed.classes.tests.conftest import make_class

    for index in range(15):
        make_class(alpha_teacher, f"C{index}")
    client = api_for(alpha_admin)
    client.get("/api/classes/")
    # SET x2, domain, user, count, classes, teachers: 7 (+1 spare)
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/classes/").json()["results"]) == 15
