"""axe-core finds no serious or critical problems on the pages people use most, in English and
Korean, from the public site to a student's test and result."""

import pytest
from django.db import connection

from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.tests.factories import (
    make_assessment,
    make_assignment,
    make_bank,
    make_class,
)
from dreamseed.itembank.models import Item
from dreamseed.testing import PASSWORD, axe_violations, in_schema


@pytest.fixture
def open_test(personas, committed_db):
    alpha = personas["alpha_admin"]
    with in_schema(alpha.schema_name):
        connection.set_tenant(alpha.school)
        teacher = personas["alpha_teacher"].user
        items = make_bank(n=20, seed=5)
        school_class = make_class(
            teacher=teacher, students=[personas["alpha_student2"].user], name="A11y class"
        )
        assessment = make_assessment(
            author=teacher, name="A11y quiz", max_items=2, min_items=2, time_limit_minutes=15
        )
        assignment = make_assignment(assessment=assessment, school_class=school_class)
    yield assignment
    with in_schema(alpha.schema_name):
        ExamSession.objects.filter(assignment=assignment).delete()
        assignment.delete()
        assessment.delete()
        school_class.delete()
        Item.objects.filter(pk__in=[item.pk for item in items]).update(current_version=None)
        for item in items:
            item.versions.all().delete()
            item.delete()


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
def test_teacher_and_admin_pages_are_accessible(live_server, open_test, page):
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


@pytest.mark.browser
def test_the_checker_itself_catches_problems(page):
    """Guard against a silently passing checker: an unlabelled input and an image without alt."""
    page.set_content('<main><img src="x.png"><input type="text"></main>')
    found = {problem["id"] for problem in axe_violations(page, impacts=("serious", "critical"))}
    assert {"image-alt", "label"} <= found
