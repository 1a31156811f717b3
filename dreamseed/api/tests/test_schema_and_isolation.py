"""The OpenAPI schema and its docs page, and school isolation over the whole API."""

import re

import pytest

from dreamseed.classes.tests.conftest import make_class
from dreamseed.testing import in_schema


def test_the_schema_describes_the_api(api_for, alpha_teacher):
    response = api_for(alpha_teacher).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/classes/",
        "/api/classes/{id}/",
        "/api/classes/{class_id}/enrollments/",
        "/api/classes/{class_id}/enrollments/{student_id}/",
        "/api/students/",
        "/api/token/",
    ]:
        assert path in paths, path
    assert set(paths["/api/classes/{class_id}/enrollments/"]) == {"get", "post", "delete"}


def test_the_schema_documents_errors_bulk_bodies_and_empty_emails(
    api_for, alpha_teacher, math_class
):
    """Found by the schema fuzzing (test_fuzz_schema.py): the schema promised only success
    responses, no body for the bulk unenroll, and an email format that "" (a student without
    email) does not meet."""
    client = api_for(alpha_teacher)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    one_class = paths["/api/classes/{id}/"]
    assert {"200", "400", "403", "404"} <= set(one_class["patch"]["responses"])
    assert one_class["get"]["parameters"][0]["schema"]["minimum"] == 0
    assert "404" in paths["/api/classes/"]["get"]["responses"]  # "Invalid page."
    assert "403" not in paths["/api/token/"]["post"]["responses"]
    assert {"200", "201", "404"} <= set(paths["/api/sessions/"]["post"]["responses"])
    # Students get fewer fields of a class than staff: both shapes are documented.
    one_class_body = one_class["get"]["responses"]["200"]["content"]["application/json"]
    name = one_class_body["schema"]["$ref"].rsplit("/", 1)[-1]
    shapes = schema["components"]["schemas"][name]["anyOf"]
    assert {"$ref": "#/components/schemas/StudentClass"} in shapes

    bulk = paths["/api/classes/{class_id}/enrollments/"]["delete"]
    body = bulk["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/StudentIds"}
    assert "400" in bulk["responses"]

    email = schema["components"]["schemas"]["Student"]["properties"]["email"]
    assert "format" not in email and {"maxLength": 0} in email["anyOf"]
    students = client.get(f"/api/classes/{math_class.pk}/enrollments/").json()["results"]
    assert students[0]["student"]["email"] == ""


def test_the_docs_page_has_no_inline_script_or_style(api_for, alpha_teacher):
    """The site's CSP allows only same-origin files: script-src 'self', style-src 'self'."""
    client = api_for(alpha_teacher)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> found"
    assert "style=" not in html
    script_src = re.findall(r'<script src="([^"]+)"', html)
    init = [src for src in script_src if "script" in src.split("?")[-1]]
    assert init, script_src
    script = client.get(init[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


OTHER_SCHOOL_CALLS = [
    ("get", "/api/classes/{pk}/", None),
    ("patch", "/api/classes/{pk}/", {"name": "Hijacked"}),
    ("put", "/api/classes/{pk}/", {"name": "Hijacked"}),
    ("post", "/api/classes/{pk}/archive/", None),
    ("post", "/api/classes/{pk}/restore/", None),
    ("post", "/api/classes/{pk}/join-code/", None),
    ("get", "/api/classes/{pk}/enrollments/", None),
    ("post", "/api/classes/{pk}/enrollments/", {"student_ids": [1]}),
    ("delete", "/api/classes/{pk}/enrollments/", {"student_ids": [1]}),
    ("delete", "/api/classes/{pk}/enrollments/{student}/", None),
    ("get", "/api/students/{student}/", None),
    ("get", "/api/students/?class_id={pk}", None),
]
ALPHA_MARKERS = ["Math 5A", "Art 5B", "Tomas", "sam", "sara"]


@pytest.mark.parametrize("who", ["beta_admin", "beta_teacher"])
@pytest.mark.parametrize("token", [False, True])
def test_school_b_reaches_nothing_of_school_a_through_the_api(
    api_for, personas, math_class, art_class, alpha_student, who, token
):
    client = api_for(personas[who], token=token)
    for method, url, data in OTHER_SCHOOL_CALLS:
        for school_class in (math_class, art_class):
            response = getattr(client, method)(
                url.format(pk=school_class.pk, student=alpha_student.user_id), data, format="json"
            )
            assert response.status_code in (400, 404), (method, url, response.content)
            body = response.content.decode()
            for marker in ALPHA_MARKERS:
                assert marker not in body, (method, url, marker)
    with in_schema("alpha"):
        from dreamseed.classes.models import Class

        assert set(Class.objects.values_list("name", "archived_at", "join_code")) == {
            ("Math 5A", None, math_class.join_code),
            ("Art 5B", None, art_class.join_code),
        }


@pytest.mark.parametrize("who", ["beta_admin", "beta_teacher", "beta_student"])
def test_school_b_lists_contain_only_school_b(
    api_for, personas, math_class, art_class, beta_class, who
):
    client = api_for(personas[who])
    for url in ("/api/classes/", "/api/students/"):
        response = client.get(url)
        body = response.content.decode()
        for marker in ALPHA_MARKERS:
            assert marker not in body
    assert [c["name"] for c in client.get("/api/classes/").json()["results"]] == ["Beta Science"]


def test_school_b_ids_that_collide_still_mean_school_b(api_for, beta_teacher, math_class):
    beta_classes = [make_class(beta_teacher, f"Beta {index}") for index in range(3)]
    client = api_for(beta_teacher, token=True)
    for school_class in beta_classes:
        body = client.get(f"/api/classes/{school_class.pk}/").json()
        assert body["name"].startswith("Beta ")


def test_a_session_from_school_a_is_not_valid_at_school_b(
    api_for, alpha_teacher, beta_admin, math_class
):
    alpha = api_for(alpha_teacher)
    stolen = alpha.get("/api/classes/") and alpha.cookies["sessionid"].value
    from rest_framework.test import APIClient

    beta = APIClient(HTTP_HOST=beta_admin.host)
    beta.cookies["sessionid"] = stolen
    assert beta.get("/api/classes/").status_code in (401, 403)
