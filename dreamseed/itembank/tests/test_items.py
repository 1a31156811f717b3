"""Writing, editing, versioning, retiring, duplicating and finding items in the bank."""

import pytest
from django.template.loader import render_to_string

from dreamseed.itembank.models import BankRevision, Item, ItemVersion
from dreamseed.itembank.tests.conftest import item_form_data, make_bank, make_item
from dreamseed.testing import in_schema


def _revision(persona):
    with in_schema(persona.schema_name):
        return BankRevision.current()


def test_a_teacher_writes_an_item_with_a_formula(client_for, alpha_teacher):
    before = _revision(alpha_teacher)
    response = client_for(alpha_teacher).post("/items/new/", item_form_data(external_id="FR-1"))
    assert response.status_code == 302
    with in_schema(alpha_teacher.schema_name):
        item = Item.objects.select_related("current_version").get(external_id="FR-1")
        version = item.current_version
        assert response["Location"] == f"/items/{item.pk}/"
        assert version.number == 1
        assert version.stem == "<p>What is $\\frac{3}{4}$ of $12$?</p>"
        assert version.options == [
            {"key": "A", "text": "9"},
            {"key": "B", "text": "$\\frac{12}{4}$"},
            {"key": "C", "text": "16"},
        ]
        assert version.correct_key == "A"
        assert (item.status, item.model, item.a, item.b, item.c, item.d) == (
            "active", "3PL", 1.2, -0.3, 0.2, 1.0,
        )  # fmt: skip
        assert item.standards == ["5.NF.B.4", "fraction-of-number"]
        assert item.created_by_id == alpha_teacher.user_id
    assert _revision(alpha_teacher) > before
    page = client_for(alpha_teacher).get(response["Location"])
    assert "$\\frac{3}{4}$" in page.text and "data-math" in page.text
    assert "vendor/katex/katex.min.js" in page.text


