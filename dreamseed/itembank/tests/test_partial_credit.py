"""Partial credit (issue 24): GPCM and GRM items with their category steps, the scoring rules
that give points (multiple select by keys, numeric with a wider partial tolerance, rubric points
a teacher enters), and their round trip through CSV and JSON files."""

import json

import pytest
from django.db import IntegrityError, transaction

from dreamseed.itembank.import_export import export_csv, export_json, import_plan
from dreamseed.itembank.kinds import response_clean, score_display
from dreamseed.itembank.tests.conftest import version_of
from dreamseed.itembank.validation import item_values_clean

BASE = {"stem": "Question?", "status": "active"}
MULTIPLE = {"kind": "multiple", "option_a": "2", "option_b": "3", "option_c": "4",
            "option_d": "5", "correct_key": "A;B;C"}  # fmt: skip


def _clean(**raw):
    return item_values_clean({**BASE, **raw})


def _score(values, response):
    version = version_of(values)
    return version.score(response_clean(version, response))


# --- Parameters ----------------------------------------------------------------------------------


def test_a_gpcm_item_keeps_its_steps_and_its_location_as_b():
    values, errors = _clean(**MULTIPLE, scoring="partial", model="GPCM", a="1.1",
                            steps="-1.2; 0.3;1.5")  # fmt: skip
    assert not errors, errors
    assert values.model == "GPCM" and values.steps == (-1.2, 0.3, 1.5)
    assert values.b == pytest.approx(0.2)
    assert values.parameters[-1] == (-1.2, 0.3, 1.5)


def test_steps_come_as_a_json_list_too():
    values, errors = _clean(**MULTIPLE, scoring="partial", model="grm", steps=[-1, 0, 1])
    assert not errors and values.model == "GRM" and values.steps == (-1.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"steps": "-1;x;1"}, "steps", "Step 2 (“x”) is not a number; separate steps with ;."),
        ({"steps": "-1;0;12"}, "steps", "Step 3 must be between -10.0 and 10.0."),
        ({"steps": "-1;1"}, "steps", "This item scores 0 to 3, so it needs 3 steps (it has 2)."),
        ({"steps": ""}, "steps",
         "An active GPCM or GRM item needs its steps. Keep it in pilot until it is calibrated."),
        ({"model": "GRM", "steps": "-1;1;0.5"}, "steps",
         "GRM boundaries must increase from one step to the next."),
        ({"steps": "-1;0;1", "c": "0.2"}, "c",
         "A GPCM or GRM item has no guessing or upper asymptote: set c to 0 and d to 1."),
        ({"steps": {"1": 2}}, "steps", "Give the steps as a list of numbers, like -1.2;0.3;1.1."),
    ],
)  # fmt: skip
def test_bad_steps_are_named_by_field(raw, field, message):
    values, errors = _clean(**{**MULTIPLE, "scoring": "partial", "model": "GPCM", **raw})
    assert values is None and errors[field] == [message]


def test_a_dichotomous_item_has_no_steps_nor_partial_credit():
    _values, errors = _clean(**MULTIPLE, model="2PL", b="0", c="0", steps="-1;0;1")
    assert errors["steps"] == [
        "Only GPCM and GRM items have category steps: clear them or choose GPCM or GRM."
    ]
    _values, errors = _clean(**MULTIPLE, scoring="partial", model="2PL", b="0", c="0")
    assert errors["model"] == [
        "This item gives up to 3 points: choose GPCM or GRM (partial credit), or score it "
        "right/wrong."
    ]


def test_a_polytomous_pilot_item_waits_for_its_steps():
    values, errors = _clean(**MULTIPLE, scoring="partial", model="GPCM", status="pilot")
    assert not errors and values.steps == () and values.b is None
    _values, errors = _clean(**MULTIPLE, scoring="partial", model="GPCM", status="pilot", b="0.5")
    assert errors["steps"] == ["Give the steps of a GPCM or GRM item, not only b."]


