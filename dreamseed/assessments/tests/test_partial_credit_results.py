"""Partial credit where people read it: points ("1/2") on the session's result page and in the
PDF student report, answers by score and category curves on the item page."""

import pytest

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.assessments.services import session_start
from dreamseed.assessments.tests.test_partial_credit_taking import (
    _answer,
    _make_partial,
)
from dreamseed.itembank.models import Item, ItemVersion
from dreamseed.testing import in_schema


def _sitting(world):
    """A finished sitting on an all-GPCM pool: 2, 1 and 0 points, then full marks."""
    _make_partial(world, every=1)
    student = world.students[0]
    with in_schema(world.school.schema_name):
        session = session_start(assignment=world.assignment, student=student)
        choices = iter(["B,D", "B", "A,C"])
        while not ExamSession.objects.get(pk=session.pk).is_finished:
            _answer(world, student, session.pk, next(choices, "B,D"))
        return ExamSession.objects.get(pk=session.pk)


@pytest.mark.django_db
def test_the_staff_result_page_shows_points(world, client_for, alpha_teacher, beta_teacher):
    session = _sitting(world)
    page = client_for(alpha_teacher).get(f"/tests/sessions/{session.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2/2 points" in text and "1/2 points" in text and "0/2 points" in text
    assert client_for(beta_teacher).get(f"/tests/sessions/{session.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_student_report_pdf_shows_points(world, settings, tmp_path):
    from dreamseed.reports import services
    from dreamseed.reports.models import ReportKind, ReportStatus
    from dreamseed.reports.tests.pdfcheck import pdf_text

    settings.MEDIA_ROOT = tmp_path
    session = _sitting(world)
    with in_schema(world.school.schema_name):
        report = services.report_request(
            kind=ReportKind.STUDENT, session=session, assignment=None,
            requested_by=world.teacher, language="en", paper="a4",
        )  # fmt: skip
        report = services.report_render(report_id=report.pk)
        assert report.status == ReportStatus.SUCCEEDED, report.error
        with report.file.open("rb") as handle:
            text = pdf_text(handle.read())
    assert "1/2 points" in text and "2/2 points" in text


@pytest.mark.django_db
def test_the_item_page_shows_answers_by_score_and_category_curves(
    world, client_for, alpha_teacher, beta_teacher, alpha_student
):
    session = _sitting(world)
    with in_schema(world.school.schema_name):
        attempt = Attempt.objects.filter(session=session, score=1).first()
        item = attempt.item
    page = client_for(alpha_teacher).get(f"/items/{item.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'class="icc ccc"' in text
    assert "Category characteristic curves of" in text
    for k in range(3):
        assert f'class="ccc-{k}"' in text
    assert "Answers by score" in text
    assert "0 to 2 points (partial credit)" in text
    assert text.count('<th scope="row">') >= 3
    assert client_for(beta_teacher).get(f"/items/{item.pk}/").status_code == 404
    assert client_for(alpha_student).get(f"/items/{item.pk}/").status_code in (302, 403)


@pytest.mark.django_db
def test_category_counts_count_each_score(world):
    from dreamseed.itembank.selectors import item_category_counts

    session = _sitting(world)
    with in_schema(world.school.schema_name):
        attempt = Attempt.objects.filter(session=session).order_by("position").first()
        item = Item.objects.select_related("current_version").get(pk=attempt.item_id)
        counts = item_category_counts(item=item, version=item.current_version)
        assert [(row.score, row.count) for row in counts] == [(0, 0), (1, 0), (2, 1)]
        assert counts[2].share == 1.0
        plain = Item(model="3PL", b=0.0)
        assert item_category_counts(item=plain, version=ItemVersion(kind="single")) is None


def test_category_curves_sum_to_one_at_every_theta():
    from dreamseed.cat.polytomous import MODEL_CODES, category_probabilities_scalar
    from dreamseed.itembank.charts import ccc_svg

    svg = ccc_svg(model="GRM", a=1.4, steps=[-1.0, 0.0, 1.2], title="t", labels=["0", "1", "2"])
    assert svg.count("<polyline") == 4 and 'aria-label="t"' in svg
    for theta in (-3.0, 0.0, 2.5):
        row = category_probabilities_scalar(theta, MODEL_CODES["GRM"], 1.4, [-1, 0, 1.2], 0, 1)
        assert sum(row) == pytest.approx(1.0)


@pytest.mark.django_db
def test_statistics_of_a_gpcm_item_leave_out_right_wrong_fit(world):
    from dreamseed.itembank.models import ItemStatistics
    from dreamseed.itembank.statistics import item_statistics_compute

    session = _sitting(world)
    with in_schema(world.school.schema_name):
        assert item_statistics_compute() > 0
        attempt = Attempt.objects.filter(session=session).order_by("position").first()
        statistics = ItemStatistics.objects.get(item_id=attempt.item_id)
        assert statistics.n_responses == 1 and statistics.n_correct == 1  # full credit
        assert statistics.expected_p is None and statistics.infit is None
        assert statistics.misfit is False
