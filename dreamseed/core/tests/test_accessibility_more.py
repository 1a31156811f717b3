"""axe-core finds no serious or critical problems on the rest of the staff pages: classes and
roster import, the item bank and calibration, reports, billing, LMS settings, account pages, the
live dashboard, a student's result as staff see it, and the student's "My tests"."""

import pytest

from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.tests.factories import committed_open_test
from dreamseed.core.tests.test_accessibility import _check, _sign_in
from dreamseed.itembank.models import Item
from dreamseed.reports.models import Report, ReportKind
from dreamseed.reports.tests.factories import make_finished_sessions
from dreamseed.testing import in_schema


@pytest.fixture
def finished_test(personas, committed_db):
    """An open test in alpha that alpha_student2 has finished, with a class report requested."""
    with committed_open_test(
        personas, students=["alpha_student2"], class_name="A11y more class", bank_size=20, seed=9,
        name="A11y more quiz", max_items=4, min_items=2,
    ) as assignment:  # fmt: skip
        with in_schema(personas["alpha_admin"].schema_name):
            items = list(Item.objects.filter(external_id__startswith="T9-"))
            (session,) = make_finished_sessions(
                assignment=assignment, students=[personas["alpha_student2"].user], items=items,
                length=4,
            )  # fmt: skip
            report = Report.objects.create(
                kind=ReportKind.CLASS,
                assignment=assignment,
                requested_by=personas["alpha_teacher"].user,
            )
        try:
            yield assignment, session, report, items[0]
        finally:
            with in_schema(personas["alpha_admin"].schema_name):
                Report.objects.filter(pk=report.pk).delete()
                ExamSession.objects.filter(pk=session.pk).delete()


def _visit(page, live_server, paths):
    for path in paths:
        page.goto(live_server.url("alpha.localhost", path))
        _check(page, path)


@pytest.mark.browser
def test_teacher_class_item_bank_and_report_pages_are_accessible(live_server, finished_test, page):
    assignment, session, report, item = finished_test
    class_pk = assignment.school_class_id
    _sign_in(page, live_server, "teacher@alpha.example")
    _visit(
        page,
        live_server,
        [
            "/classes/",
            f"/classes/{class_pk}/",
            f"/classes/{class_pk}/import/",
            f"/classes/{class_pk}/statistics/",
            f"/classes/{class_pk}/groups/",
            f"/classes/students/{session.student_id}/",  # history and growth chart
            f"/tests/assignments/{assignment.pk}/results/",
            "/",  # the teacher's home: what needs attention
            "/items/",
            f"/items/{item.pk}/",
            "/items/new/",
            "/items/import/",
            "/items/import/format/",
            "/items/calibrations/",
            f"/tests/assignments/{assignment.pk}/",  # the live dashboard
            f"/tests/sessions/{session.pk}/",  # a student's result, as staff see it
            f"/reports/{report.pk}/",
            "/accounts/password/change/",
        ],
    )


@pytest.mark.browser
def test_admin_billing_lms_and_account_pages_are_accessible(live_server, finished_test, page):
    _sign_in(page, live_server, "admin@alpha.example")
    _visit(
        page,
        live_server,
        [
            "/",
            "/billing/",
            "/lti/platforms/",
            "/lti/platforms/new/",
            "/lti/courses/",
            "/classes/statistics/",
            "/accounts/password/change/",
        ],
    )


@pytest.mark.browser
def test_the_students_my_tests_page_is_accessible(live_server, finished_test, page):
    _sign_in(page, live_server, "sara")
    _visit(page, live_server, ["/tests/mine/", "/classes/mine/", "/classes/mine/results/"])


@pytest.fixture
def reviewed_calibration(personas, finished_test):
    """A calibration run waiting for review, with a result per item (as the worker leaves it)."""
    from dreamseed.itembank.models import (
        CalibrationMethod,
        CalibrationResult,
        CalibrationRun,
        CalibrationStatus,
    )

    _assignment, _session, _report, _item = finished_test
    with in_schema(personas["alpha_admin"].schema_name):
        items = list(Item.objects.filter(external_id__startswith="T9-")[:3])
        run = CalibrationRun.objects.create(
            status=CalibrationStatus.SUCCEEDED, progress=100, method=CalibrationMethod.ANCHORED,
            n_persons=120, n_responses=360, n_anchors=17, iterations=42, converged=True,
            population_mean=0.0, population_sd=1.0, created_by=personas["alpha_teacher"].user,
        )  # fmt: skip
        CalibrationResult.objects.bulk_create([
            CalibrationResult(
                run=run, item=item, old_status=item.status, old_model=item.model,
                old_a=item.a, old_b=item.b, old_c=item.c, old_d=item.d, n_responses=120,
                new_a=item.a * 1.1, new_b=(item.b or 0) + 0.2, new_c=item.c, new_d=item.d,
                se_a=0.12, se_b=0.15, se_c=None,
            )
            for item in items
        ])  # fmt: skip
    try:
        yield run
    finally:
        with in_schema(personas["alpha_admin"].schema_name):
            CalibrationRun.objects.filter(pk=run.pk).delete()


@pytest.mark.browser
def test_a_calibration_waiting_for_review_is_accessible(live_server, reviewed_calibration, page):
    _sign_in(page, live_server, "teacher@alpha.example")
    _visit(page, live_server, [f"/items/calibrations/{reviewed_calibration.pk}/"])
    assert page.get_by_role("table").count() >= 1