@pytest.mark.django_db
def test_the_database_refuses_steps_on_a_dichotomous_item(alpha_admin):
    from dreamseed.itembank.models import Item
    from dreamseed.testing import in_schema

    with in_schema(alpha_admin.schema_name):
        with pytest.raises(IntegrityError), transaction.atomic():
            Item.objects.create(external_id="X1", model="2PL", b=0.0, steps=[-1.0, 1.0])
        with pytest.raises(IntegrityError), transaction.atomic():
            Item.objects.create(external_id="X2", model="GPCM", b=0.0, c=0.2, steps=[0.0])
        item = Item.objects.create(external_id="X3", model="GRM", b=0.0, steps=[-1.0, 1.0])
        assert item.is_polytomous


# --- Scoring rules --------------------------------------------------------------------------------


def test_multiple_select_by_keys_right_minus_keys_wrong_floored_at_zero():
    values, errors = _clean(**MULTIPLE, scoring="partial", model="GPCM", steps="-1;0;1")
    assert not errors
    assert version_of(values).max_score == 3
    assert _score(values, "A,B,C") == 3
    assert _score(values, "A,B") == 2
    assert _score(values, "A,B,D") == 1  # two right, one wrong
    assert _score(values, "A,D") == 0
    assert _score(values, "D") == 0  # floored, never negative
    assert version_of(values).is_correct("A,B") is False  # correct means full credit only


def test_multiple_select_without_partial_scoring_stays_right_or_wrong():
    values, _errors = _clean(**MULTIPLE, model="2PL", b="0", c="0")
    assert version_of(values).max_score == 1
    assert _score(values, "A,B") == 0 and _score(values, "A,B,C") == 1


def test_numeric_partial_tolerance_gives_one_point_within_the_wider_band():
    values, errors = _clean(kind="numeric", answer_value="10", answer_tolerance="0.1",
                            partial_tolerance="1", model="GPCM", steps="-0.5;0.5")  # fmt: skip
    assert not errors, errors
    assert values.answer_json["partial_tolerance"] == 1.0
    assert [_score(values, typed) for typed in ("10.05", "10.8", "9", "12", "ten")] == [2, 1, 1, 0,
                                                                                          0]  # fmt: skip
    _values, errors = _clean(kind="numeric", answer_value="10", answer_tolerance="1",
                             partial_tolerance="0.5", model="GPCM", steps="0;1")  # fmt: skip
    assert errors["partial_tolerance"] == [
        "The partial-credit tolerance must be wider than the tolerance (1)."
    ]


def test_rubric_items_wait_for_the_teacher():
    values, errors = _clean(kind="text", scoring="rubric", max_points="2", model="GPCM",
                            steps="-1;1")  # fmt: skip
    assert not errors, errors
    version = version_of(values)
    assert version.is_teacher_marked and version.max_score == 2
    assert version.score("anything") is None
    values, errors = _clean(kind="extended", max_points="3", model="GRM", steps="-1;0;1")
    assert not errors and version_of(values).is_scored and version_of(values).max_score == 3
    _values, errors = _clean(kind="extended", max_points="0", status="pilot")
    assert errors["max_points"] == ["The rubric's points must be a whole number from 1 to 10."]
    _values, errors = _clean(kind="text", scoring="rubric", status="pilot")
    assert errors["max_points"] == ["Give the rubric's largest number of points (1 to 10)."]
    _values, errors = _clean(kind="numeric", answer_value="1", scoring="partial", status="pilot")
    assert errors["scoring"] == [
        "This item type is scored right or wrong: leave the scoring rule empty."
    ]
    _values, errors = _clean(kind="multiple", option_a="1", option_b="2", correct_key="A",
                             scoring="rubric", status="pilot")  # fmt: skip
    assert errors["scoring"] == [
        "“rubric” is not a scoring rule of this item type; use partial or leave it empty for "
        "right/wrong."
    ]


def test_points_are_shown_as_score_over_maximum():
    assert score_display(2, 3) == "2/3"
    assert score_display(None, 3) == ""


# --- Files ---------------------------------------------------------------------------------------