def test_a_school_admin_manages_the_bank_too(client_for, alpha_admin):
    response = client_for(alpha_admin).post("/items/new/", item_form_data(external_id="ADM-1"))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"stem": "  "}, "stem", "Write the question"),
        ({"option_b": "", "option_c": ""}, "option_b", "at least 2 options"),
        ({"option_b": ""}, "option_b", "fill them in order"),
        # Two gaps (A empty, then C empty before D) are one message, not a crash.
        (
            {"option_a": "", "option_c": "", "option_d": "5", "correct_key": "B"},
            "option_a",
            "fill them in order",
        ),
        ({"correct_key": "D"}, "correct_key", "not one of the options"),
        ({"correct_key": ""}, "correct_key", "Choose the correct option"),
        ({"b": ""}, "b", "active item needs a difficulty"),
        ({"b": "abc"}, "b", "is not a number"),
        ({"b": "1,5"}, "b", "use a dot"),
        ({"a": "0"}, "a", "above 0"),
        ({"c": "1.2"}, "c", "below 1"),
        ({"model": "2PL"}, "c", "no guessing parameter"),
        ({"d": "0.9"}, "d", "Only a 4PL"),
        ({"d": "0.1"}, "d", "above c"),
        ({"external_id": "has space"}, "external_id", "letters, digits"),
        ({"subject": "x" * 81}, "subject", "at most 80"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_saved(
    client_for, alpha_teacher, overrides, field, message
):
    response = client_for(alpha_teacher).post(
        "/items/new/", item_form_data(**{"external_id": "BAD-1", **overrides})
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()


def test_a_pilot_item_needs_no_difficulty(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/new/", item_form_data(external_id="PIL-1", status="pilot", b="")
    )
    assert response.status_code == 302
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.get(external_id="PIL-1").b is None


def test_an_existing_external_id_is_refused(client_for, alpha_teacher, item):
    response = client_for(alpha_teacher).post(
        "/items/new/", item_form_data(external_id=item.external_id)
    )
    assert response.status_code == 400
    assert "already exists" in " ".join(response.context["form"].errors["external_id"])


def test_editing_an_active_item_makes_a_new_version_and_attempts_keep_the_old(
    client_for, alpha_teacher, item
):
    from dreamseed.itembank.tests.conftest import simulate_sessions

    simulated = simulate_sessions(
        alpha_teacher, items=[item], true_params=[(1, 0, 0.2, 1)], n_sessions=3, per_session=1
    )
    first_version = item.current_version_id
    form = client_for(alpha_teacher).get(f"/items/{item.pk}/edit/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(stem="What is 2 + 3?", option_b="5", correct_key="B")
    response = client_for(alpha_teacher).post(f"/items/{item.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    with in_schema(alpha_teacher.schema_name):
        from dreamseed.assessments.models import Attempt

        item.refresh_from_db()
        assert item.current_version.number == 2
        assert item.current_version.stem == "<p>What is 2 + 3?</p>"
        assert ItemVersion.objects.get(pk=first_version).stem == "<p>Alpha secret question</p>"
        assert set(
            Attempt.objects.filter(session__in=simulated.sessions).values_list(
                "item_version_id", flat=True
            )
        ) == {first_version}
    detail = client_for(alpha_teacher).get(f"/items/{item.pk}/")
    assert "Version 2" in detail.text and "Version 1" in detail.text
    old = client_for(alpha_teacher).get(f"/items/{item.pk}/versions/1/")
    assert "Alpha secret question" in old.text


def test_editing_a_draft_changes_it_in_place(client_for, alpha_teacher):
    draft = make_item(alpha_teacher, status="draft", b=None)
    data = item_form_data(status="draft", b="", stem="Better wording")
    response = client_for(alpha_teacher).post(f"/items/{draft.pk}/edit/", data)
    assert response.status_code == 302
    with in_schema(alpha_teacher.schema_name):
        assert ItemVersion.objects.filter(item=draft).count() == 1
        assert Item.objects.get(pk=draft.pk).current_version.stem == "<p>Better wording</p>"


def test_the_external_id_cannot_change_on_edit(client_for, alpha_teacher, item):
    data = item_form_data(external_id="SOMETHING-ELSE")
    client_for(alpha_teacher).post(f"/items/{item.pk}/edit/", data)
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.get(pk=item.pk).external_id == "ALPHA-1"


def test_parameter_and_status_changes_bump_the_bank_revision(client_for, alpha_teacher, item):
    client = client_for(alpha_teacher)
    form = client.get(f"/items/{item.pk}/edit/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    before = _revision(alpha_teacher)
    client.post(f"/items/{item.pk}/edit/", {**data, "subject": "Maths"})
    assert _revision(alpha_teacher) == before  # metadata only
    client.post(f"/items/{item.pk}/edit/", {**data, "b": "1.25"})
    assert _revision(alpha_teacher) == before + 1
    client.post(f"/items/{item.pk}/edit/", {**data, "b": "1.25", "status": "pilot"})
    assert _revision(alpha_teacher) == before + 2


def test_retiring_an_item(client_for, alpha_teacher, item):
    before = _revision(alpha_teacher)
    response = client_for(alpha_teacher).post(f"/items/{item.pk}/retire/", follow=True)
    assert "is retired" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.get(pk=item.pk).status == "retired"
    assert _revision(alpha_teacher) == before + 1
    again = client_for(alpha_teacher).post(f"/items/{item.pk}/retire/", follow=True)
    assert "already retired" in again.text
    assert client_for(alpha_teacher).get(f"/items/{item.pk}/retire/").status_code == 405


def test_duplicating_makes_a_draft_copy_to_edit(client_for, alpha_teacher, item):
    response = client_for(alpha_teacher).post(f"/items/{item.pk}/duplicate/")
    with in_schema(alpha_teacher.schema_name):
        copy = Item.objects.exclude(pk=item.pk).select_related("current_version").get()
        assert response["Location"] == f"/items/{copy.pk}/edit/"
        assert copy.status == "draft" and copy.external_id != item.external_id
        assert copy.current_version.stem == item.current_version.stem
        assert copy.current_version.options == item.current_version.options


def test_the_no_javascript_preview_shows_the_item_without_saving(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/new/", item_form_data(external_id="PRE-1", preview="1")
    )
    assert response.status_code == 200
    assert "What is $\\frac{3}{4}$ of $12$?" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.filter(external_id="PRE-1").exists()


def test_the_live_preview_is_a_sanitised_fragment_without_the_key(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/preview/",
        item_form_data(stem="Hi <script>alert(1)</script><img src=x onerror=alert(1)>"),
    )
    assert response.status_code == 200
    assert "<script" not in response.text and "onerror" not in response.text
    student_view, teacher_note = response.text.split('class="answer-key"')
    assert 'type="radio"' in student_view
    assert "correct" not in student_view.lower()  # the key is only in the teacher's line
    assert "Correct answer: <strong>A</strong>" in teacher_note
    assert "<html" not in response.text  # a fragment, not a page


def test_the_student_view_does_not_depend_on_the_key():
    version = ItemVersion(
        stem="<p>Pick one</p>",
        options=[{"key": "A", "text": "x"}, {"key": "B", "text": "y"}],
        correct_key="A",
    )
    as_a = render_to_string("itembank/_item_student_view.html", {"version": version})
    version.correct_key = "B"
    as_b = render_to_string("itembank/_item_student_view.html", {"version": version})
    assert as_a == as_b
    assert 'type="radio" name="choice" value="B"' in as_a and "disabled" not in as_a
    greyed = render_to_string(
        "itembank/_item_student_view.html", {"version": version, "disabled": True}
    )
    assert '<fieldset class="plain-fieldset" disabled>' in greyed


def test_stored_xss_renders_inert_everywhere(client_for, alpha_teacher):
    """Even content written past the sanitiser (a direct database write) is made safe."""
    evil = make_item(
        alpha_teacher,
        external_id="EVIL",
        stem='<p onclick="alert(1)">Q<script>alert(1)</script><img src="javascript:alert(1)" onerror="alert(2)"></p>',
        options=[
            {"key": "A", "text": '<svg onload="alert(3)">x</svg>'},
            {"key": "B", "text": '<a href="javascript:alert(4)">y</a><style>*{}</style>'},
        ],
        key="A",
    )
    client = client_for(alpha_teacher)
    for url in (f"/items/{evil.pk}/", f"/items/{evil.pk}/versions/1/", "/items/?q=EVIL"):
        html = client.get(url).text
        for marker in (
            "<script>alert",
            "onerror",
            "onclick",
            "onload",
            "javascript:",
            "<svg onload",
            "<style>*",
        ):
            assert marker not in html, (url, marker)


def test_the_list_filters_and_searches(client_for, alpha_teacher):
    make_item(alpha_teacher, external_id="F-1", subject="Mathematics", grade="4", b=-1.5,
              content_area="Fractions", standards=["4.NF.A.1"], stem="<p>Halves</p>")  # fmt: skip
    make_item(alpha_teacher, external_id="F-2", subject="Mathematics", grade="5", b=0.5,
              content_area="Fractions", stem="<p>Quarters</p>")  # fmt: skip
    make_item(alpha_teacher, external_id="G-1", subject="Science", grade="5", b=2.0,
              status="pilot", content_area="Energy", stem="<p>Heat</p>")  # fmt: skip
    client = client_for(alpha_teacher)

    def ids(query):
        page = client.get(f"/items/?{query}").context["page"]
        return sorted(item.external_id for item in page.object_list)

    assert ids("") == ["F-1", "F-2", "G-1"]
    assert ids("subject=Science") == ["G-1"]
    assert ids("grade=5") == ["F-2", "G-1"]
    assert ids("tag=Fractions") == ["F-1", "F-2"]
    assert ids("tag=4.NF.A.1") == ["F-1"]
    assert ids("status=pilot") == ["G-1"]
    assert ids("b_min=0&b_max=1") == ["F-2"]
    assert ids("b_min=1&b_max=-2") == ["F-1", "F-2"]  # swapped bounds are read as meant
    assert ids("q=quarter") == ["F-2"]
    assert ids("q=g-1") == ["G-1"]
    # Nonsense in the query is ignored rather than an error.
    assert ids("b_min=abc&status=bogus&sort=evil") == ["F-1", "F-2", "G-1"]
    assert client.get("/items/?page=999").status_code == 200


def test_the_list_query_count_does_not_grow_with_items(
    client_for, alpha_teacher, django_assert_max_num_queries
):
    make_bank(alpha_teacher, [(1.0, b, 0.2, 1.0) for b in range(-20, 30)])
    client = client_for(alpha_teacher)
    with django_assert_max_num_queries(12):
        response = client.get("/items/")
    assert len(response.context["page"].object_list) == 50


def test_the_detail_page_shows_the_key_parameters_and_a_curve(
    client_for, alpha_teacher, item, django_assert_max_num_queries
):
    client = client_for(alpha_teacher)
    with django_assert_max_num_queries(10):
        html = client.get(f"/items/{item.pk}/").text
    assert "Correct answer:" in html and "<strong>B</strong>" in html
    assert '<svg class="icc"' in html and "<polyline" in html
