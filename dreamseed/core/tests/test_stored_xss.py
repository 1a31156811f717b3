"""Hostile text stored by one person never runs in another's browser or spreadsheet.

Names (staff invitation, roster import, the student's own account), class titles, the school's
name, test and scale names and item stems and options all hold script, event-handler and
attribute-breaking payloads; every page, fragment, export, report and API answer that shows them
must show them as text.
"""

import csv
import io
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string

from dreamseed.core.exports import spreadsheet_safe, spreadsheet_unescape
from dreamseed.testing import in_schema

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
BREAKOUT = '"><svg onload=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","x")'
PAYLOADS = (SCRIPT, IMAGE, BREAKOUT)


class _Inertness(HTMLParser):
    """Collects what would run: inline scripts, event handlers, javascript: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        # Data blocks (type="application/json") never run; DRF's browsable API has one.
        runnable = (names.get("type") or "text/javascript") in ("text/javascript", "module")
        if tag == "script" and "src" not in names and runnable:
            self.problems.append("inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "img" and names.get("src") == "x":
            self.problems.append("<img src=x>")
        if tag == "svg" and any(name.startswith("on") for name in names):
            self.problems.append("<svg on...>")


def assert_inert(html: str, where: str, *, shows_payload: bool = True) -> None:
    parser = _Inertness()
    parser.feed(html)
    assert parser.problems == [], f"{where}: {parser.problems}"
    for payload in PAYLOADS:
        assert payload not in html, f"{where}: {payload!r} unescaped"
    if shows_payload:
        # The page did show the hostile text (escaped), so the check above means something.
        assert "alert(1)" in html, f"{where}: no payload on the page"


@pytest.fixture
def hostile(personas, alpha_teacher, alpha_student, db):
    """Alpha school with hostile text everywhere: its name, a class, a student, a test, items,
    a finished sitting."""
    from django.db import connection

    from dreamseed.accounts.models import User
    from dreamseed.assessments.tests.factories import make_assessment, make_assignment, make_bank
    from dreamseed.classes.models import Class
    from dreamseed.itembank.models import BankRevision, Item
    from dreamseed.itembank.services import item_create
    from dreamseed.itembank.validation import item_values_clean
    from dreamseed.reports.tests.factories import make_finished_sessions
    from dreamseed.schools.models import School

    School.objects.filter(pk=alpha_teacher.school.pk).update(name=f"Alpha {BREAKOUT}{SCRIPT}")
    with in_schema(alpha_teacher.schema_name):
        connection.set_tenant(School.objects.get(pk=alpha_teacher.school.pk))
        teacher = alpha_teacher.user
        student = User.objects.get(pk=alpha_student.user_id)
        student.first_name, student.last_name = f"{FORMULA}{SCRIPT}", f"{IMAGE}{BREAKOUT}"
        student.save(update_fields=["first_name", "last_name"])
        school_class = Class.objects.create(
            name=f"{BREAKOUT}{SCRIPT}", subject=IMAGE, grade="7", created_by=teacher
        )
        school_class.teachers.add(teacher)
        school_class.students.add(student)
        items = make_bank(n=20, seed=11)
        values, errors = item_values_clean(
            {
                "external_id": "XSS-1",
                "stem": f"<p>Which? {SCRIPT}{IMAGE}{BREAKOUT}</p><a href='javascript:alert(1)'>x</a>",
                "option_a": f"{SCRIPT} one",
                "option_b": f"{IMAGE} two",
                "option_c": f"{BREAKOUT} three",
                "option_d": "-1 + 2",
                "correct_key": "A",
                "status": "active",
                "subject": "Math",
                "grade": "7",
                "content_area": f"{SCRIPT}area",
                "standards": "",
                "model": "3PL",
                "a": "1.1",
                "b": "0.2",
                "c": "0.2",
                "d": "1",
            }
        )
        assert not errors, errors
        item = item_create(values=values, created_by=teacher)
        items.append(Item.objects.get(pk=item.pk))
        BankRevision.bump()
        assessment = make_assessment(
            author=teacher, name=f"{IMAGE} quiz {SCRIPT}", scale_name=f"{BREAKOUT}"[:40]
        )
        assignment = make_assignment(assessment=assessment, school_class=school_class)
        (session,) = make_finished_sessions(
            assignment=assignment, students=[student], items=items, length=6
        )
    return {
        "class": school_class,
        "student": student,
        "item": item,
        "assessment": assessment,
        "assignment": assignment,
        "session": session,
    }


def test_staff_pages_show_hostile_text_as_text(client_for, alpha_teacher, hostile):
    client = client_for(alpha_teacher)
    class_pk, assignment_pk = hostile["class"].pk, hostile["assignment"].pk
    pages = [
        "/",
        "/classes/",
        f"/classes/{class_pk}/",
        f"/classes/{class_pk}/edit/",
        f"/classes/{class_pk}/slips/",
        f"/classes/{class_pk}/statistics/",
        "/classes/statistics/",
        f"/classes/students/{hostile['student'].pk}/",
        f"/classes/students/{hostile['student'].pk}/password/",
        "/tests/",
        f"/tests/{hostile['assessment'].pk}/",
        f"/tests/{hostile['assessment'].pk}/edit/",
        f"/tests/assignments/{assignment_pk}/",
        f"/tests/assignments/{assignment_pk}/progress/",
        f"/tests/assignments/{assignment_pk}/results/",
        f"/tests/sessions/{hostile['session'].pk}/",
        "/items/",
        f"/items/{hostile['item'].pk}/",
        f"/items/{hostile['item'].pk}/edit/",
        f"/items/{hostile['item'].pk}/versions/1/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), path)


def test_student_pages_show_hostile_text_as_text(client_for, alpha_student, hostile):
    client = client_for(alpha_student)
    for path in [
        "/",
        "/tests/mine/",
        "/classes/mine/",
        f"/tests/session/{hostile['session'].pk}/result/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), path)


def test_item_html_is_sanitised_when_stored_and_when_shown(alpha_teacher, hostile):
    from dreamseed.itembank.models import Item

    with in_schema(alpha_teacher.schema_name):
        version = Item.objects.get(pk=hostile["item"].pk).current_version
    stored = version.stem + "".join(option["text"] for option in version.options)
    assert "<script" not in stored and "onerror" not in stored and "onload" not in stored
    assert "javascript:" not in stored
    assert_inert(stored, "stored item", shows_payload=False)


def test_invited_staff_and_imported_students_are_shown_as_text(
    client_for, alpha_admin, alpha_teacher, hostile
):
    admin = client_for(alpha_admin)
    response = admin.post(
        "/accounts/staff/",
        {
            "first_name": SCRIPT,
            "last_name": BREAKOUT,
            "email": "hx@alpha.example",
            "role": "teacher",
        },
    )
    assert response.status_code == 302
    page = admin.get("/accounts/staff/")
    assert_inert(page.content.decode(), "staff list after invitation")

    teacher = client_for(alpha_teacher)
    class_pk = hostile["class"].pk
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["first_name", "last_name", "username", "grade"])
    writer.writerow([IMAGE, BREAKOUT, "hx1", "7"])
    writer.writerow([SCRIPT, FORMULA, "hx2", "7"])
    roster = buffer.getvalue()
    upload = teacher.post(
        f"/classes/{class_pk}/import/",
        {"file": SimpleUploadedFile("roster.csv", roster.encode())},
    )
    assert upload.status_code == 302, [str(p) for p in upload.context["plan"].problems]
    preview = teacher.get(upload["Location"])
    assert_inert(preview.content.decode(), "roster preview")
    digest = preview.context["plan"].digest()
    applied = teacher.post(upload["Location"], {"digest": digest})
    assert applied.status_code == 302
    assert_inert(teacher.get(f"/classes/{class_pk}/").content.decode(), "class after import")


def test_the_results_export_escapes_formulas(client_for, alpha_teacher, hostile):
    response = client_for(alpha_teacher).get(
        f"/tests/assignments/{hostile['assignment'].pk}/results.csv"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    names = [row[0] for row in rows[1:]]
    assert any(SCRIPT in name for name in names)
    cells = [cell for row in rows[1:] for cell in row if isinstance(cell, str)]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@"))], names


def test_the_item_export_escapes_formulas_and_imports_back_unchanged(
    client_for, alpha_teacher, hostile
):
    from dreamseed.itembank.import_export import import_plan

    response = client_for(alpha_teacher).get("/items/export.csv?q=XSS-1")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    (row,) = [row for row in rows if row["external_id"] == "XSS-1"]
    assert row["option_d"] == "'-1 + 2"
    assert row["b"] == "0.2"
    negative = [r for r in rows if r["b"].startswith("-")]
    assert all(not r["b"].startswith("'") for r in negative)  # numbers stay numbers
    with in_schema(alpha_teacher.schema_name):
        plan = import_plan(text=text, fmt="csv")
    assert plan.is_valid, [str(problem) for problem in plan.problems]
    assert plan.counts["update"] == 0 and plan.counts["create"] == 0


def test_spreadsheet_escaping_round_trips():
    for value in ("=1+1", "+1", "-3", "@SUM(A1)", "\t=1", "plain", "", "'quoted"):
        assert spreadsheet_unescape(spreadsheet_safe(value)) == value
    assert spreadsheet_safe("=1+1") == "'=1+1"
    assert spreadsheet_safe(-3) == -3


def test_pdf_report_html_escapes_hostile_text(alpha_teacher, hostile):
    from dreamseed.reports import selectors
    from dreamseed.reports.rendering import Chart

    with in_schema(alpha_teacher.schema_name):
        student = selectors.student_report_data(session=hostile["session"])
        classes = selectors.class_report_data(assignment=hostile["assignment"])
        for name, context in (("student", student), ("class", classes)):
            html = render_to_string(f"reports/{name}_report.html", context)
            assert_inert(html, f"{name} report")
            for value in context.values():
                if isinstance(value, Chart) and value:
                    assert_inert(str(value), f"{name} report chart", shows_payload=False)


def test_the_json_api_sends_hostile_text_as_json_data(client_for, alpha_teacher, hostile):
    client = client_for(alpha_teacher)
    for path in [
        f"/api/classes/{hostile['class'].pk}/",
        "/api/students/",
        f"/api/items/{hostile['item'].pk}/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("application/json"), path
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "alert(1)" in response.content.decode(), path
        browsable = client.get(path, HTTP_ACCEPT="text/html")
        if browsable["Content-Type"].startswith("text/html"):
            assert_inert(browsable.content.decode(), f"{path} (browsable)", shows_payload=False)
