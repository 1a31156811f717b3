"""In Chromium: while the server restarts a part of itself (503 + Retry-After) or a connection
drops after the answer was saved, the test page sends the answer again and the student goes on;
every answer is recorded exactly once."""

import json
import urllib.request
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.assessments.tests.factories import committed_open_test
from dreamseed.testing import PASSWORD, in_schema


@pytest.fixture
def open_test(personas, committed_db):
    with committed_open_test(
        personas, students=["alpha_student"], class_name="Retry class", bank_size=30, seed=7,
        name="Retry quiz", max_items=3, min_items=3,
    ) as assignment:  # fmt: skip
        yield assignment


def _begin(page, live_server, assignment):
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    page.get_by_label("Username or email").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url("alpha.localhost", f"/tests/take/{assignment.pk}/"))
    page.get_by_role("button", name="Begin the test").click()
    page.wait_for_selector("html[data-take-test-ready]", state="attached")


def _answer_all(page, count):
    for number in range(1, count + 1):
        expect(page.get_by_role("heading", name=f"Question {number}", exact=True)).to_be_visible()
        page.get_by_role("radio").nth(1).check()
        page.get_by_role("button", name="Answer and continue").click()
    expect(page.get_by_role("heading", name="You have finished!")).to_be_visible()


def _deliver(request, live_server):
    """Send the browser's request to the live server ourselves (Playwright's own fetch cannot
    resolve *.localhost) and throw the reply away."""
    headers = {name: value for name, value in request.headers.items() if not name.startswith(":")}
    headers["Host"] = urlsplit(request.url).netloc
    path = urlsplit(request.url).path
    forwarded = urllib.request.Request(
        f"http://127.0.0.1:{live_server.port}{path}",
        data=request.post_data_buffer,
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(forwarded, timeout=30) as reply:
        assert reply.status == 200


def _attempts(assignment):
    with in_schema("alpha"):
        session = ExamSession.objects.get(assignment=assignment, student__username="sam")
        items = list(Attempt.objects.filter(session=session).values_list("item_id", flat=True))
    return items


@pytest.mark.browser
def test_a_503_during_a_database_restart_is_retried_and_the_student_goes_on(
    live_server, open_test, page
):
    _begin(page, live_server, open_test)
    outage = {"left": 2}

    def restarting(route):
        if route.request.method == "POST" and outage["left"]:
            outage["left"] -= 1
            body = {"detail": "restarting", "code": "database_unavailable", "retry_after": 1}
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body=json.dumps(body),
            )
            return
        route.continue_()

    page.route("**/tests/session/**", restarting)
    page.get_by_role("radio").nth(1).check()
    page.get_by_role("button", name="Answer and continue").click()
    expect(page.locator("#connection-error[role=status]")).to_contain_text("Sending your answer")
    expect(page.get_by_role("heading", name="Question 2", exact=True)).to_be_visible()
    assert outage["left"] == 0
    page.unroute("**/tests/session/**")
    for number in (2, 3):
        expect(page.get_by_role("heading", name=f"Question {number}", exact=True)).to_be_visible()
        page.get_by_role("radio").nth(1).check()
        page.get_by_role("button", name="Answer and continue").click()
    expect(page.get_by_role("heading", name="You have finished!")).to_be_visible()
    attempts = _attempts(open_test)
    assert len(attempts) == len(set(attempts)) == 3


@pytest.mark.browser
def test_an_answer_saved_but_whose_reply_was_lost_is_recorded_once(live_server, open_test, page):
    _begin(page, live_server, open_test)
    lost = {"left": 1}

    def drop_reply(route):
        if route.request.method == "POST" and lost["left"]:
            lost["left"] -= 1
            _deliver(route.request, live_server)  # the server records the answer...
            route.abort("connectionreset")  # ...and the reply never arrives
            return
        route.continue_()

    page.route("**/tests/session/**", drop_reply)
    _answer_all(page, 3)
    assert lost["left"] == 0
    attempts = _attempts(open_test)
    assert len(attempts) == len(set(attempts)) == 3
