"""Item kinds: how each is defined (editor, files, API share item_values_clean), answered and
marked, and what a teacher reads back."""

import json

import pytest
from django.http import QueryDict

from dreamseed.itembank import kinds
from dreamseed.itembank.import_export import export_csv, export_json, import_plan
from dreamseed.itembank.kinds import ItemKind, response_clean, response_from_form
from dreamseed.itembank.tests.conftest import version_of
from dreamseed.itembank.validation import item_values_clean

BASE = {"stem": "Question?", "status": "pilot"}


def _clean(**raw):
    return item_values_clean({**BASE, **raw})


def _marks(values, response):
    version = version_of(values)
    return version.is_correct(response_clean(version, response))


# --- Definitions ---------------------------------------------------------------------------------


def test_single_choice_stays_the_default_and_keeps_its_key():
    values, errors = _clean(option_a="3", option_b="4", correct_key="b")
    assert not errors
    assert values.kind == ItemKind.SINGLE and values.correct_key == "B" and values.answer == "{}"


def test_multiple_select_needs_known_keys():
    values, errors = _clean(kind="multiple", option_a="2", option_b="3", option_c="4",
                            correct_key="A;C")  # fmt: skip
    assert not errors and values.answer_json == {"keys": ["A", "C"]}
    _values, errors = _clean(kind="multiple", option_a="2", option_b="3", correct_key="A;D")
    assert errors["correct_key"] == ["“D” is not one of the options."]
    _values, errors = _clean(kind="multiple", option_a="2", option_b="3", correct_key="")
    assert errors["correct_key"] == ["Choose at least one correct option."]


@pytest.mark.parametrize(("given", "key"), [("T", "T"), ("true", "T"), ("no", "F"), ("F", "F")])
def test_true_false_reads_the_usual_words(given, key):
    values, errors = _clean(kind="truefalse", correct_key=given)
    assert not errors and values.correct_key == key and values.options == ()


def test_true_false_refuses_options_and_other_keys():
    _values, errors = _clean(kind="truefalse", correct_key="maybe", option_a="x", option_b="y")
    assert errors["correct_key"] == ["Say whether the statement is true (T) or false (F)."]
    assert "has no options" in errors["options"][0]


def test_numeric_definition_from_flat_columns_and_from_an_object():
    flat, errors = _clean(kind="numeric", answer_value="3,5", answer_tolerance="0.1",
                          answer_units="cm; centimetres", answer_unit_required="no")  # fmt: skip
    assert not errors
    assert flat.answer_json == {
        "value": 3.5, "tolerance": 0.1, "units": ["cm", "centimetres"], "unit_required": False
    }  # fmt: skip
    nested, errors = _clean(kind="numeric", answer={"value": 3.5, "tolerance": 0.1,
                                                    "units": ["cm", "centimetres"]})  # fmt: skip
    assert not errors and nested.answer == flat.answer


def test_numeric_definition_errors_name_their_field():
    _values, errors = _clean(kind="numeric", answer_value="three", answer_tolerance="-1",
                             answer_unit_required="perhaps")  # fmt: skip
    assert errors["answer_value"] == ["“three” is not a number."]
    assert errors["answer_tolerance"] == ["The tolerance cannot be negative."]
    assert errors["answer_unit_required"] == ["Write yes or no."]
    _values, errors = _clean(kind="numeric")
    assert errors["answer_value"] == ["Enter the correct number."]


def test_short_text_needs_accepted_answers():
    values, errors = _clean(kind="text", accepted_answers="Paris | the city of Paris")
    assert not errors
    assert values.answer_json == {"accepted": ["Paris", "the city of Paris"],
                                  "case_sensitive": False}  # fmt: skip
    _values, errors = _clean(kind="text", accepted_answers=" | ")
    assert errors["accepted_answers"] == ["Write at least one accepted answer."]
    _values, errors = _clean(kind="text", accepted_answers="**")
    assert errors["accepted_answers"] == ["An accepted answer cannot be only wildcards."]


def test_ordering_needs_every_key_once():
    values, errors = _clean(kind="ordering", option_a="1", option_b="2", option_c="3",
                            correct_key="C;A;B")  # fmt: skip
    assert not errors and values.answer_json == {"order": ["C", "A", "B"]}
    as_written, errors = _clean(kind="ordering", option_a="1", option_b="2")
    assert not errors and as_written.answer_json == {"order": ["A", "B"]}
    _values, errors = _clean(kind="ordering", option_a="1", option_b="2", correct_key="A;A")
    assert "every option key once" in errors["correct_key"][0]


