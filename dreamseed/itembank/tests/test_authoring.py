"""Writing every question type in the editor: the type's own fields, its messages at those fields,
the live preview as the student sees it with the answer in words, editing and duplicating
without losing versions, and who may do it."""

import pytest

from dreamseed.itembank import services
from dreamseed.itembank.models import Item, ItemVersion
from dreamseed.itembank.tests.conftest import item_form_data
from dreamseed.itembank.validation import item_values_clean
from dreamseed.testing import in_schema

NO_OPTIONS = {f"option_{key}": "" for key in "abcdef"}

# (form data, stored options keys, correct_key, answer, answer in words on the item page)
GOOD = {
    "multiple": (
        {"kind": "multiple", "option_d": "3/4", "correct_keys": ["A", "D"]},
        ["A", "B", "C", "D"],
        "",
        {"keys": ["A", "D"]},
        "A, D",
    ),
    "truefalse": (
        # Options left over from another type are ignored: the page hid them.
        {"kind": "truefalse", "stem": "Half of 12 is 6.", "truefalse_key": "T", "c": "0.5"},
        [],
        "T",
        {},
        "True",
    ),
    "numeric": (
        {
            "kind": "numeric",
            "stem": "How long is the rod?",
            "answer_value": "3,5",
            "answer_tolerance": "0.1",
            "answer_units": "cm; centimetres",
            "answer_unit_required": "on",
            "c": "0",
        },
        [],
        "",
        {"value": 3.5, "tolerance": 0.1, "units": ["cm", "centimetres"], "unit_required": True},
        "3.5 ± 0.1 cm / centimetres",
    ),
    "text": (
        {
            "kind": "text",
            "stem": "Capital of France?",
            "accepted_answers": "Paris\n  the city of Paris \n\n",
            "c": "0",
        },
        [],
        "",
        {"accepted": ["Paris", "the city of Paris"], "case_sensitive": False},
        "Paris / the city of Paris",
    ),
    "ordering": (
        {
            "kind": "ordering",
            "stem": "Smallest first.",
            "option_a": "1/4",
            "option_b": "1/2",
            "option_c": "3/4",
            "c": "0",
        },
        ["A", "B", "C"],
        "",
        {"order": ["A", "B", "C"]},
        "A → B → C",
    ),
    "extended": (
        {
            "kind": "extended",
            "stem": "Explain why.",
            "status": "pilot",
            "b": "",
            "c": "0",
            **NO_OPTIONS,
        },
        [],
        "",
        {},
        "Not scored: read by the teacher.",
    ),
}


