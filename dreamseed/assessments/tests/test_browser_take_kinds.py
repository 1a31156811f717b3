"""In Chromium, on a phone-sized screen: a student answers one item of each kind with the keyboard
only (Tab, Space, letters, arrow keys, typing, Enter), and the answers recorded are what was
typed and chosen, marked as the item says."""

import os
import re

import pytest
from django.db import connection
from playwright.sync_api import expect

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.assessments.services import session_start
from dreamseed.assessments.tests.factories import make_assessment, make_assignment, make_class
from dreamseed.itembank.models import BankRevision, Item, ItemStatus, ItemVersion
from dreamseed.privacy.models import AuditEvent
from dreamseed.testing import PASSWORD, in_schema

PHONE = {"width": 360, "height": 740}
OPTIONS = [
    {"key": "A", "text": "Mercury"},
    {"key": "B", "text": "Venus"},
    {"key": "C", "text": "Earth"},
    {"key": "D", "text": "Mars, the red planet with the highest volcano of the solar system"},
]

# kind -> (stem, options, correct_key, answer); the extended item is a pilot (never scored).
ITEMS = {
    "single": ("<p>Which planet is second from the Sun?</p>", OPTIONS, "B", {}),
    "multiple": ("<p>Which planets have no moon?</p>", OPTIONS, "", {"keys": ["A", "B"]}),
    "truefalse": ("<p>The Sun is a star.</p>", [], "T", {}),
    "numeric": (
        "<p>How long is the pencil, in centimetres?</p>",
        [],
        "",
        {"value": 12.5, "tolerance": 0.1, "units": ["cm"], "unit_required": False},
    ),
    "text": (
        "<p>What is the capital of South Korea?</p>",
        [],
        "",
        {"accepted": ["Seoul"], "case_sensitive": False},
    ),
    "ordering": (
        "<p>Put the planets in order from the Sun.</p>",
        OPTIONS,  # shown shuffled
        "",
        {"order": ["A", "B", "C", "D"]},
    ),
    "extended": ("<p>Why do planets move around the Sun?</p>", [], "", {}),
}


@pytest.fixture
def kinds_test(personas, committed_db):
    """Six active items (one of each scored kind) and an extended pilot item; a test of seven
    questions whose session starts with the pilot (pilot items come at random, and a test must
    not depend on chance)."""
    alpha = personas["alpha_admin"]
    with in_schema(alpha.schema_name):
        connection.set_tenant(alpha.school)
        teacher = personas["alpha_teacher"].user
        student = personas["alpha_student"].user
        items = {}
        for index, (kind, (stem, options, key, answer)) in enumerate(ITEMS.items()):
            pilot = kind == "extended"
            item = Item.objects.create(
                external_id=f"KIND-{kind}",
                status=ItemStatus.PILOT if pilot else ItemStatus.ACTIVE,
                subject="Science",
                content_area="Planets",
                model="2PL",
                a=1.2,
                b=None if pilot else -1.5 + 0.5 * index,
                c=0.0,
                d=1.0,
            )
            version = ItemVersion.objects.create(
                item=item, number=1, stem=stem, options=options, correct_key=key, kind=kind,
                answer=answer,
            )  # fmt: skip
            item.current_version = version
            item.save(update_fields=["current_version"])
            items[kind] = item
        BankRevision.bump()
        school_class = make_class(teacher=teacher, students=[student], name="Kinds class")
        assessment = make_assessment(
            author=teacher, name="Planets", subject="Science", min_items=7, max_items=7,
            pilot_rate=0.5,
        )  # fmt: skip
        assignment = make_assignment(assessment=assessment, school_class=school_class)
        session = session_start(assignment=assignment, student=student)
        pilot = items["extended"]
        ExamSession.objects.filter(pk=session.pk).update(
            pending_item=pilot, pending_version=pilot.current_version, pending_is_pilot=True
        )
    try:
        yield session
    finally:
        with in_schema(alpha.schema_name):
            AuditEvent.objects.filter(created_at__gte=session.started_at).delete()
            ExamSession.objects.filter(assignment=assignment).delete()
            assignment.delete()
            assessment.delete()
            school_class.delete()
            Item.objects.filter(pk__in=[item.pk for item in items.values()]).update(
                current_version=None
            )
            for item in items.values():
                item.versions.all().delete()
                item.delete()


