"""The item page's "Answers given": how often each option of a choice item was chosen, and the
most common wrong answers of a typed or ordering item (answers written differently but alike
counted together)."""

from datetime import timedelta

from django.utils import timezone

from dreamseed.accounts.models import Role, User
from dreamseed.assessments.models import Assessment, Assignment, Attempt, ExamSession
from dreamseed.classes.models import Class
from dreamseed.itembank.models import ItemVersion
from dreamseed.itembank.statistics import item_response_analysis
from dreamseed.itembank.tests.conftest import make_item
from dreamseed.testing import in_schema

OPTIONS = [
    {"key": "A", "text": "<p>Mercury</p>"},
    {"key": "B", "text": "Venus"},
    {"key": "C", "text": "Earth"},
]


def _answers(persona, item, responses):
    """One finished sitting per response, each answering `item` with it; marked by the item."""
    with in_schema(persona.schema_name):
        version = ItemVersion.objects.get(pk=item.current_version_id)
        now = timezone.now()
        assessment = Assessment.objects.create(name=f"Answers {item.external_id}")
        school_class = Class.objects.create(name=f"Class {item.external_id}")
        assignment = Assignment.objects.create(
            assessment=assessment,
            school_class=school_class,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=1),
        )
        for index, response in enumerate(responses):
            student = User.objects.create(
                username=f"{item.external_id}-{index}".lower(), role=Role.STUDENT, password="!"
            )
            session = ExamSession.objects.create(
                assignment=assignment, student=student, status="completed", started_at=now
            )
            Attempt.objects.create(
                session=session, position=1, item=item, item_version=version,
                selected_choice=response, correct=version.is_correct(response),
                is_pilot=not version.is_scored,
            )  # fmt: skip


def _analysis(persona, item):
    with in_schema(persona.schema_name):
        item.refresh_from_db()
        return item_response_analysis(version=item.current_version)


def _item(persona, external_id, kind, status="active", **fields):
    item = make_item(persona, external_id=external_id, options=OPTIONS, key="B", status=status)
    with in_schema(persona.schema_name):
        ItemVersion.objects.filter(pk=item.current_version_id).update(kind=kind, **fields)
        item.refresh_from_db()
    return item


def test_a_single_choice_item_counts_each_option(alpha_teacher, client_for):
    item = _item(alpha_teacher, "SINGLE-1", "single")
    _answers(alpha_teacher, item, ["B", "B", "A", "B"])
    page = client_for(alpha_teacher).get(f"/items/{item.pk}/")
    answers = page.context["answers"]
    assert answers.total == 4
    assert [(o.key, o.text, o.count, o.share, o.correct) for o in answers.options] == [
        ("A", "Mercury", 1, 0.25, False),
        ("B", "Venus", 3, 0.75, True),
        ("C", "Earth", 0, 0.0, False),
    ]
    assert "Answers given" in page.text and "How often each option was chosen" in page.text


def test_a_multiple_select_item_counts_each_option_chosen(alpha_teacher):
    item = _item(alpha_teacher, "MULTI-1", "multiple", correct_key="", answer={"keys": ["A", "C"]})
    _answers(alpha_teacher, item, ["A,C", "A", "A,B,C"])
    answers = _analysis(alpha_teacher, item)
    assert [(o.key, o.count, o.correct) for o in answers.options] == [
        ("A", 3, True),
        ("B", 1, False),
        ("C", 2, True),
    ]


def test_a_true_false_item_counts_true_and_false(alpha_teacher):
    item = _item(alpha_teacher, "TF-1", "truefalse", options=[], correct_key="F")
    _answers(alpha_teacher, item, ["T", "F", "F"])
    answers = _analysis(alpha_teacher, item)
    assert [(o.key, o.text, o.count, o.correct) for o in answers.options] == [
        ("T", "True", 1, False),
        ("F", "False", 2, True),
    ]


def test_a_numeric_item_lists_wrong_numbers_however_they_were_written(alpha_teacher):
    answer = {"value": 2.5, "tolerance": 0.0, "units": ["cm"], "unit_required": False}
    item = _item(alpha_teacher, "NUM-1", "numeric", options=[], correct_key="", answer=answer)
    _answers(alpha_teacher, item, ["2.5", "25", "25.0", "2,4 cm", "2.4 CM", "2,4 cm", "7"])
    answers = _analysis(alpha_teacher, item)
    assert answers.total == 7 and answers.options == []
    assert [(row.answer, row.count) for row in answers.wrong] == [
        ("2,4 cm", 3),
        ("25", 2),  # "25" and "25.0" are one number
        ("7", 1),
    ]


def test_a_text_item_lists_wrong_answers_folded_and_escaped_on_the_page(alpha_teacher, client_for):
    answer = {"accepted": ["Seoul"], "case_sensitive": False}
    item = _item(alpha_teacher, "TEXT-1", "text", options=[], correct_key="", answer=answer)
    _answers(alpha_teacher, item, ["Seoul", "busan", "BUSAN", "busan", "<i>Tokyo</i>"])
    page = client_for(alpha_teacher).get(f"/items/{item.pk}/")
    rows = [(row.answer, row.count, row.share) for row in page.context["answers"].wrong]
    assert rows == [("busan", 3, 0.6), ("<i>Tokyo</i>", 1, 0.2)]
    assert "The most common wrong answers" in page.text
    assert "&lt;i&gt;Tokyo&lt;/i&gt;" in page.text and "<i>Tokyo" not in page.text


def test_an_ordering_item_lists_wrong_orders_with_arrows(alpha_teacher):
    item = _item(
        alpha_teacher, "ORDER-1", "ordering", correct_key="", answer={"order": ["A", "B", "C"]}
    )
    _answers(alpha_teacher, item, ["A,B,C", "B,A,C", "B,A,C", "C,B,A"])
    answers = _analysis(alpha_teacher, item)
    assert [(row.answer, row.count) for row in answers.wrong] == [
        ("B → A → C", 2),
        ("C → B → A", 1),
    ]


def test_an_extended_item_has_no_counts_and_all_right_says_so(alpha_teacher, client_for):
    extended = _item(alpha_teacher, "EXT-1", "extended", options=[], correct_key="", status="pilot")
    _answers(alpha_teacher, extended, ["Because of gravity."])
    assert _analysis(alpha_teacher, extended) is None
    assert "Answers given" not in client_for(alpha_teacher).get(f"/items/{extended.pk}/").text
    item = _item(
        alpha_teacher, "ORDER-2", "ordering", correct_key="", answer={"order": ["A", "B", "C"]}
    )
    _answers(alpha_teacher, item, ["A,B,C"])
    assert "All 1 answer to this version was right." in (
        client_for(alpha_teacher).get(f"/items/{item.pk}/").text
    )


def test_only_the_schools_staff_see_the_answers(
    alpha_teacher, alpha_student, beta_teacher, client_for
):
    item = _item(alpha_teacher, "SINGLE-2", "single")
    _answers(alpha_teacher, item, ["A"])
    assert client_for(alpha_student).get(f"/items/{item.pk}/").status_code == 403
    assert client_for(beta_teacher).get(f"/items/{item.pk}/").status_code == 404
