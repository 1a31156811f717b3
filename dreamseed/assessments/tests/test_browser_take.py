"""In Chromium: a student takes a whole adaptive test with the keyboard only; the teacher sees the
result. And the same test works with JavaScript switched off."""

import re

import pytest
from playwright.sync_api import expect

from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.tests.factories import committed_open_test
from dreamseed.testing import PASSWORD, in_schema


@pytest.fixture
def open_test(personas, committed_db):
    with committed_open_test(
        personas, students=["alpha_student", "alpha_student2"], class_name="Browser class",
        bank_size=40, seed=99, name="Keyboard quiz", max_items=6, min_items=6,
        time_limit_minutes=20,
    ) as assignment:  # fmt: skip
        yield assignment


def _tab_to(page, text, limit=60):
    for _ in range(limit):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "document.activeElement && (document.activeElement.innerText || document.activeElement.value || '')"
        )
        if text in (label or ""):
            return
    raise AssertionError(f"could not reach {text!r} with Tab")


def _sign_in_with_keyboard(page, live_server, username):
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    # The username field has autofocus; typing before it takes effect would lose keys.
    expect(page.get_by_label("Username or email")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    # Signed in: the home page (the sign-in page's own URL ends in "/" too).
    expect(page).to_have_url(re.compile(r"^http://alpha\.localhost:\d+/$"))


@pytest.mark.browser
def test_a_student_takes_a_whole_test_with_the_keyboard_and_the_teacher_sees_it(
    live_server, open_test, page, browser
):
    _sign_in_with_keyboard(page, live_server, "sam")
    page.goto(live_server.url("alpha.localhost", "/tests/mine/"))
    _tab_to(page, "Start")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Keyboard quiz")).to_be_visible()
    _tab_to(page, "Begin the test")
    page.keyboard.press("Enter")

    expect(page.get_by_role("timer")).to_be_visible()
    page.wait_for_selector("html[data-take-test-ready]", state="attached")
    for number in range(1, 7):
        heading = page.get_by_role("heading", name=f"Question {number}", exact=True)
        expect(heading).to_be_visible()
        # The answers are a labelled radio group a screen reader can read out.
        expect(page.get_by_role("group", name=f"Question {number}")).to_be_visible()
        expect(page.get_by_role("radio")).to_have_count(4)
        if number > 1:
            # After each answer, focus moves to the new question and it is announced.
            assert page.evaluate("document.activeElement.id") == "question-heading"
            expect(page.locator("#announcer")).to_have_text(f"Question {number}")
        page.keyboard.press("b")  # letter shortcut picks option B
        expect(page.get_by_role("radio").nth(1)).to_be_checked()
        page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="You have finished!")).to_be_visible()
    expect(page.get_by_text("most likely between")).to_be_visible()
    expect(page.locator("svg[role=img] title")).to_have_text("Score after each question")

    with in_schema("alpha"):
        session = ExamSession.objects.get(assignment=open_test, student__username="sam")
        assert session.attempts.count() == 6
    assert session.status == "completed" and session.n_items == 6

    teacher = browser.new_page()
    _sign_in_with_keyboard(teacher, live_server, "teacher@alpha.example")
    teacher.goto(live_server.url("alpha.localhost", f"/tests/assignments/{open_test.pk}/results/"))
    row = teacher.get_by_role("row").filter(has_text="Sam Student")
    expect(row).to_contain_text(f"{session.score:.1f}")
    teacher.get_by_role("link", name="Sam Student").click()
    expect(teacher.get_by_role("heading", name="Item by item")).to_be_visible()
    expect(teacher.get_by_role("row")).to_have_count(7)  # header + 6 answers
    teacher.close()


@pytest.mark.browser
def test_the_test_works_without_javascript(live_server, open_test, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    page.get_by_label("Username or email").fill("sara")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url("alpha.localhost", f"/tests/take/{open_test.pk}/"))
    page.get_by_role("button", name="Begin the test").click()
    for number in range(1, 7):
        expect(page.get_by_role("heading", name=f"Question {number}", exact=True)).to_be_visible()
        if number == 1:
            # Going on without choosing says so, next to the question.
            page.get_by_role("button", name="Answer and continue").click()
            expect(page.get_by_role("alert")).to_contain_text("Please choose an answer")
        page.get_by_role("radio").nth(0).check()
        page.get_by_role("button", name="Answer and continue").click()
    expect(page.get_by_role("heading", name="You have finished!")).to_be_visible()
    # The back button shows the finished result, never an old question to answer again.
    page.go_back()
    page.reload()
    expect(page.get_by_role("heading", name="Question 1", exact=True)).to_have_count(0)
    context.close()
