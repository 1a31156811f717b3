"""In Chromium: a teacher marks a rubric answer with the keyboard on the marking page, and the
item page draws a partial-credit item's category curves."""

import os

import pytest
from playwright.sync_api import expect

from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.pools import pool_cache_clear
from dreamseed.assessments.services import session_answer, session_start
from dreamseed.assessments.tests.factories import committed_open_test
from dreamseed.assessments.tests.test_browser_take import _sign_in_with_keyboard, _tab_to
from dreamseed.assessments.tests.test_marking import RUBRIC
from dreamseed.itembank.models import BankRevision, Item, ItemVersion
from dreamseed.testing import in_schema

#: Set BROWSER_SCREENSHOTS=/some/folder to keep what the browser showed.
SHOTS = os.environ.get("BROWSER_SCREENSHOTS")


@pytest.fixture
def marked_test(personas, committed_db):
    with committed_open_test(
        personas, students=["alpha_student"], class_name="Marking class", bank_size=20,
        seed=321, name="Explain it", max_items=4, min_items=4,
    ) as assignment:  # fmt: skip
        alpha = personas["alpha_admin"]
        with in_schema(alpha.schema_name):
            items = list(Item.objects.filter(external_id__startswith="T321-").order_by("pk"))
            for item in items:
                Item.objects.filter(pk=item.pk).update(
                    model="GPCM", c=0.0, d=1.0, steps=[item.b - 0.5, item.b + 0.5]
                )
                ItemVersion.objects.filter(item=item).update(**RUBRIC)
            BankRevision.bump()
            pool_cache_clear()
            student = personas["alpha_student"].user
            session = session_start(assignment=assignment, student=student)
            for _answer in range(4):
                pending = ExamSession.objects.get(pk=session.pk).pending_item_id
                if pending is None:
                    break
                session_answer(
                    session_id=session.pk, student=student, item_id=pending,
                    choice="Because the whole is split in equal parts", response_time_ms=9000,
                )  # fmt: skip
        yield assignment, items[0]
        pool_cache_clear()


def _shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.mark.browser
def test_a_teacher_marks_an_answer_with_the_keyboard(live_server, marked_test, page):
    assignment, item = marked_test
    _sign_in_with_keyboard(page, live_server, "teacher@alpha.example")
    page.goto(live_server.url("alpha.localhost", f"/tests/assignments/{assignment.pk}/marking/"))
    expect(page.get_by_text("4 answers are waiting.")).to_be_visible()
    _shot(page, "marking.png")
    _tab_to(page, "Results")
    page.keyboard.press("Tab")  # the first answer's points
    expect(page.get_by_label("Points (0 to 2)").first).to_be_focused()
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.get_by_text("3 answers are waiting.")).to_be_visible()
    expect(page.get_by_text("score is now")).to_be_visible()
    _shot(page, "marked.png")
    page.goto(live_server.url("alpha.localhost", f"/items/{item.pk}/"))
    expect(page.locator("svg.ccc")).to_be_visible()
    _shot(page, "item_ccc.png")
