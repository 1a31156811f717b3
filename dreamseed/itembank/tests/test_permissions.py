"""Who may use each item bank page: staff only, and only their own school's bank.

Students get 403 everywhere (so they can never see a key); visitors are sent to sign in; a
teacher at beta asking for alpha's ids gets 404 and never alpha's content.
"""

import io
import uuid
import zipfile

import pytest

from dreamseed.itembank.models import CalibrationResult, CalibrationRun, ItemImport
from dreamseed.testing import in_schema

SECRET = "Alpha secret question"


@pytest.fixture
def alpha_objects(alpha_teacher, item):
    """An item, a finished calibration run and a pending import, all at alpha."""
    with in_schema(alpha_teacher.schema_name):
        run = CalibrationRun.objects.create(status="succeeded", progress=100, n_usable=1)
        CalibrationResult.objects.create(
            run=run, item=item, old_status="active", old_model="3PL", old_a=1, old_b=0, old_c=0.2,
            old_d=1, new_a=1.1, new_b=0.1, new_c=0.2, new_d=1,
        )  # fmt: skip
        pending = ItemImport.objects.create(
            uploaded_by_id=alpha_teacher.user_id, text="external_id,b\nALPHA-1,1\n", sha256="x"
        )
    return {"item": item.pk, "run": run.pk, "import": pending.pk}


def _pages(ids):
    item, run, pending = ids["item"], ids["run"], ids["import"]
    return [
        ("get", "/items/"),
        ("get", "/items/new/"),
        ("post", "/items/preview/"),
        ("post", "/items/statistics/refresh/"),
        ("get", "/items/export.csv"),
        ("get", "/items/export.json"),
        ("get", "/items/export.qti.zip"),
        ("get", "/items/export.moodle.xml"),
        ("get", "/items/import/"),
        ("get", "/items/import/format/"),
        ("get", f"/items/import/{pending}/"),
        ("get", "/items/calibrations/"),
        ("post", "/items/calibrations/new/"),
        ("get", f"/items/calibrations/{run}/"),
        ("get", f"/items/calibrations/{run}/status/"),
        ("get", f"/items/calibrations/{run}/accept/"),
        ("post", f"/items/calibrations/{run}/accept/"),
        ("post", f"/items/calibrations/{run}/discard/"),
        ("post", f"/items/calibrations/{run}/retry/"),
        ("get", f"/items/{item}/"),
        ("get", f"/items/{item}/edit/"),
        ("post", f"/items/{item}/retire/"),
        ("post", f"/items/{item}/duplicate/"),
        ("get", f"/items/{item}/versions/1/"),
    ]


def test_students_get_403_on_every_item_bank_page(client_for, alpha_student, alpha_objects):
    client = client_for(alpha_student)
    for method, url in _pages(alpha_objects):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.status_code)
        assert SECRET not in response.content.decode()


def test_visitors_are_sent_to_sign_in(client_for, alpha_teacher, alpha_objects):
    client = client_for(host=alpha_teacher.host)
    for method, url in _pages(alpha_objects):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert "/accounts/login/" in response["Location"]


def test_staff_may_open_every_page(client_for, alpha_teacher, alpha_admin, alpha_objects):
    for persona in (alpha_teacher, alpha_admin):
        client = client_for(persona)
        for method, url in _pages(alpha_objects):
            if method == "get" and not (
                persona is alpha_admin and "/import/" in url and "-" in url
            ):
                response = client.get(url)
                assert response.status_code == 200, (persona.key, url, response.status_code)


def test_another_schools_teacher_gets_404_for_alpha_ids(client_for, beta_teacher, alpha_objects):
    client = client_for(beta_teacher)
    for method, url in _pages(alpha_objects):
        if (
            url.rstrip("/").split("/")[-1]
            in ("items", "new", "preview", "refresh", "import", "format", "calibrations")
            or "export" in url
        ):
            continue  # pages without an id are beta's own
        response = getattr(client, method)(url)
        assert response.status_code in (404, 405), (method, url, response.status_code)
        assert SECRET not in response.content.decode()
    # Beta's own list and exports never include alpha's items.
    for url in (
        "/items/",
        "/items/export.csv",
        "/items/export.json",
        "/items/export.moodle.xml",
        "/items/?q=Alpha",
    ):
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert SECRET.encode() not in body and b"ALPHA-1" not in body
    # The QTI package is a zip: look inside every file of it.
    response = client.get("/items/export.qti.zip")
    package = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    for name in package.namelist():
        assert SECRET.encode() not in package.read(name) and b"ALPHA-1" not in package.read(name)


def test_an_import_is_only_visible_to_the_person_who_uploaded_it(
    client_for, alpha_teacher2, alpha_objects
):
    assert (
        client_for(alpha_teacher2).get(f"/items/import/{alpha_objects['import']}/").status_code
        == 404
    )
    assert client_for(alpha_teacher2).get(f"/items/import/{uuid.uuid4()}/").status_code == 404
