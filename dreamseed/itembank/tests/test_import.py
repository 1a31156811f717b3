"""Importing and exporting item files: preview, line-and-column errors, all or nothing,
idempotent re-imports, and round trips through the export."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from dreamseed.itembank.import_export import derived_external_id, import_plan
from dreamseed.itembank.models import BankRevision, Item, ItemImport, ItemVersion
from dreamseed.itembank.tests.conftest import make_item
from dreamseed.itembank.validation import item_values_clean
from dreamseed.testing import in_schema

HEADER = "external_id,status,subject,grade,content_area,standards,model,a,b,c,stem,option_a,option_b,option_c,option_d,correct_key\n"
GOOD_CSV = HEADER + (
    'FR-1,active,Mathematics,5,Fractions,5.NF.A.1; fractions,3PL,1.2,-0.4,0.2,"What is $\\frac{1}{2} + \\frac{1}{4}$?",$\\frac{3}{4}$,$\\frac{2}{6}$,$\\frac{1}{6}$,$\\frac{2}{4}$,A\n'
    'FR-2,pilot,Mathematics,5,Fractions,,3PL,1,,0.2,"Which is bigger, $\\frac{2}{3}$ or $\\frac{3}{5}$?",$\\frac{2}{3}$,$\\frac{3}{5}$,,,A\n'
    "AR-1,active,Mathematics,2,Arithmetic,,2PL,0.9,-2.1,0,What is 7 + 5?,11,12,13,75,B\n"
)


def _upload(client, text, name="items.csv"):
    return client.post(
        "/items/import/", {"file": SimpleUploadedFile(name, text.encode(), "text/csv")}
    )


def _import(client, text, name="items.csv"):
    """Upload, preview, confirm; returns the confirm response."""
    response = _upload(client, text, name)
    assert response.status_code == 302, response.context and [
        str(p) for p in response.context["plan"].problems
    ]
    preview = client.get(response["Location"])
    return client.post(response["Location"], {"digest": preview.context["digest"]}, follow=True)


def test_a_valid_file_is_previewed_then_imported(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    response = _upload(client, GOOD_CSV)
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.context["counts"] == {"rows": 3, "create": 3, "update": 0, "unchanged": 0}
    assert "Confirm and import" in preview.text
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()  # nothing yet: only a preview
        revision = BankRevision.current()
    done = client.post(response["Location"], {"digest": preview.context["digest"]}, follow=True)
    assert "3 new items" in done.text
    with in_schema(alpha_teacher.schema_name):
        fr1 = Item.objects.select_related("current_version").get(external_id="FR-1")
        assert (fr1.status, fr1.a, fr1.b, fr1.c) == ("active", 1.2, -0.4, 0.2)
        assert fr1.standards == ["5.NF.A.1", "fractions"]
        assert fr1.current_version.correct_key == "A"
        assert fr1.current_version.stem.startswith("<p>What is $\\frac{1}{2}")
        assert Item.objects.get(external_id="FR-2").b is None
        assert len(Item.objects.get(external_id="FR-2").current_version.options) == 2
        assert BankRevision.current() == revision + 1
        assert ItemImport.objects.get().applied_at is not None


def test_importing_the_same_file_again_changes_nothing(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    _import(client, GOOD_CSV)
    response = _upload(client, GOOD_CSV)
    preview = client.get(response["Location"])
    assert preview.context["counts"] == {"rows": 3, "create": 0, "update": 0, "unchanged": 3}
    assert "would change nothing" in preview.text
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.count() == 3 and ItemVersion.objects.count() == 3


def test_lines_without_an_id_get_a_stable_one_from_their_content(client_for, alpha_teacher):
    text = "stem,option_a,option_b,correct_key\nWhat is 1 + 1?,2,3,A\n"
    client = client_for(alpha_teacher)
    _import(client, text)
    _import(client, text)
    with in_schema(alpha_teacher.schema_name):
        item = Item.objects.get()
        values, _ = item_values_clean(
            {"stem": "What is 1 + 1?", "option_a": "2", "option_b": "3", "correct_key": "A"}
        )
        assert item.external_id == derived_external_id(values)
        assert item.status == "draft"


def test_every_problem_names_its_line_and_column_and_nothing_is_written(client_for, alpha_teacher):
    text = HEADER + (
        "X-1,active,Math,5,,,3PL,1,abc,0.2,Fine question,1,2,,,A\n"
        "X-2,active,Math,5,,,3PL,1,0.5,0.2,,1,2,,,A\n"
        "X-3,sometimes,Math,5,,,3PL,1,0.5,0.2,Q,1,2,,,E\n"
        "X-1,active,Math,5,,,3PL,1,0.5,0.2,Another,1,2,,,A\n"
        "X-5,active,Math,5,,,3PL,1,0.5,0.2,Q5,1,2,3,4,A\n"
    )
    response = _upload(client_for(alpha_teacher), text)
    assert response.status_code == 400
    problems = [str(problem) for problem in response.context["plan"].problems]
    assert "Line 2, column 'b': “abc” is not a number." in problems
    assert "Line 3, column 'stem': Write the question." in problems
    assert any(p.startswith("Line 4, column 'status': “sometimes” is not one of") for p in problems)
    assert (
        "Line 4, column 'correct_key': The correct option “E” is not one of the options."
        in problems
    )
    assert "Line 5, column 'external_id': The id X-1 is also used on line 2." in problems
    assert len(problems) == 5
    assert "Nothing was imported" in response.text and "Line 2, column" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists() and not ItemImport.objects.exists()


def test_line_numbers_count_multi_line_cells(alpha_teacher):
    text = 'stem,option_a,option_b,correct_key\n"First line\n\nsecond paragraph",1,2,A\nQ2,1,2,Z\n'
    with in_schema(alpha_teacher.schema_name):
        plan = import_plan(text=text, fmt="csv")
    assert [str(p) for p in plan.problems] == [
        "Line 5, column 'correct_key': The correct option “Z” is not one of the options."
    ]


def test_file_level_problems(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    cases = [
        (b"\xff\xfe\x00x", "not UTF-8"),
        (b"", "empty"),
        (b"stem,option_a,option_b,correct_key\n", "no items"),
        (b'{"items": [', "JSON cannot be read"),
    ]
    for data, message in cases:
        response = client.post(
            "/items/import/",
            {"file": SimpleUploadedFile("x.json" if data.startswith(b"{") else "x.csv", data)},
        )
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors["file"]), message
    unknown = _upload(client, "stem,option_a,option_b,correct_key,colour\nQ,1,2,A,red\n")
    assert "Line 1, column 'colour': Unknown column." in str(unknown.context["plan"].problems[0])
    missing = _upload(client, "stem,option_a\nQ,1\n")
    assert any("'option_b' is missing" in str(p) for p in missing.context["plan"].problems)
    ragged = _upload(client, "stem,option_a,option_b,correct_key\nQ,1,2,A,extra\n")
    assert "Line 2: This line has 5 cells" in str(ragged.context["plan"].problems[0])


def test_a_file_of_ids_and_difficulties_updates_only_difficulties(client_for, alpha_teacher):
    item = make_item(alpha_teacher, external_id="B-1", b=0.0, content_area="Algebra")
    with in_schema(alpha_teacher.schema_name):
        revision = BankRevision.current()
        Item.objects.filter(pk=item.pk).update(se_b=0.2)
    client = client_for(alpha_teacher)
    response = _upload(client, "external_id,b\nB-1,1.5\n")
    preview = client.get(response["Location"])
    assert preview.context["counts"]["update"] == 1
    assert preview.context["rows"][0].change_labels == ["IRT parameters"]
    client.post(response["Location"], {"digest": preview.context["digest"]})
    with in_schema(alpha_teacher.schema_name):
        item.refresh_from_db()
        assert (item.b, item.status, item.content_area, item.se_b) == (
            1.5,
            "active",
            "Algebra",
            None,
        )
        assert item.versions.count() == 1
        assert BankRevision.current() == revision + 1


def test_changing_an_active_items_content_by_import_makes_a_new_version(client_for, alpha_teacher):
    item = make_item(alpha_teacher, external_id="V-1")
    client = client_for(alpha_teacher)
    _import(client, "external_id,stem,option_a,option_b,correct_key\nV-1,New wording,1,2,B\n")
    with in_schema(alpha_teacher.schema_name):
        item.refresh_from_db()
        assert item.current_version.number == 2
        assert item.current_version.stem == "<p>New wording</p>"
        assert list(item.versions.values_list("number", flat=True)) == [1, 2]


def test_a_confirm_after_the_bank_changed_shows_the_new_preview(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    response = _upload(client, GOOD_CSV)
    preview = client.get(response["Location"])
    make_item(alpha_teacher, external_id="FR-1")  # someone else adds FR-1 meanwhile
    again = client.post(response["Location"], {"digest": preview.context["digest"]}, follow=True)
    assert "changed since this preview" in again.text
    assert again.context["counts"]["update"] == 1
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.count() == 1


def test_export_then_import_is_a_round_trip(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    _import(client, GOOD_CSV)
    with in_schema(alpha_teacher.schema_name):
        Item.objects.filter(external_id="FR-1").update(se_a=0.11, se_b=0.07)
    csv_text = b"".join(client.get("/items/export.csv").streaming_content).decode()
    json_text = b"".join(client.get("/items/export.json").streaming_content).decode()
    assert csv_text.splitlines()[0].startswith("external_id,status,subject")
    document = json.loads(json_text)
    assert document["format"] == "dreamseed-items" and len(document["items"]) == 3
    for text, name in ((csv_text, "again.csv"), (json_text, "again.json")):
        response = _upload(client, text, name)
        preview = client.get(response["Location"])
        assert preview.context["counts"]["unchanged"] == 3, [
            r.changes for r in preview.context["rows"]
        ]


def test_export_follows_the_list_filters(client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    _import(client, GOOD_CSV)
    text = b"".join(client.get("/items/export.csv?tag=Arithmetic").streaming_content).decode()
    assert "AR-1" in text and "FR-1" not in text


def test_json_problems_name_the_item_and_its_line(client_for, alpha_teacher):
    document = {
        "items": [
            {"external_id": "J-1", "stem": "Q", "options": ["1", "2"], "correct_key": "A"},
            {
                "external_id": "J-2",
                "stem": "Q",
                "options": ["1", "2"],
                "correct_key": "A",
                "b": "x",
            },
        ]
    }
    text = json.dumps(document, indent=2)
    response = _upload(client_for(alpha_teacher), text, "items.json")
    assert response.status_code == 400
    problem = response.context["plan"].problems[0]
    assert problem.item == 2 and problem.column == "b"
    assert str(problem).startswith("Item 2 (line ")
    assert text.splitlines()[problem.line - 1].strip() == "{"


def test_a_json_file_imports(client_for, alpha_teacher):
    document = [
        {
            "external_id": "J-1",
            "status": "active",
            "b": 0.4,
            "a": 1.3,
            "c": 0.2,
            "stem": "Solve $2x + 3 = 11$.",
            "options": [{"key": "A", "text": "4"}, {"key": "B", "text": "7"}],
            "correct_key": "A",
            "standards": ["8.EE.C.7"],
        }
    ]
    _import(client_for(alpha_teacher), json.dumps(document), "items.json")
    with in_schema(alpha_teacher.schema_name):
        item = Item.objects.get(external_id="J-1")
        assert (item.b, item.standards) == (0.4, ["8.EE.C.7"])


def test_a_stem_with_a_large_inline_image_round_trips_through_csv(client_for, alpha_teacher):
    image = "data:image/png;base64," + "A" * 140_000
    item = make_item(
        alpha_teacher, external_id="IMG-1", stem=f'<p><img src="{image}" alt="A bar chart"></p>'
    )
    client = client_for(alpha_teacher)
    text = b"".join(client.get("/items/export.csv").streaming_content).decode()
    response = _upload(client, text)
    preview = client.get(response["Location"])
    assert preview.context["counts"]["unchanged"] == 1
    with in_schema(alpha_teacher.schema_name):
        assert image in Item.objects.get(pk=item.pk).current_version.stem