@pytest.mark.parametrize("kind", list(GOOD))
def test_a_teacher_writes_each_type_and_the_item_page_says_its_answer(
    client_for, alpha_teacher, kind
):
    data, keys, correct_key, answer, in_words = GOOD[kind]
    client = client_for(alpha_teacher)
    response = client.post("/items/new/", item_form_data(external_id=f"K-{kind}", **data))
    assert response.status_code == 302, response.context["form"].errors
    with in_schema(alpha_teacher.schema_name):
        version = Item.objects.get(external_id=f"K-{kind}").current_version
        assert version.kind == kind
        assert [option["key"] for option in version.options] == keys
        assert (version.correct_key, version.answer) == (correct_key, answer)
    page = client.get(response["Location"]).text
    assert in_words in page
    assert version.kind_label in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "multiple"}, "correct_keys", "Choose at least one correct option"),
        ({"kind": "multiple", "correct_keys": ["A", "E"]}, "correct_keys", "not one of the"),
        ({"kind": "multiple", "correct_keys": ["Z"]}, "correct_keys", "valid choice"),
        ({"kind": "truefalse"}, "truefalse_key", "true (T) or false (F)"),
        ({"kind": "truefalse", "truefalse_key": "maybe"}, "truefalse_key", "valid choice"),
        ({"kind": "numeric"}, "answer_value", "Enter the correct number"),
        ({"kind": "numeric", "answer_value": "three"}, "answer_value", "is not a number"),
        (
            {"kind": "numeric", "answer_value": "3", "answer_tolerance": "-1"},
            "answer_tolerance",
            "cannot be negative",
        ),
        (
            {"kind": "numeric", "answer_value": "3", "answer_unit_required": "on"},
            "answer_units",
            "List the accepted units",
        ),
        (
            {"kind": "numeric", "answer_value": "3", "answer_units": ";".join(["u"] * 11)},
            "answer_units",
            "at most 10 units",
        ),
        ({"kind": "text", "accepted_answers": " \n "}, "accepted_answers", "at least one"),
        ({"kind": "text", "accepted_answers": "Paris\n**"}, "accepted_answers", "wildcards"),
        ({"kind": "ordering", "option_b": "", "option_c": ""}, "option_b", "at least 2"),
        ({"kind": "extended", **NO_OPTIONS}, "status", "cannot be active"),
        ({"kind": "bogus"}, "kind", "valid choice"),
        ({"kind": "single", "correct_key": ""}, "correct_key", "Choose the correct option"),
    ],
)
def test_each_types_mistakes_are_told_at_their_field_and_nothing_is_saved(
    client_for, alpha_teacher, data, field, message
):
    response = client_for(alpha_teacher).post(
        "/items/new/", item_form_data(external_id="BAD-1", **data)
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message.split("“")[0] in response.text  # shown on the page, not only in the form
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists() and not ItemVersion.objects.exists()


def test_errors_of_the_key_show_in_the_chosen_types_box(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/new/", item_form_data(kind="truefalse", correct_key="")
    )
    assert 'id="truefalse-key-errors"' in response.text
    assert 'id="correct-key-errors"' not in response.text


def test_without_javascript_every_types_fields_are_on_the_page(client_for, alpha_teacher):
    html = client_for(alpha_teacher).get("/items/new/").text
    for name in ("kind", "correct_key", "correct_keys", "truefalse_key", "answer_value",
                 "answer_tolerance", "answer_units", "answer_unit_required",
                 "accepted_answers", "case_sensitive"):  # fmt: skip
        assert f'name="{name}"' in html, name
    for kind in ("single multiple ordering", "truefalse", "numeric", "text", "extended"):
        assert f'data-kind-show="{kind}"' in html
    assert " hidden" not in html.split('data-kind-show="extended"')[1][:20]


def _post_data(form) -> dict:
    """What a browser posts for an editor form as it was rendered."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value
    return data


def _create(persona, **raw):
    with in_schema(persona.schema_name):
        values, errors = item_values_clean(
            {"status": "active", "b": 0.5, "c": 0, "stem": "<p>Which?</p>", **raw}
        )
        assert not errors, errors
        return services.item_create(values=values, created_by=None)


KINDS = {
    "single": ({"options": ["3", "4"], "correct_key": "B"}, {"correct_key": "A"}),
    "multiple": (
        {"kind": "multiple", "options": ["2", "3", "4"], "correct_key": "A;C"},
        {"correct_keys": ["B"]},
    ),
    "truefalse": ({"kind": "truefalse", "correct_key": "F"}, {"truefalse_key": "T"}),
    "numeric": (
        {"kind": "numeric", "answer": {"value": 2.5, "tolerance": 0.05, "units": ["kg"]}},
        {"answer_tolerance": "0.5"},
    ),
    "text": (
        {"kind": "text", "answer": {"accepted": ["Seoul", "서울"], "case_sensitive": True}},
        {"case_sensitive": ""},
    ),
    "ordering": (
        {"kind": "ordering", "options": ["b", "a", "c"], "correct_key": "B;A;C"},
        {"option_c": "c!"},
    ),
    "extended": ({"kind": "extended", "status": "pilot"}, {"stem": "Explain again."}),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_editing_an_item_in_use_keeps_its_answer_or_makes_a_new_version(
    client_for, alpha_teacher, kind
):
    raw, change = KINDS[kind]
    item = _create(alpha_teacher, external_id=f"E-{kind}", stem="<p>Q</p>", **raw)
    with in_schema(alpha_teacher.schema_name):
        first = ItemVersion.objects.get(item=item)
        first_content = (first.options, first.correct_key, first.answer)
    client = client_for(alpha_teacher)
    form = client.get(f"/items/{item.pk}/edit/").context["form"]
    assert form["kind"].value() == kind
    data = _post_data(form)

    # Saving the form as it came (only the subject changed) keeps version 1 as it was.
    response = client.post(f"/items/{item.pk}/edit/", {**data, "subject": "Maths"}, follow=True)
    assert "Your changes were saved." in response.text
    with in_schema(alpha_teacher.schema_name):
        assert ItemVersion.objects.filter(item=item).count() == 1
        first.refresh_from_db()
        assert (first.options, first.correct_key, first.answer) == first_content

    # Changing how it is marked saves version 2; version 1 is kept for past answers.
    data = {name: value for name, value in data.items() if name not in change or change[name]}
    data.update({name: value for name, value in change.items() if value})
    response = client.post(f"/items/{item.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    with in_schema(alpha_teacher.schema_name):
        item.refresh_from_db()
        assert item.current_version.number == 2 and item.current_version.kind == kind
        first.refresh_from_db()
        assert (first.options, first.correct_key, first.answer) == first_content
        second = item.current_version
    old_page = client.get(f"/items/{item.pk}/versions/1/").text
    assert first.kind_label in old_page and first.answer_display in old_page
    with in_schema(alpha_teacher.schema_name):
        assert (second.options, second.correct_key, second.answer, second.stem) != (
            *first_content,
            first.stem,
        )


def test_an_imported_ordering_item_is_edited_in_its_right_order(client_for, alpha_teacher):
    item = _create(
        alpha_teacher, kind="ordering", options=["second", "first", "third"], correct_key="B;A;C"
    )
    client = client_for(alpha_teacher)
    form = client.get(f"/items/{item.pk}/edit/").context["form"]
    assert [form[f"option_{key}"].value() for key in "abc"] == ["first", "second", "third"]
    data = _post_data(form)
    client.post(f"/items/{item.pk}/edit/", {**data, "grade": "4"})
    with in_schema(alpha_teacher.schema_name):
        assert ItemVersion.objects.filter(item=item).count() == 1
    client.post(f"/items/{item.pk}/edit/", {**data, "option_a": "third", "option_c": "first"})
    with in_schema(alpha_teacher.schema_name):
        item.refresh_from_db()
        assert item.current_version.number == 2
        assert [o["text"] for o in item.current_version.options] == ["third", "second", "first"]
        assert item.current_version.answer == {"order": ["A", "B", "C"]}


def test_changing_the_type_of_a_draft_changes_it_in_place(client_for, alpha_teacher):
    item = _create(alpha_teacher, status="draft", b=None, options=["x", "y"], correct_key="A")
    data = item_form_data(
        status="draft", b="", kind="numeric", answer_value="12", **{"c": "0"}
    )  # the old options are still in the fields, hidden
    response = client_for(alpha_teacher).post(f"/items/{item.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    with in_schema(alpha_teacher.schema_name):
        version = ItemVersion.objects.get(item=item)
        assert (version.kind, version.options, version.correct_key) == ("numeric", [], "")
        assert version.answer["value"] == 12


@pytest.mark.parametrize("kind", list(KINDS))
def test_duplicating_keeps_the_type_and_the_answer(client_for, alpha_teacher, kind):
    raw, _change = KINDS[kind]
    item = _create(alpha_teacher, external_id=f"D-{kind}", stem="<p>Q</p>", **raw)
    response = client_for(alpha_teacher).post(f"/items/{item.pk}/duplicate/")
    with in_schema(alpha_teacher.schema_name):
        copy = Item.objects.exclude(pk=item.pk).select_related("current_version").get()
        source = ItemVersion.objects.get(item=item)
        made = copy.current_version
        assert (made.kind, made.options, made.correct_key, made.answer) == (
            source.kind, source.options, source.correct_key, source.answer,
        )  # fmt: skip
        assert copy.status == "draft"
    form = client_for(alpha_teacher).get(response["Location"]).context["form"]
    assert form["kind"].value() == kind


def test_the_preview_shows_a_numeric_item_as_the_student_sees_it(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/preview/",
        item_form_data(
            kind="numeric",
            stem="How long?",
            answer_value="3.5",
            answer_tolerance="0.1",
            answer_units="cm, centimetres",
        ),
    )
    student_view, teacher_note = response.text.split('class="answer-key"')
    assert 'name="response"' in student_view and 'class="numeric-answer"' in student_view
    assert "You may write the unit after the number (cm, centimetres)." in student_view
    assert 'type="radio"' not in student_view and "3.5" not in student_view
    assert "Numeric entry" in teacher_note
    assert "Correct answer: <strong>3.5 ± 0.1 cm / centimetres (unit optional)</strong>" in (
        teacher_note
    )


@pytest.mark.parametrize(
    ("data", "student_sees"),
    [
        ({"kind": "truefalse", "truefalse_key": "F"}, ['value="T"', ">True<", ">False<"]),
        ({"kind": "multiple", "correct_keys": ["A"]}, ['type="checkbox" name="choices"']),
        ({"kind": "ordering"}, ['<select name="order"', "Place 3"]),
        ({"kind": "text", "accepted_answers": "nine"}, ['class="text-answer"']),
        ({"kind": "extended", "status": "pilot"}, ['class="extended-answer"']),
    ],
)
def test_the_preview_shows_each_type(client_for, alpha_teacher, data, student_sees):
    response = client_for(alpha_teacher).post("/items/preview/", item_form_data(**data))
    student_view, teacher_note = response.text.split('class="answer-key"')
    for text in student_sees:
        assert text in student_view
    assert "not complete yet" not in teacher_note


def test_the_preview_says_when_the_answer_is_not_complete(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/preview/", item_form_data(kind="numeric", answer_value="")
    )
    assert "Correct answer: not complete yet." in response.text
    assert 'name="response"' in response.text


def test_the_list_shows_and_filters_by_type(client_for, alpha_teacher):
    _create(alpha_teacher, external_id="L-1", options=["a", "b"], correct_key="A")
    _create(alpha_teacher, external_id="L-2", kind="numeric", answer={"value": 1})
    client = client_for(alpha_teacher)
    page = client.get("/items/").text
    assert '<td class="item-kind">Numeric entry</td>' in page
    assert '<td class="item-kind">Single choice</td>' in page
    listed = client.get("/items/?kind=numeric").context["page"].object_list
    assert [item.external_id for item in listed] == ["L-2"]
    api = client.get("/api/items/?kind=numeric").json()["results"]
    assert [row["external_id"] for row in api] == ["L-2"]


def test_a_school_admin_writes_items_of_every_type_too(client_for, alpha_admin):
    data, *_rest = GOOD["numeric"]
    response = client_for(alpha_admin).post("/items/new/", item_form_data(**data))
    assert response.status_code == 302


def test_students_cannot_write_or_preview_items(client_for, alpha_student):
    client = client_for(alpha_student)
    data, *_rest = GOOD["numeric"]
    assert client.post("/items/new/", item_form_data(**data)).status_code == 403
    assert client.post("/items/preview/", item_form_data(**data)).status_code == 403
    with in_schema(alpha_student.schema_name):
        assert not Item.objects.exists()


def test_another_schools_teacher_cannot_open_or_edit_alpha_items(
    client_for, alpha_teacher, beta_teacher
):
    item = _create(alpha_teacher, kind="numeric", stem="<p>Alpha numeric</p>", answer={"value": 7})
    client = client_for(beta_teacher)
    data, *_rest = GOOD["numeric"]
    for method, url in (
        ("get", f"/items/{item.pk}/edit/"),
        ("post", f"/items/{item.pk}/edit/"),
        ("get", f"/items/{item.pk}/"),
        ("get", f"/items/{item.pk}/versions/1/"),
        ("post", f"/items/{item.pk}/duplicate/"),
    ):
        response = getattr(client, method)(url, item_form_data(**data) if method == "post" else {})
        assert response.status_code == 404, (method, url)
        assert "Alpha numeric" not in response.content.decode()
    with in_schema(alpha_teacher.schema_name):
        assert ItemVersion.objects.get(item=item).answer == {
            "value": 7.0, "tolerance": 0.0, "units": [], "unit_required": False,
        }  # fmt: skip


PARTIAL = {
    "multiple": (
        {
            "kind": "multiple",
            "option_d": "3/4",
            "correct_keys": ["A", "D"],
            "scoring": "on",
            "model": "GPCM",
            "steps": "-0.5; 0.5",
            "c": "0",
            "b": "",
        },
        {"keys": ["A", "D"], "scoring": "partial"},
        [-0.5, 0.5],
    ),
    "numeric": (
        {
            "kind": "numeric",
            "answer_value": "10",
            "answer_tolerance": "0.5",
            "partial_tolerance": "2",
            "model": "GRM",
            "steps": "-1;1",
            "c": "0",
            "b": "",
        },
        {
            "value": 10,
            "tolerance": 0.5,
            "units": [],
            "unit_required": False,
            "partial_tolerance": 2,
        },
        [-1, 1],
    ),
    "text": (
        {
            "kind": "text",
            "accepted_answers": "photosynthesis",
            "max_points": "3",
            "model": "GPCM",
            "steps": "-1; 0; 1.5",
            "c": "0",
            "b": "",
        },
        {
            "accepted": ["photosynthesis"],
            "case_sensitive": False,
            "scoring": "rubric",
            "max_points": 3,
        },
        [-1, 0, 1.5],
    ),
    "extended": (
        {
            "kind": "extended",
            "max_points": "2",
            "model": "GPCM",
            "steps": "0; 1",
            "c": "0",
            "b": "",
            **NO_OPTIONS,
        },
        {"max_points": 2},
        [0, 1],
    ),
}


@pytest.mark.parametrize("kind", list(PARTIAL))
def test_partial_credit_is_written_and_kept_by_the_editor(client_for, alpha_teacher, kind):
    data, answer, steps = PARTIAL[kind]
    client = client_for(alpha_teacher)
    response = client.post("/items/new/", item_form_data(external_id=f"P-{kind}", **data))
    assert response.status_code == 302, response.context["form"].errors
    with in_schema(alpha_teacher.schema_name):
        item = Item.objects.select_related("current_version").get(external_id=f"P-{kind}")
        assert item.current_version.answer == answer
        assert (item.model, item.steps, item.status) == (data["model"], steps, "active")
    form = client.get(f"/items/{item.pk}/edit/").context["form"]
    response = client.post(f"/items/{item.pk}/edit/", {**_post_data(form), "grade": "6"})
    assert response.status_code == 302, response.context["form"].errors
    with in_schema(alpha_teacher.schema_name):
        item.refresh_from_db()
        assert ItemVersion.objects.filter(item=item).count() == 1
        assert item.current_version.answer == answer and item.steps == steps


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {
                "kind": "numeric",
                "answer_value": "3",
                "answer_tolerance": "1",
                "partial_tolerance": "0.5",
            },
            "partial_tolerance",
            "wider than the tolerance",
        ),
        ({"kind": "extended", "max_points": "20", **NO_OPTIONS}, "max_points", "1"),
        (
            {"kind": "multiple", "correct_keys": ["A", "B"], "scoring": "on", "steps": "x"},
            "steps",
            "not a number",
        ),
    ],
)
def test_partial_credit_mistakes_are_told_at_their_field(
    client_for, alpha_teacher, data, field, message
):
    response = client_for(alpha_teacher).post("/items/new/", item_form_data(**data))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