def _focused(page) -> str:
    return page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e ? `${e.tagName}:${e.getAttribute('name') || e.id}` : ''; })()"
    )


def _tab_until(page, wanted: str, limit=30):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page) == wanted:
            return
    raise AssertionError(f"could not reach {wanted} with Tab (at {_focused(page)})")


def _kind_shown(page) -> str:
    for selector, kind in (
        ("textarea[name=response]", "extended"),
        ("input.numeric-answer", "numeric"),
        ("input.text-answer", "text"),
        ("select[name=order]", "ordering"),
        ("input[name=choices]", "multiple"),
        ("input[name=choice][value=T]", "truefalse"),
        ("input[name=choice]", "single"),
    ):
        if page.locator(f"#answer-form {selector}").count():
            return kind
    raise AssertionError("no answer control on the page")


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _answer(page, kind):
    """Answer the question shown with the keyboard, as a student would."""
    hint = page.locator("#keyboard-hint")
    if kind == "single":
        expect(hint).to_have_text("Keyboard: press the letter of an answer, then Enter.")
        page.keyboard.press("b")
        expect(page.locator("input[name=choice][value=B]")).to_be_checked()
        page.keyboard.press("Enter")
    elif kind == "multiple":
        expect(hint).to_contain_text("letters of all the right answers")
        group = page.get_by_role("group", name="Choose all the answers that are right.")
        expect(group).to_have_count(1)
        page.keyboard.press("a")
        page.keyboard.press("c")
        page.keyboard.press("c")  # changed my mind: C again takes it back
        # A letter also moves focus to its box; Space on the focused box toggles it.
        expect(page.locator("input[name=choices][value=C]")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Space")  # B
        checked = page.locator("input[name=choices]:checked")
        expect(checked).to_have_count(2)
        page.keyboard.press("Enter")
    elif kind == "truefalse":
        expect(hint).to_contain_text("T for True or F for False")
        page.keyboard.press("f")
        # The arrow keys move within the radio group: from False back up to True.
        page.keyboard.press("ArrowUp")
        expect(page.get_by_role("radio", name="True")).to_be_checked()
        page.keyboard.press("Enter")
    elif kind == "numeric":
        expect(hint).to_have_text("Keyboard: type your answer, then press Enter.")
        field = page.get_by_role("textbox", name="Your answer (a number)")
        assert field.get_attribute("inputmode") == "decimal"  # a phone shows its number pad
        expect(field).to_have_accessible_description(re.compile("unit after the number"))
        page.keyboard.type("12,55 cm")  # typing goes into the field from the heading
        expect(field).to_have_value("12,55 cm")
        # A phone's number pad may lack a minus key: the sign button, next in Tab order.
        page.keyboard.press("Tab")
        sign = page.get_by_role("button", name="+/− sign")
        expect(sign).to_be_focused()
        page.keyboard.press("Space")
        expect(field).to_have_value("-12,55 cm")
        page.keyboard.press("Space")
        expect(field).to_have_value("12,55 cm")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
    elif kind == "text":
        field = page.get_by_role("textbox", name="Your answer")
        _tab_until(page, "INPUT:response")
        page.keyboard.type("  seoul ")
        expect(field).to_have_value("  seoul ")
        page.keyboard.press("Enter")
    elif kind == "ordering":
        expect(hint).to_contain_text("Tab to each place")
        places = page.get_by_role("group", name=re.compile("right order")).get_by_role("combobox")
        expect(places).to_have_count(4)
        _tab_until(page, "SELECT:order")
        expect(places.nth(0)).to_be_focused()
        # Arrow keys step through the answers as listed (shuffled); a letter jumps to one.
        listed = places.nth(0).locator("option").evaluate_all("(all) => all.map(o => o.value)")
        for _step in range(listed.index("A")):
            page.keyboard.press("ArrowDown")
        expect(places.nth(0)).to_have_value("A")
        page.keyboard.press("Tab")
        page.keyboard.press("b")
        expect(places.nth(1)).to_have_value("B")
        page.keyboard.press("Tab")
        page.keyboard.press("d")  # wrong on purpose: D third ...
        page.keyboard.press("Tab")
        page.keyboard.press("c")  # ... and C fourth
        expect(places.nth(3)).to_have_value("C")
        page.keyboard.press("Enter")
    elif kind == "extended":
        expect(hint).to_contain_text("then press Tab and Enter")
        field = page.get_by_role("textbox", name="Your answer")
        expect(field).to_have_accessible_description(re.compile("in sentences"))
        _tab_until(page, "TEXTAREA:response")
        page.keyboard.type("Gravity pulls them.")
        page.keyboard.press("Enter")  # a new line, not the end of the answer
        page.keyboard.type("They keep moving <fast>.")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Answer and continue")).to_be_focused()
        page.keyboard.press("Enter")


# kind -> (response stored, right?)
EXPECTED = {
    "extended": ("Gravity pulls them.\nThey keep moving <fast>.", False),
    "single": ("B", True),
    "multiple": ("A,B", True),
    "truefalse": ("T", True),
    "numeric": ("12,55 cm", True),
    "text": ("seoul", True),
    "ordering": ("A,B,D,C", False),
}


@pytest.mark.browser
def test_a_student_answers_one_item_of_each_kind_with_the_keyboard_on_a_phone(
    live_server, kinds_test, browser
):
    session = kinds_test
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    expect(page.get_by_label("Username or email")).to_be_focused()
    page.keyboard.type("sam")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"^http://alpha\.localhost:\d+/$"))
    page.goto(live_server.url("alpha.localhost", f"/tests/session/{session.pk}/"))
    page.wait_for_selector("html[data-take-test-ready]", state="attached")

    shots = os.environ.get("DREAMSEED_SCREENSHOTS")  # a folder to look at the pages in
    seen = []
    for number in range(1, 8):
        heading = page.get_by_role("heading", name=f"Question {number}", exact=True)
        expect(heading).to_be_visible()
        if number > 1:
            expect(heading).to_be_focused()
        expect(page.get_by_role("group", name=f"Question {number}")).to_be_visible()
        kind = _kind_shown(page)
        seen.append(kind)
        _no_sideways_scroll(page)
        if shots:
            page.screenshot(path=os.path.join(shots, f"{number}-{kind}.png"), full_page=True)
        _answer(page, kind)

    expect(page.get_by_role("heading", name="You have finished!")).to_be_visible()
    assert sorted(seen) == sorted(ITEMS) and seen[0] == "extended"
    with in_schema("alpha"):
        recorded = {
            attempt.item_version.kind: (attempt.selected_choice, attempt.correct, attempt.is_pilot)
            for attempt in Attempt.objects.filter(session=session).select_related("item_version")
        }
        session.refresh_from_db()
    assert recorded == {
        kind: (response, right, kind == "extended") for kind, (response, right) in EXPECTED.items()
    }
    assert session.status == "completed" and session.n_items == 6
    context.close()

    # The teacher reads each answer in words, the right answers, and the written one unscored.
    teacher = browser.new_page(viewport={"width": 1280, "height": 900})
    teacher.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    teacher.get_by_label("Username or email").fill("teacher@alpha.example")
    teacher.get_by_label("Password").fill(PASSWORD)
    teacher.get_by_role("button", name="Sign in").click()
    teacher.goto(live_server.url("alpha.localhost", f"/tests/sessions/{session.pk}/"))
    rows = teacher.get_by_role("row")
    expect(rows).to_have_count(8)  # header + 7 answers
    for kind, shown in {
        "multiple": "A, B",
        "truefalse": "True",
        "ordering": "A → B → D → C",
        "extended": "They keep moving <fast>.",
    }.items():
        expect(rows.filter(has_text=f"KIND-{kind}")).to_contain_text(shown)
    expect(rows.filter(has_text="KIND-ordering")).to_contain_text("A → B → C → D")
    expect(rows.filter(has_text="KIND-extended")).to_contain_text("not scored")
    if shots:
        teacher.screenshot(path=os.path.join(shots, "teacher-session.png"), full_page=True)
    # The item page counts the answers given: here the ordering item's wrong order.
    with in_schema("alpha"):
        ordering = Item.objects.get(external_id="KIND-ordering")
    teacher.goto(live_server.url("alpha.localhost", f"/items/{ordering.pk}/"))
    answers = teacher.get_by_role("region", name="Answers given")
    expect(answers.get_by_role("table", name="The most common wrong answers")).to_contain_text(
        "A → B → D → C"
    )
    if shots:
        answers.screenshot(path=os.path.join(shots, "teacher-item-answers.png"))
    teacher.close()
