"""Answers of every item kind in results: the teacher's session page and the student report PDF
show each response in words (typed text escaped), staff see the right answer, an extended
answer is the student's text marked "not scored"; a student's own result page shows no answers."""

import csv
import io
import os
from pathlib import Path

import pytest
from django.db import connection

from dreamseed.assessments.models import Attempt
from dreamseed.assessments.services import session_answer, session_start
from dreamseed.itembank.models import ItemVersion
from dreamseed.reports import services as report_services
from dreamseed.reports.models import ReportKind, ReportStatus
from dreamseed.reports.tests.pdfcheck import page_png, pdf_text
from dreamseed.testing import in_schema

OPTIONS = [{"key": key, "text": f"Option {key}"} for key in "ABCD"]

# kind -> (version fields, response stored, right?)
ANSWERS = {
    "single": ({"correct_key": "B", "answer": {}}, "C", False),
    "multiple": ({"correct_key": "", "answer": {"keys": ["B", "D"]}}, "B,D", True),
    "truefalse": ({"options": [], "correct_key": "F", "answer": {}}, "T", False),
    "numeric": (
        {
            "options": [],
            "correct_key": "",
            "answer": {"value": 2.5, "tolerance": 0.1, "units": ["cm"], "unit_required": False},
        },
        "2,55 cm",
        True,
    ),
    "text": (
        {"options": [], "correct_key": "", "answer": {"accepted": ["Seoul"]}},
        "<b>Busan</b> & co, by the sea",
        False,
    ),
    "ordering": ({"correct_key": "", "answer": {"order": ["C", "A", "B", "D"]}}, "C,A,B,D", True),
    "extended": (
        {"options": [], "correct_key": "", "answer": {}},
        "Gravity pulls them.\nThey <keep> moving.",
        False,
    ),
}


@pytest.fixture
def kinds_session(world):
    """A finished sitting whose first seven answers are to items of each kind (the extended one
    a pilot item, as it always is)."""
    connection.set_tenant(world.school)
    student = world.students[0]
    session = session_start(assignment=world.assignment, student=student)
    while not session.is_finished:
        session = session_answer(
            session_id=session.pk, student=student, item_id=session.pending_item_id,
            choice="B", response_time_ms=1500,
        ).session  # fmt: skip
    attempts = list(Attempt.objects.filter(session=session).order_by("position"))
    for attempt, (kind, (fields, response, right)) in zip(attempts, ANSWERS.items(), strict=False):
        ItemVersion.objects.filter(pk=attempt.item_version_id).update(
            kind=kind, **{"options": OPTIONS, **fields}
        )
        pilot = kind == "extended"
        Attempt.objects.filter(pk=attempt.pk).update(
            selected_choice=response, correct=right, is_pilot=pilot,
            score=None if pilot else int(right),
        )  # fmt: skip
    connection.set_schema_to_public()
    return session


def test_the_teacher_sees_each_answer_in_words_with_the_right_answer(
    client_for, alpha_teacher, kinds_session
):
    page = client_for(alpha_teacher).get(f"/tests/sessions/{kinds_session.pk}/")
    assert page.status_code == 200
    rows = {
        attempt.item_version.kind: attempt for attempt in page.context["attempts"][: len(ANSWERS)]
    }
    assert {kind: attempt.response_text for kind, attempt in rows.items()} == {
        "single": "C",
        "multiple": "B, D",
        "truefalse": "True",
        "numeric": "2,55 cm",
        "text": "<b>Busan</b> & co, by the sea",
        "ordering": "C → A → B → D",
        "extended": "Gravity pulls them.\nThey <keep> moving.",
    }
    assert [kind for kind, attempt in rows.items() if attempt.is_unscored] == ["extended"]
    assert {kind: attempt.correct for kind, attempt in rows.items()} == {
        kind: right for kind, (_fields, _response, right) in ANSWERS.items()
    }
    html = page.text
    # Typed text is shown as text, never as markup.
    assert "&lt;b&gt;Busan&lt;/b&gt; &amp; co, by the sea" in html and "<b>Busan" not in html
    assert "Gravity pulls them.\nThey &lt;keep&gt; moving." in html
    for shown in (
        '<td class="response-text">B, D</td>',
        '<td class="response-text">True</td>',
        '<td class="response-text">C → A → B → D</td>',
        # The right answers, for staff.
        '<td class="response-text">False</td>',
        '<td class="response-text">2.5 ± 0.1 cm (unit optional)</td>',
        '<td class="response-text">Seoul</td>',
        '<td class="response-text">Not scored: read by the teacher.</td>',
        '<span class="muted">not scored</span>',
        "Multiple select",
        "Extended text (not scored)",
    ):
        assert shown in html, shown


