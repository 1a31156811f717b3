"""Importing a QTI package through the pages and the API: upload -> preview (kinds, problems,
nothing saved) -> confirm (items, answers and images, all or nothing), and who may do it."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dreamseed.itembank import media
from dreamseed.itembank.models import Item, ItemImport
from dreamseed.itembank.tests.test_import_qti import FIXTURES, zip_folder
from dreamseed.testing import in_schema

KINDS = {
    "choice": "single",
    "choiceMultiple": "multiple",
    "textEntry": "text",
    "numericEntry": "numeric",
    "order": "ordering",
    "extendedText": "extended",
    "trueFalse": "truefalse",
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Images go to a folder of this test's own, so a preview's "nothing saved" is checked."""
    settings.MEDIA_ROOT = tmp_path


def _upload(client, data: bytes, name="bank.zip"):
    return client.post(
        "/items/import/", {"file": SimpleUploadedFile(name, data, "application/zip")}
    )


def _stored(persona, data: bytes) -> bool:
    with in_schema(persona.schema_name):
        name = media.image_name(data, "png")
        return media.image_open(name) is not None


def test_a_teacher_previews_then_imports_a_qti21_package(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    package = zip_folder(FIXTURES / "qti21")
    sign = (FIXTURES / "qti21/items/images/sign.png").read_bytes()
    response = _upload(client, package)
    assert response.status_code == 302, response.context and [
        str(problem) for problem in response.context["plan"].problems
    ]
    preview = client.get(response["Location"])
    assert preview.context["counts"] == {"rows": 7, "create": 7, "update": 0, "unchanged": 0}
    assert "items/choice_multiple.xml" in preview.text  # rows name their file
    assert [(row.where, row.kind_label) for row in preview.context["rows"]][:3] == [
        ("items/choice.xml", "Single choice"),
        ("items/choice_multiple.xml", "Multiple select"),
        ("items/text_entry.xml", "Short text"),
    ]
    assert "The package brings 2 images; they are saved when you confirm." in preview.text
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()  # a preview saves nothing, not even the images
        assert ItemImport.objects.get().package is not None
    assert not _stored(alpha_teacher, sign)

    done = client.post(response["Location"], {"digest": preview.context["digest"]}, follow=True)
    assert "7 new items" in done.text
    with in_schema(alpha_teacher.schema_name):
        items = {item.external_id: item for item in Item.objects.select_related("current_version")}
        assert {key: item.current_version.kind for key, item in items.items()} == KINDS
        choice = items["choice"]
        assert (choice.status, choice.a, choice.b, choice.c) == ("active", 1.25, -0.4, 0.2)
        assert choice.current_version.correct_key == "A"
        assert media.image_url(sign, "png") in choice.current_version.stem
        assert items["choiceMultiple"].status == "draft"
        assert items["choiceMultiple"].current_version.answer == {"keys": ["A", "D"]}
        assert items["numericEntry"].current_version.answer["tolerance"] == 0.005
        assert items["order"].current_version.answer == {"order": ["C", "A", "B"]}
        assert items["trueFalse"].current_version.correct_key == "F"
        pending = ItemImport.objects.get()
        assert pending.applied_at is not None and pending.package is None
    assert _stored(alpha_teacher, sign)


def test_importing_the_same_package_again_changes_nothing(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    package = zip_folder(FIXTURES / "qti30")
    first = _upload(client, package)
    preview = client.get(first["Location"])
    client.post(first["Location"], {"digest": preview.context["digest"]})
    again = client.get(_upload(client, package)["Location"])
    assert again.context["counts"] == {"rows": 7, "create": 0, "update": 0, "unchanged": 7}


def test_problems_are_listed_with_their_place_and_nothing_is_kept(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for path in (FIXTURES / "qti21").rglob("*"):
            relative = path.relative_to(FIXTURES / "qti21").as_posix()
            if path.is_file() and relative != "items/order.xml":
                package.write(path, relative)
    response = _upload(client, buffer.getvalue())
    assert response.status_code == 400
    assert (
        "imsmanifest.xml, resource &#x27;order&#x27;: the file “items/order.xml” is not in the "
        "package." in response.text
    )
    with in_schema(alpha_teacher.schema_name):
        assert not ItemImport.objects.exists()
        assert not Item.objects.exists()


def test_a_hostile_package_gets_a_clear_message(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", "<manifest/>")
        package.writestr("../../etc/cron.d/evil", "* * * * * root sh")
    response = _upload(client, buffer.getvalue())
    assert response.status_code == 400
    assert "is refused: its path climbs out of the package" in response.text
    not_a_zip = _upload(client, b"external_id,b\nX,1\n", name="bank.zip")
    assert not_a_zip.status_code == 400
    assert "is not a zip file" in not_a_zip.text
    with in_schema(alpha_teacher.schema_name):
        assert not ItemImport.objects.exists()


def test_students_and_visitors_cannot_import(client_for, alpha_student, alpha_teacher):
    package = zip_folder(FIXTURES / "qti21")
    assert _upload(client_for(alpha_student), package).status_code == 403
    visitor = _upload(client_for(host=alpha_teacher.host), package)
    assert visitor.status_code == 302 and "/accounts/login/" in visitor["Location"]
    with in_schema(alpha_teacher.schema_name):
        assert not ItemImport.objects.exists()


def test_another_schools_teacher_cannot_see_or_confirm_the_import(
    client_for, alpha_teacher, beta_teacher
):
    alpha = client_for(alpha_teacher)
    response = _upload(alpha, zip_folder(FIXTURES / "qti21"))
    digest = alpha.get(response["Location"]).context["digest"]
    beta = client_for(beta_teacher)
    assert beta.get(response["Location"]).status_code == 404
    assert beta.post(response["Location"], {"digest": digest}).status_code == 404
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()
        assert ItemImport.objects.get().applied_at is None
    with in_schema(beta_teacher.schema_name):
        assert not Item.objects.exists()


def test_the_api_imports_a_package(client_for, alpha_teacher, alpha_student):
    package = zip_folder(FIXTURES / "qti30")
    client = client_for(alpha_teacher)
    upload = SimpleUploadedFile("bank.zip", package, "application/zip")
    dry = client.post("/api/items/import/", {"file": upload, "dry_run": "true"})
    assert dry.status_code == 200, dry.content
    assert dry.json()["format"] == "qti"
    assert dry.json()["counts"]["create"] == 7
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()
    done = client.post(
        "/api/items/import/", {"file": SimpleUploadedFile("bank.zip", package, "application/zip")}
    )
    assert done.status_code == 200, done.content
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.count() == 7
    triangle = (FIXTURES / "qti30/items/images/triangle.png").read_bytes()
    assert _stored(alpha_teacher, triangle)
    student = client_for(alpha_student).post(
        "/api/items/import/", {"file": SimpleUploadedFile("bank.zip", package)}
    )
    assert student.status_code == 403


def test_api_problems_carry_their_place(client_for, alpha_teacher):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(
            "imsmanifest.xml",
            '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>'
            '<resource identifier="q9" type="imsqti_item_xmlv2p1" href="q9.xml"/>'
            "</resources></manifest>",
        )
    response = client_for(alpha_teacher).post(
        "/api/items/import/", {"file": SimpleUploadedFile("bank.zip", buffer.getvalue())}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "line": None,
            "item": None,
            "column": None,
            "place": "imsmanifest.xml, resource 'q9'",
            "message": "the file “q9.xml” is not in the package.",
            "text": "imsmanifest.xml, resource 'q9': the file “q9.xml” is not in the package.",
        }
    ]


def test_two_items_with_one_id_are_named_by_their_files(alpha_teacher):
    from dreamseed.itembank.import_export import import_plan
    from dreamseed.itembank.tests.test_import_qti import choice_item, manifest, zip_files

    package = zip_files(
        {
            "imsmanifest.xml": manifest(("a", "items/q1.xml"), ("b", "items/q2.xml")),
            "items/q1.xml": choice_item(identifier="Q1"),
            "items/q2.xml": choice_item(identifier="Q1", body_extra="<p>Another.</p>"),
        }
    )
    with in_schema(alpha_teacher.schema_name):
        plan = import_plan(text=package, fmt="qti")
    assert [str(problem) for problem in plan.problems] == [
        "items/q2.xml, field 'identifier': The id Q1 is also used by items/q1.xml."
    ]