def test_extended_text_is_never_active():
    values, errors = _clean(kind="extended")
    assert not errors and values.kind == ItemKind.EXTENDED
    _values, errors = _clean(kind="extended", status="active", b="0")
    assert errors["status"] == [
        "An item that is not scored cannot be active: keep it in pilot or draft."
    ]


def test_an_unknown_kind_is_named():
    _values, errors = _clean(kind="matching", option_a="1", option_b="2", correct_key="A")
    assert errors["kind"][0].startswith("“matching” is not one of: single, multiple, truefalse")


# --- Marking -------------------------------------------------------------------------------------


def test_multiple_select_needs_exactly_the_keys():
    values, _errors = _clean(kind="multiple", option_a="2", option_b="3", option_c="4",
                             correct_key="A;C")  # fmt: skip
    assert _marks(values, "C,A")
    assert not _marks(values, "A")
    assert not _marks(values, "A,B,C")


def test_numeric_tolerance_units_and_decimal_commas():
    values, _errors = _clean(kind="numeric", answer_value="3.5", answer_tolerance="0.05",
                             answer_units="cm;centimetres")  # fmt: skip
    for right in ("3.5", "3,5", " 3.54 cm", "3.46centimetres"):
        assert _marks(values, right), right
    for wrong in ("3.6", "3.5 m", "3.5 CM", "three", "3.5.1", "1e999"):
        assert not _marks(values, wrong), wrong
    required, _errors = _clean(kind="numeric", answer_value="2", answer_units="kg",
                               answer_unit_required="yes")  # fmt: skip
    assert _marks(required, "2 kg") and not _marks(required, "2")
    exact, _errors = _clean(kind="numeric", answer_value="0.3")
    assert _marks(exact, "0.30") and _marks(exact, "−0.3") is False


def test_short_text_normalises_case_spaces_accents_and_wildcards():
    values, _errors = _clean(kind="text", accepted_answers="São Paulo|Rio*")
    for right in ("sao paulo", "  SÃO   Paulo ", "Rio de Janeiro", "ＳＡＯ ＰＡＵＬＯ"):
        assert _marks(values, right), right
    assert not _marks(values, "Paulo")
    strict, _errors = _clean(kind="text", accepted_answers="pH", case_sensitive="yes")
    assert _marks(strict, "pH") and not _marks(strict, "PH")


def test_ordering_marks_the_whole_sequence():
    values, _errors = _clean(kind="ordering", option_a="1", option_b="2", option_c="3",
                             correct_key="C;A;B")  # fmt: skip
    assert _marks(values, "C,A,B") and not _marks(values, "A,B,C")


def test_extended_text_is_kept_but_never_marked_right():
    values, _errors = _clean(kind="extended")
    assert not _marks(values, "A long thoughtful answer.")


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("single", "Z", "Please choose one of the answers."),
        ("multiple", "", "Choose at least one answer."),
        ("multiple", "A,Z", "Please choose among the answers shown."),
        ("ordering", "A,A,B", "Put every answer in a place before going on."),
        ("numeric", "  ", "Type a number first."),
        ("text", "", "Type your answer first."),
        ("text", "x" * 501, "Your answer is too long: use at most 500 characters."),
    ],
)
def test_responses_that_cannot_be_marked_say_why(kind, raw, message):
    extra = {
        "single": {"option_a": "1", "option_b": "2", "correct_key": "A"},
        "multiple": {"option_a": "1", "option_b": "2", "correct_key": "A"},
        "ordering": {"option_a": "1", "option_b": "2"},
        "numeric": {"answer_value": "1"},
        "text": {"accepted_answers": "x"},
    }[kind]
    values, errors = _clean(kind=kind, **extra)
    assert not errors
    with pytest.raises(ValueError, match=message):
        response_clean(version_of(values), raw)


def test_the_form_fields_make_the_response_string():
    assert response_from_form(QueryDict("choice=B")) == "B"
    assert response_from_form(QueryDict("choices=C&choices=A")) == "A,C"
    assert response_from_form(QueryDict("order=C&order=A&order=B")) == "C,A,B"
    assert response_from_form(QueryDict("response=+3.5+cm+")) == "3.5 cm"
    assert response_from_form({"choices": ["B", "A"]}) == "A,B"
    assert response_from_form(QueryDict("")) == ""