CSV = (
    "external_id,status,model,a,b,c,d,kind,stem,option_a,option_b,option_c,correct_key,scoring,"
    "steps,answer_value,answer_tolerance,partial_tolerance,max_points\n"
    "P1,active,GPCM,1.2,,0,1,multiple,Pick the primes,2,3,4,A;B,partial,-0.8;0.6,,,,\n"
    "P2,active,GRM,0.9,,0,1,numeric,Ten?,,,,,,-1;1,10,0.1,1,\n"
    "P3,active,GPCM,1,,0,1,extended,Explain,,,,,,-1;0;1,,,,3\n"
    "P4,active,2PL,1,0.5,0,1,single,One?,x,y,,A,,,,,,\n"
)


@pytest.mark.django_db
def test_polytomous_items_round_trip_through_csv_and_json(alpha_admin):
    from dreamseed.itembank.models import Item
    from dreamseed.itembank.services import plan_apply
    from dreamseed.testing import in_schema

    with in_schema(alpha_admin.schema_name):
        plan = import_plan(text=CSV, fmt="csv")
        assert plan.is_valid, [str(problem) for problem in plan.problems]
        plan_apply(plan=plan, user=None)
        items = list(Item.objects.select_related("current_version").order_by("external_id"))
        assert [(item.model, item.steps) for item in items] == [
            ("GPCM", [-0.8, 0.6]), ("GRM", [-1.0, 1.0]), ("GPCM", [-1.0, 0.0, 1.0]), ("2PL", []),
        ]  # fmt: skip
        assert items[0].b == pytest.approx(-0.1)
        assert [item.current_version.max_score for item in items] == [2, 2, 3, 1]
        exported = "".join(export_csv(items))
        assert ",partial,,,-0.8;0.6" in exported
        again = import_plan(text=exported, fmt="csv")
        assert again.is_valid and again.counts["unchanged"] == 4, again.counts
        document = json.loads("".join(export_json(items)))
        assert document["items"][0]["steps"] == [-0.8, 0.6]
        assert document["items"][2]["answer"] == {"max_points": 3}
        from_json = import_plan(text=json.dumps(document), fmt="json")
        assert from_json.is_valid and from_json.counts["unchanged"] == 4
        changed = import_plan(text="external_id,steps\nP1,-0.5;0.6\n", fmt="csv")
        assert changed.is_valid and changed.rows[0].changes == ["parameters"]


@pytest.mark.django_db
def test_a_bad_steps_cell_names_line_and_column(alpha_admin):
    from dreamseed.testing import in_schema

    text = "model,kind,stem,answer_value,partial_tolerance,steps\nGPCM,numeric,Ten?,10,1,-1;oops\n"
    with in_schema(alpha_admin.schema_name):
        plan = import_plan(text=text, fmt="csv")
    assert [str(problem) for problem in plan.problems] == [
        "Line 2, column 'steps': Step 2 (“oops”) is not a number; separate steps with ;."
    ]


@pytest.mark.django_db
def test_the_editor_keeps_steps_and_scoring_it_has_no_fields_for(alpha_admin):
    from dreamseed.itembank.forms import ItemForm
    from dreamseed.itembank.services import item_create, item_update
    from dreamseed.testing import in_schema

    with in_schema(alpha_admin.schema_name):
        values, errors = _clean(**MULTIPLE, scoring="partial", model="GPCM", steps="-1;0;1")
        assert not errors
        item = item_create(values=values, created_by=None)
        data = {
            key: value for key, value in ItemForm(item=item).initial.items() if value is not None
        }
        data["stem"] = "Question, reworded?"
        form = ItemForm(data=data, item=item)
        assert form.is_valid(), form.errors
        item_update(item=item, values=form.values, updated_by=None)
        item.refresh_from_db()
        assert item.steps == [-1.0, 0.0, 1.0] and item.model == "GPCM"
        assert item.current_version.answer == {"keys": ["A", "B", "C"], "scoring": "partial"}
        data["model"] = "2PL"
        data["b"], data["c"] = "0", "0"
        form = ItemForm(data=data, item=item)
        assert not form.is_valid()
        assert form.errors["model"] == [
            "This item gives up to 3 points: choose GPCM or GRM (partial credit), or score it "
            "right/wrong."
        ]