def test_a_student_sees_their_score_but_no_answers_or_keys(
    client_for, alpha_student, kinds_session
):
    page = client_for(alpha_student).get(f"/tests/session/{kinds_session.pk}/result/")
    assert page.status_code == 200 and "most likely between" in page.text
    for hidden in ("Item by item", "Right answer", "Seoul", "Busan", "Gravity", "→"):
        assert hidden not in page.text, hidden


def test_another_schools_teacher_cannot_open_the_sitting(client_for, beta_teacher, kinds_session):
    assert client_for(beta_teacher).get(f"/tests/sessions/{kinds_session.pk}/").status_code == 404


def test_the_student_report_lists_each_answer_in_words_and_the_written_answer(
    world, kinds_session, tmp_path
):
    with in_schema(world.school.schema_name):
        connection.set_tenant(world.school)
        report = report_services.report_request(
            kind=ReportKind.STUDENT, session=kinds_session, requested_by=world.teacher
        )
        report = report_services.report_render(report_id=report.pk)
        assert report.status == ReportStatus.SUCCEEDED, report.error
        with report.file.open("rb") as handle:
            data = handle.read()
    keep = os.environ.get("REPORTS_KEEP_PNG")  # a folder to look at the PDF in
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / "student-report-kinds.pdf").write_bytes(data)
    text = pdf_text(data)
    for expected in (
        "C ✗",
        "B, D ✓",
        "True ✗",
        "2,55 cm ✓",
        "<b>Busan</b> & c… ✗",  # cut to its column, as typed: the markup is text ...
        "<b>Busan</b> & co, by the sea",  # ... and in full under its line
        "C → A → B → D ✓",
        "not scored",
        "Gravity pulls them. They <keep> moving.",
        "✓ correct, ✗ incorrect. A written answer",
    ):
        # pdftotext may drop a space between a letter and a mark.
        assert expected.replace(" ", "") in text.replace(" ", ""), expected
    # The report goes to the student too: it never tells the right answers.
    assert "Seoul" not in text and "unit optional" not in text
    assert page_png(data, page=2, out=tmp_path / "appendix.png").stat().st_size > 0


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_answers_csv_has_every_answer_in_words_and_how_it_was_marked(
    client_for, alpha_teacher, world, kinds_session
):
    with in_schema(world.school.schema_name):
        # A typed answer a spreadsheet would run as a formula stays text.
        first = Attempt.objects.get(session=kinds_session, position=5)
        Attempt.objects.filter(pk=first.pk).update(selected_choice="=HYPERLINK(1)")
        answers = Attempt.objects.filter(session=kinds_session).count()
    response = client_for(alpha_teacher).get(
        f"/tests/assignments/{world.assignment.pk}/answers.csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert len(rows) == answers  # the pilot answer too
    by_type = {row["type"]: row for row in rows[: len(ANSWERS)]}
    assert {kind: (row["answer"], row["marked"]) for kind, row in by_type.items()} == {
        "single": ("C", "wrong"),
        "multiple": ("B, D", "right"),
        "truefalse": ("True", "wrong"),
        "numeric": ("2,55 cm", "right"),
        "text": ("'=HYPERLINK(1)", "wrong"),
        "ordering": ("C → A → B → D", "right"),
        "extended": ("Gravity pulls them.\nThey <keep> moving.", "not scored"),
    }
    assert by_type["truefalse"]["right_answer"] == "False"
    assert by_type["numeric"]["right_answer"] == "2.5 ± 0.1 cm (unit optional)"
    assert by_type["extended"]["pilot"] == "yes" and by_type["extended"]["points"] == ""
    assert rows[0]["student"] == "Sam Student" and rows[0]["seconds"] == "1.5"


def test_only_the_classes_staff_get_the_answers_csv(
    client_for, alpha_admin, alpha_teacher2, alpha_student, beta_teacher, world, kinds_session
):
    url = f"/tests/assignments/{world.assignment.pk}/answers.csv"
    assert client_for(alpha_admin).get(url).status_code == 200
    assert client_for(alpha_student).get(url).status_code == 403
    assert client_for(alpha_teacher2).get(url).status_code == 404  # not their class
    assert client_for(beta_teacher).get(url).status_code == 404  # another school
