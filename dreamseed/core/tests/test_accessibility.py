"""axe-core finds no serious or critical problems on the pages people use most, in English and
Korean, from the public site to a student's test and result."""

import pytest

from dreamseed.assessments.tests.factories import committed_open_test
from dreamseed.testing import PASSWORD, axe_violations


@pytest.fixture
def open_test(personas, committed_db):
    with committed_open_test(
        personas, students=["alpha_student2"], class_name="A11y class", bank_size=20, seed=5,
        name="A11y quiz", max_items=2, min_items=2, time_limit_minutes=15,
    ) as assignment:  # fmt: skip
        yield assignment


def _sign_in(page, live_server, username):
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def _check(page, where):
    problems = axe_violations(page)
    assert problems == [], f"{where}: {problems}"


@pytest.mark.browser
def test_public_pages_are_accessible(live_server, page, committed_db):
    page.goto(live_server.url("localhost", "/"))
    _check(page, "landing")
    page.goto(live_server.url("localhost", "/signup/"))
    page.get_by_role("button", name="Create school").click()  # with every field in error
    _check(page, "signup with errors")
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    _check(page, "login")


@pytest.mark.browser
def test_the_student_test_flow_is_accessible(live_server, open_test, page):
    _sign_in(page, live_server, "sara")
    _check(page, "student home")
    page.goto(live_server.url("alpha.localhost", "/tests/mine/"))
    _check(page, "my tests")
    page.goto(live_server.url("alpha.localhost", f"/tests/take/{open_test.pk}/"))
    _check(page, "start page")
    page.get_by_role("button", name="Begin the test").click()
    page.get_by_role("heading", name="Question 1", exact=True).wait_for()
    _check(page, "question")
    page.get_by_role("button", name="Answer and continue").click()  # nothing chosen: an error
    page.get_by_role("alert").wait_for()
    _check(page, "question with error")
    for number in (1, 2):
        page.get_by_role("radio").nth(0).check()
        page.get_by_role("button", name="Answer and continue").click()
        if number == 1:
            page.get_by_role("heading", name="Question 2", exact=True).wait_for()
    page.get_by_role("heading", name="You have finished!").wait_for()
    _check(page, "result")
    page.get_by_label("Language").select_option("ko")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_load_state()
    _check(page, "result in Korean")


@pytest.mark.browser
def test_teacher_and_admin_pages_are_accessible(live_server, open_test, page, personas):
    _sign_in(page, live_server, "teacher@alpha.example")
    _check(page, "teacher home")
    for path in [
        "/tests/",
        f"/tests/{open_test.assessment_id}/",
        f"/tests/assignments/{open_test.pk}/",
        f"/tests/assignments/{open_test.pk}/results/",
        "/tests/new/",
    ]:
        page.goto(live_server.url("alpha.localhost", path))
        _check(page, path)
    page.context.clear_cookies()
    _sign_in(page, live_server, "admin@alpha.example")
    page.goto(live_server.url("alpha.localhost", "/accounts/staff/"))
    _check(page, "staff")
    student_id = personas["alpha_student2"].user_id  # in the open test's class
    for path in [
        "/privacy/audit/",
        "/privacy/audit/?date_from=2030-01-02&date_to=2030-01-01",  # a field in error
        "/privacy/students/",
        f"/privacy/students/{student_id}/",
        f"/privacy/students/{student_id}/delete/",
    ]:
        page.goto(live_server.url("alpha.localhost", path))
        _check(page, path)


@pytest.mark.browser
def test_the_checker_itself_catches_problems(page):
    """Guard against a silently passing checker: an unlabelled input and an image without alt."""
    page.set_content('<main><img src="x.png"><input type="text"></main>')
    found = {problem["id"] for problem in axe_violations(page, impacts=("serious", "critical"))}
    assert {"image-alt", "label"} <= found
