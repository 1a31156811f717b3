"""Moodle XML and GIFT files through the import pages and the API: upload, preview with item
types, confirm all or nothing, images stored on confirm, who may do it, and hostile files."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dreamseed.itembank.models import Item, ItemImport
from dreamseed.itembank.tests.conftest import make_item
from dreamseed.testing import in_schema

FIXTURES = Path(__file__).parent / "fixtures"
MOODLE_XML = (FIXTURES / "moodle_all_types.xml").read_text()
GIFT = (FIXTURES / "gift_docs_examples.txt").read_text()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(client, text, name):
    return client.post("/items/import/", {"file": SimpleUploadedFile(name, text.encode())})


def _confirm(client, response):
    preview = client.get(response["Location"])
    return preview, client.post(
        response["Location"], {"digest": preview.context["digest"]}, follow=True
    )


def _versions(persona):
    with in_schema(persona.schema_name):
        return {
            item.external_id: (item, item.current_version)
            for item in Item.objects.select_related("current_version")
        }


def test_a_teacher_imports_a_moodle_xml_file_after_a_preview(client_for, alpha_teacher, media_root):
    client = client_for(alpha_teacher)
    response = _upload(client, MOODLE_XML, "questions.xml")
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.context["counts"] == {"rows": 6, "create": 6, "update": 0, "unchanged": 0}
    for label in ("Single choice", "Multiple select", "True or false", "Numeric entry"):
        assert label in preview.text
    assert "The file brings 1 image; it is saved when you confirm." in preview.text
    assert not list(media_root.rglob("*.png"))  # nothing stored on preview
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()
        assert ItemImport.objects.get().format == "moodlexml"

    _preview, done = _confirm(client, response)
    assert "6 new items" in done.text
    items = _versions(alpha_teacher)
    item, version = items["GEO-FR-1"]
    assert (item.status, item.content_area, version.kind, version.correct_key) == (
        "draft",
        "Geography",
        "single",
        "A",
    )
    assert '<img src="/media/items/' in version.stem and 'alt="The flag of France"' in version.stem
    assert len(list(media_root.rglob("*.png"))) == 1
    image_url = version.stem.split('src="')[1].split('"')[0]
    assert client.get(image_url).status_code == 200
    assert items["Rivers-of-France"][1].answer == {"keys": ["A", "B"]}
    assert items["Pencil-length"][1].answer["units"] == ["cm", "centimetres"]
    assert items["Newton-s-first-name"][1].answer["case_sensitive"] is True
    assert items["Explain-gravity"][1].kind == "extended"
    assert items["Water-boils"][0].content_area == "Physics"


def test_reimporting_a_moodle_file_changes_nothing_and_keeps_our_parameters(
    client_for, alpha_teacher
):
    # An item already calibrated in the bank, with the same id as a question in the file.
    make_item(alpha_teacher, external_id="GEO-FR-1", status="active", b=0.4, a=1.3)
    client = client_for(alpha_teacher)
    _preview, done = _confirm(client, _upload(client, MOODLE_XML, "questions.xml"))
    assert "5 new items, 1 updated" in done.text
    item, version = _versions(alpha_teacher)["GEO-FR-1"]
    assert (item.status, item.a, item.b) == ("active", 1.3, 0.4)  # Moodle has no parameters
    assert version.options[0]["text"] == "Paris"

    again = _upload(client, MOODLE_XML, "questions.xml")
    preview = client.get(again["Location"])
    assert preview.context["counts"]["unchanged"] == 6
    assert "already in the bank" in preview.text


def test_a_gift_text_file_is_recognised_and_imported(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    response = _upload(client, GIFT, "questions.txt")
    assert response.status_code == 302
    preview, done = _confirm(client, response)
    assert preview.context["counts"]["create"] == 14
    assert "14 new items" in done.text
    items = _versions(alpha_teacher)
    assert items["Q1"][1].kind == "truefalse" and items["Q1"][1].correct_key == "T"
    assert items["Q7"][1].answer["value"] == 1822.0
    water, water_version = items["CHEM-7"]
    assert (water.status, water.b) == ("active", -0.4)  # our tags carried the difficulty
    assert water_version.stem == "<p>What is H<sub>2</sub>O?</p>"
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.filter(content_area="US presidents").count() == 7


def test_a_file_with_problems_lists_every_one_and_imports_nothing(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    text = (FIXTURES / "gift_refused.txt").read_text()
    response = _upload(client, text, "questions.gift")
    assert response.status_code == 400
    problems = [str(problem) for problem in response.context["plan"].problems]
    assert problems[0].startswith("Item 1 (line 4): Matching questions")
    assert any(problem.startswith("Item 3 (line 8):") for problem in problems)
    assert "Nothing was imported" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists() and not ItemImport.objects.exists()


def test_an_unsupported_moodle_type_refuses_the_whole_file(client_for, alpha_teacher):
    text = MOODLE_XML.replace(
        "</quiz>",
        '<question type="multianswer"><name><text>Cloze</text></name>'
        "<questiontext><text>{1:SHORTANSWER:=Berlin}</text></questiontext></question></quiz>",
    )
    response = _upload(client_for(alpha_teacher), text, "questions.xml")
    assert response.status_code == 400
    (problem,) = response.context["plan"].problems
    line = text.count("\n", 0, text.index('<question type="multianswer">')) + 1
    assert f"Item 7 (line {line}):" in str(problem) and "embedded answers (cloze)" in str(problem)
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()


def test_validation_problems_name_the_question_and_line(client_for, alpha_teacher):
    marseille = '<answer fraction="0" format="html">\n      <text>Marseille</text>\n    </answer>'
    text = MOODLE_XML.replace(marseille, marseille * 5)  # seven options: one too many
    response = _upload(client_for(alpha_teacher), text, "questions.xml")
    assert response.status_code == 400
    (problem,) = response.context["plan"].problems
    assert str(problem) == "Item 1 (line 14), field 'options': Use at most 6 options."


XXE = """<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><name><text>x</text></name>
<questiontext><text>&secret;</text></questiontext></question></quiz>"""


def test_xxe_is_refused_with_a_clear_message(client_for, alpha_teacher):
    response = _upload(client_for(alpha_teacher), XXE, "evil.xml")
    assert response.status_code == 400
    assert "declares a document type or entities" in response.text
    assert "root:" not in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not ItemImport.objects.exists()


def test_scripts_in_question_text_are_not_stored(client_for, alpha_teacher):
    text = MOODLE_XML.replace(
        "What is the capital of <strong>France</strong>?",
        'What is the capital of <strong onclick="steal()">France</strong>?'
        "<script>steal()</script><iframe src='https://evil.example'></iframe>",
    )
    client = client_for(alpha_teacher)
    _confirm(client, _upload(client, text, "questions.xml"))
    stem = _versions(alpha_teacher)["GEO-FR-1"][1].stem
    assert "script" not in stem and "onclick" not in stem and "iframe" not in stem
    assert "<strong>France</strong>" in stem


# --- Who may import ----------------------------------------------------------------------------


def test_students_cannot_upload_or_confirm(client_for, alpha_student, alpha_teacher):
    teacher = client_for(alpha_teacher)
    response = _upload(teacher, GIFT, "questions.gift")
    student = client_for(alpha_student)
    assert _upload(student, GIFT, "questions.gift").status_code == 403
    assert student.get(response["Location"]).status_code == 403
    assert student.post(response["Location"], {"digest": "x"}).status_code == 403
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()
        assert ItemImport.objects.count() == 1  # only the teacher's, still unconfirmed


def test_a_teacher_at_another_school_cannot_see_or_confirm_the_import(
    client_for, alpha_teacher, beta_teacher
):
    alpha = client_for(alpha_teacher)
    response = _upload(alpha, MOODLE_XML, "questions.xml")
    digest = alpha.get(response["Location"]).context["digest"]
    beta = client_for(beta_teacher)
    assert beta.get(response["Location"]).status_code == 404
    assert beta.post(response["Location"], {"digest": digest}).status_code == 404
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()
    # Beta's own upload lands in beta's bank only.
    _confirm(beta, _upload(beta, MOODLE_XML, "questions.xml"))
    with in_schema(beta_teacher.schema_name):
        assert Item.objects.count() == 6
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()


# --- REST API ----------------------------------------------------------------------------------


def test_the_api_imports_moodle_xml_and_gift(client_for, alpha_teacher, alpha_student):
    client = client_for(alpha_teacher)
    response = client.post(
        "/api/items/import/",
        {"file": SimpleUploadedFile("questions.xml", MOODLE_XML.encode()), "dry_run": "true"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["format"] == "moodlexml"
    assert response.json()["counts"]["create"] == 6
    response = client.post(
        "/api/items/import/",
        {"content": GIFT, "format": "gift"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["create"] == 14
    assert len(_versions(alpha_teacher)) == 14
    refused = client.post(
        "/api/items/import/",
        {"content": "::M:: Match {=a -> b =c -> d}", "format": "gift"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["line"] == 1
    assert "Matching" in refused.json()["errors"][0]["message"]
    student = client_for(alpha_student).post(
        "/api/items/import/",
        {"content": GIFT, "format": "gift"},
        content_type="application/json",
    )
    assert student.status_code == 403


def test_an_image_without_alt_text_is_a_problem_of_its_question(client_for, alpha_teacher):
    text = MOODLE_XML.replace('alt="The flag of France"', 'alt=""')
    response = _upload(client_for(alpha_teacher), text, "questions.xml")
    assert response.status_code == 400
    (problem,) = response.context["plan"].problems
    assert str(problem).startswith("Item 1 (line 14), field 'stem':")
    assert "alt" in str(problem).lower()


# --- Round trip ----------------------------------------------------------------------------------

ABC = [
    {"key": "A", "text": "alpha"},
    {"key": "B", "text": "<em>beta</em>"},
    {"key": "C", "text": "γ"},
]
CALIBRATED = {"status": "active", "model": "3PL", "a": 1.2345678901234567, "b": -0.3, "c": 0.2}


def _source_rows(image_url: str) -> list[dict]:
    """One item of every kind, partial-credit ones included, as a JSON import file."""
    return [
        {**CALIBRATED, "external_id": "RT-single", "kind": "single", "content_area": "Fractions",
         "subject": "Mathematics", "grade": "5", "standards": ["5.NF.A.1", "fractions"],
         "se_a": 0.11, "stem": f'<p>Which is $a&lt;b$? <img src="{image_url}" alt="a dot"></p>',
         "options": ABC, "correct_key": "B"},
        {**CALIBRATED, "external_id": "RT:multi", "kind": "multiple", "content_area": "Fractions",
         "stem": "<p>Pick <em>two</em></p>", "options": ABC, "answer": {"keys": ["A", "C"]}},
        {**CALIBRATED, "external_id": "RT-tf", "kind": "truefalse", "stem": "<p>2 is even.</p>",
         "correct_key": "F"},
        {**CALIBRATED, "external_id": "RT-num", "kind": "numeric", "stem": "<p>Length?</p>",
         "answer": {"value": 3.5, "tolerance": 0.05, "units": ["cm"], "unit_required": True}},
        {**CALIBRATED, "external_id": "RT-text", "kind": "text", "stem": "<p>Capital?</p>",
         "answer": {"accepted": ["Paris", "the city of *"], "case_sensitive": True}},
        {**CALIBRATED, "external_id": "RT-order", "kind": "ordering", "stem": "<p>Order</p>",
         "options": ABC, "answer": {"order": ["C", "A", "B"]}},
        {"external_id": "RT-essay", "kind": "extended", "status": "pilot", "stem": "<p>Essay</p>",
         "content_area": "Writing"},
        {"external_id": "RT-gpcm", "status": "active", "model": "GPCM", "a": 0.9,
         "kind": "multiple", "stem": "<p>Partial</p>", "options": ABC, "steps": [-0.5, 0.7],
         "answer": {"keys": ["A", "C"], "scoring": "partial"}},
        {"external_id": "RT-grm", "status": "active", "model": "GRM", "a": 1.1, "kind": "numeric",
         "stem": "<p>Value?</p>", "steps": [-1.25, 1.5],
         "answer": {"value": 10.0, "tolerance": 0.1, "partial_tolerance": 1.0, "units": [],
                    "unit_required": False}},
        {"external_id": "RT-rubric", "status": "pilot", "model": "GPCM", "kind": "text",
         "stem": "<p>Explain briefly</p>",
         "answer": {"accepted": [], "case_sensitive": False, "scoring": "rubric",
                    "max_points": 3}},
    ]  # fmt: skip


def test_a_moodle_xml_export_imports_into_a_fresh_school_unchanged(
    client_for, alpha_teacher, beta_teacher, media_root
):
    import io
    import json

    from PIL import Image

    from dreamseed.itembank import media, services
    from dreamseed.itembank.formats.moodlexml_export import export_moodle_xml
    from dreamseed.itembank.import_export import item_export_row

    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), "blue").save(buffer, "PNG")
    with in_schema(alpha_teacher.schema_name):
        image_url = media.image_save(buffer.getvalue(), "png")
        plan = services.item_import_text(
            text=json.dumps({"items": _source_rows(image_url)}), fmt="json", user=None
        )
        assert plan.is_valid, [str(problem) for problem in plan.problems]
        items = Item.objects.select_related("current_version").order_by("content_area", "id")
        before = {item.external_id: item_export_row(item) for item in items}
        xml = "".join(export_moodle_xml(items))

    client = client_for(beta_teacher)
    _preview, done = _confirm(client, _upload(client, xml, "bank.xml"))
    assert f"{len(before)} new items" in done.text
    with in_schema(beta_teacher.schema_name):
        after = {
            item.external_id: item_export_row(item)
            for item in Item.objects.select_related("current_version")
        }
        assert media.image_open(image_url.rsplit("/", 1)[1]) is not None  # stored at beta too
    assert after == before


def test_two_questions_with_the_same_idnumber_are_both_named(client_for, alpha_teacher):
    text = "// [id:DUP-1]\n::A:: One? {T}\n\n// [id:DUP-1]\n::B:: Two? {F}\n"
    response = _upload(client_for(alpha_teacher), text, "questions.gift")
    assert response.status_code == 400
    (problem,) = response.context["plan"].problems
    assert str(problem) == (
        "Item 2 (line 5), field 'external_id': The id DUP-1 is also used by item 1 (line 2)."
    )


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("questions.txt", GIFT, "gift"),
        ("questions.txt", "[html]<p>What?</p> {=a ~b}", "gift"),
        ("items.txt", '[{"external_id": "Q1", "b": 1}]', "json"),
        ("items.txt", "external_id,b\nQ1,1\n", "csv"),
        ("items.txt", "stem,option_a,option_b,correct_key\nWhat is $\\frac{1}{2}$?,a,b,A\n", "csv"),
        ("export.xml", MOODLE_XML, "moodlexml"),
        ("questions.gift", "Q? {T}", "gift"),
    ],
)
def test_the_format_is_detected_from_name_and_content(name, text, fmt):
    from dreamseed.itembank.import_export import import_detect_format

    assert import_detect_format(name, text) == fmt


def test_an_xml_file_over_the_size_limit_is_refused(client_for, alpha_teacher, monkeypatch):
    monkeypatch.setattr("dreamseed.itembank.import_export.IMPORT_MAX_BYTES", 50_000)
    huge = MOODLE_XML.replace("</quiz>", "<!--" + "x" * 60_000 + "--></quiz>")
    response = _upload(client_for(alpha_teacher), huge, "questions.xml")
    assert response.status_code == 400
    assert "The file is larger than" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not ItemImport.objects.exists()