def test_teachers_read_answers_in_words():
    numeric, _errors = _clean(kind="numeric", answer_value="3.5", answer_tolerance="0.05",
                              answer_units="cm")  # fmt: skip
    assert version_of(numeric).answer_display == "3.5 ± 0.05 cm (unit optional)"
    truth, _errors = _clean(kind="truefalse", correct_key="F")
    assert version_of(truth).answer_display == "False"
    assert kinds.response_display(version_of(truth), "T") == "True"
    order, _errors = _clean(kind="ordering", option_a="1", option_b="2", correct_key="B;A")
    assert version_of(order).answer_display == "B → A"


# --- Files ---------------------------------------------------------------------------------------

CSV = (
    "external_id,kind,stem,option_a,option_b,option_c,correct_key,answer_value,answer_tolerance,"
    "answer_units,accepted_answers\n"
    "K1,multiple,Primes?,2,4,5,A;C,,,,\n"
    "K2,truefalse,The sun is a star.,,,,true,,,,\n"
    "K3,numeric,Half of 7?,,,,,3.5,0,cm,\n"
    "K4,text,Capital of France?,,,,,,,,Paris|paris city\n"
    "K5,ordering,Smallest first,3,1,2,B;C;A,,,,\n"
)


@pytest.mark.django_db
def test_a_csv_of_every_kind_imports_and_exports_the_same(alpha_admin):
    from dreamseed.itembank.models import Item
    from dreamseed.itembank.services import plan_apply
    from dreamseed.testing import in_schema

    with in_schema(alpha_admin.schema_name):
        plan = import_plan(text=CSV, fmt="csv")
        assert plan.is_valid, [str(problem) for problem in plan.problems]
        plan_apply(plan=plan, user=None)
        items = list(Item.objects.select_related("current_version").order_by("external_id"))
        kinds_by_id = {item.external_id: item.current_version.kind for item in items}
        assert kinds_by_id == {"K1": "multiple", "K2": "truefalse", "K3": "numeric",
                               "K4": "text", "K5": "ordering"}  # fmt: skip
        exported = "".join(export_csv(items))
        again = import_plan(text=exported, fmt="csv")
        assert again.is_valid and again.counts["unchanged"] == 5, again.counts
        document = json.loads("".join(export_json(items)))
        assert document["items"][2]["answer"] == {
            "value": 3.5, "tolerance": 0.0, "units": ["cm"], "unit_required": False
        }  # fmt: skip
        from_json = import_plan(text=json.dumps(document), fmt="json")
        assert from_json.is_valid and from_json.counts["unchanged"] == 5


@pytest.mark.django_db
def test_a_csv_line_with_a_bad_answer_names_line_and_column(alpha_admin):
    from dreamseed.testing import in_schema

    text = "kind,stem,correct_key,answer_value\nnumeric,Half of 7?,,three\n"
    with in_schema(alpha_admin.schema_name):
        plan = import_plan(text=text, fmt="csv")
    assert [str(problem) for problem in plan.problems] == [
        "Line 2, column 'answer_value': “three” is not a number."
    ]


@pytest.mark.django_db
def test_changing_how_an_item_is_marked_in_a_file_is_a_content_change(alpha_admin):
    from dreamseed.itembank.services import plan_apply
    from dreamseed.testing import in_schema

    with in_schema(alpha_admin.schema_name):
        plan_apply(plan=import_plan(text=CSV, fmt="csv"), user=None)
        plan = import_plan(text="external_id,correct_key\nK1,A\n", fmt="csv")
        assert plan.is_valid and plan.rows[0].changes == ["content"]
        assert plan.rows[0].values.answer_json == {"keys": ["A"]}


def test_ordering_options_are_never_shown_in_the_right_order():
    for number in range(1, 30):
        values, _errors = _clean(kind="ordering", option_a="1", option_b="2", option_c="3")
        version = version_of(values)
        version.item_id, version.number = 7, number
        shown = [key for key, _text in version.options_html]
        assert sorted(shown) == ["A", "B", "C"] and shown != ["A", "B", "C"]
        assert shown == [key for key, _text in version.options_html]  # stable per version
