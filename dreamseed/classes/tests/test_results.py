"""Results on the class, class statistics, school statistics, groups and student pages: every
number against the hand-computed values of the history in `history.py`."""

import csv
import io
import math

import pytest

from dreamseed.classes import results
from dreamseed.classes.tests.history import make_history
from dreamseed.testing import in_schema


def p(theta):
    return 1 / (1 + math.exp(-theta))


def test_reliable_change_rule():
    # 1.96 * sqrt(0.3^2 + 0.3^2) = 0.8315
    assert results.reliable_change(0.0, 0.3, 0.84, 0.3) is True
    assert results.reliable_change(0.0, 0.3, 0.83, 0.3) is False
    assert results.reliable_change(0.0, 0.3, -0.84, 0.3) is True
    assert results.reliable_change(None, 0.3, 1.0, 0.3) is None


def test_bands_use_the_report_cut_points():
    assert [results.band_of(t) for t in (-1.01, -1.0, -0.36, -0.35, 0.34, 0.35, 0.99, 1.0)] == [
        "well_below", "below", "below", "middle", "middle", "above", "above", "well_above",
    ]  # fmt: skip
    assert results.band_of(None) is None


def test_class_summary_matches_the_hand_computed_history(history, alpha_teacher):
    with in_schema(alpha_teacher.schema_name):
        summary = results.class_summary(school_class=history.school_class)
    assert summary.student_count == 4
    assert summary.tests_assigned == 2
    # 4 students x 2 open tests; sam and sara started both, uma one; four finished.
    assert (summary.pairs, summary.started, summary.completed) == (8, 5, 4)
    assert (summary.in_progress, summary.not_started) == (1, 3)
    # Latest results: sam theta 1.0 (210, se .3), sara -0.2 (198, se .4); uma's unfinished
    # sitting does not count.
    assert summary.students_with_results == 2
    assert summary.mean_theta == pytest.approx(0.4)
    assert summary.median_theta == pytest.approx(0.4)
    assert summary.mean_se == pytest.approx(0.35)
    assert summary.one_scale and summary.scale_name == "Scale score"
    assert summary.mean_score == pytest.approx(204.0)
    assert summary.median_score == pytest.approx(204.0)
    assert summary.mean_scale_se == pytest.approx(3.5)
    assert [(key, count) for key, _label, count in summary.bands] == [
        ("well_below", 0), ("below", 0), ("middle", 1), ("above", 0), ("well_above", 1),
    ]  # fmt: skip
    # Growth: sam +10 (|1.0| > 1.96 * sqrt(.18) = .83: grew); sara +3 (.3 < 1.11: within).
    assert (summary.growth_count, summary.grew, summary.declined) == (2, 1, 0)
    assert summary.mean_change == pytest.approx(6.5)
    assert summary.latest_test == "Winter check"


def test_per_test_rows(history, alpha_teacher):
    with in_schema(alpha_teacher.schema_name):
        winter, fall = results.class_tests(school_class=history.school_class)
    assert winter.assessment_name == "Winter check" and winter.is_open
    assert (winter.pairs, winter.started, winter.completed, winter.not_started) == (4, 3, 2, 1)
    assert winter.mean_score == pytest.approx(204.0)
    assert winter.median_score == pytest.approx(204.0)
    assert winter.mean_scale_se == pytest.approx(3.5)
    assert fall.assessment_name == "Fall check" and not fall.is_open
    assert (fall.pairs, fall.started, fall.completed, fall.not_started) == (4, 2, 2, 2)
    assert fall.mean_score == pytest.approx(197.5)
    assert fall.mean_theta == pytest.approx(-0.25)


def test_per_student_results_growth_rank_and_areas(history, alpha_teacher):
    with in_schema(alpha_teacher.schema_name):
        students = {s.username: s for s in results.class_student_results(
            school_class=history.school_class)}  # fmt: skip
    sam, sara, uma, nora = (students[name] for name in ("sam", "sara", "uma", "nora"))
    assert (sam.finished, sam.in_progress, sam.score, sam.rank) == (2, 0, 210.0, 1)
    assert sam.scale_se == pytest.approx(3.0)
    assert (sam.change, sam.reliable, sam.growth) == (pytest.approx(10.0), True, "up")
    assert (sara.score, sara.rank, sara.growth) == (198.0, 2, "same")
    assert sara.change == pytest.approx(3.0)
    assert (uma.finished, uma.in_progress, uma.score, uma.rank, uma.areas) == (0, 1, None, None, [])
    assert (nora.finished, nora.in_progress, nora.score, nora.growth) == (0, 0, None, "")
    assert (sam.band, sara.band, uma.band) == ("well_above", "middle", None)

    # sam, Algebra: 5 of 6 right; expected 4 * P(0) + 2 * P(1). The pilot item is left out.
    algebra, geometry = sam.areas
    assert (algebra.area, algebra.answers, algebra.correct) == ("Algebra", 6, 5)
    assert algebra.expected == pytest.approx(4 * p(0) + 2 * p(1))
    assert algebra.difference == pytest.approx(100 * 5 / 6 - 100 * (2 + 2 * p(1)) / 6)
    assert (geometry.answers, geometry.correct) == (6, 1)
    assert (algebra.strength, geometry.strength) == ("strong", "weak")
    assert sam.weakest.area == "Geometry"
    # sara: Algebra 3/6 vs 4 P(-.5) + 2 P(-.2) = 40.2%: +9.8, under the 10-point margin;
    # Geometry 2/4 vs 37.8%: +12.2, strong. No weak area.
    s_algebra, s_geometry = sara.areas
    assert s_algebra.expected == pytest.approx(4 * p(-0.5) + 2 * p(-0.2))
    assert (s_algebra.strength, s_geometry.strength, sara.weakest) == ("", "strong", None)

    totals = results.area_totals({s.student_id: s.areas for s in students.values()})
    assert [(t.area, t.answers, t.correct) for t in totals] == [
        ("Algebra", 12, 8), ("Geometry", 10, 3),
    ]  # fmt: skip


def test_groups_by_band_and_by_weakest_area(history, alpha_teacher):
    with in_schema(alpha_teacher.schema_name):
        students = results.class_student_results(school_class=history.school_class)
    by_band = results.groups_by_band(students)
    assert [(g.key, [s.username for s in g.students]) for g in by_band] == [
        ("middle", ["sara"]), ("well_above", ["sam"]), ("none", ["nora", "uma"]),
    ]  # fmt: skip
    by_area = results.groups_by_weakest_area(students)
    assert [(g.label, [s.username for s in g.students]) for g in by_area] == [
        ("Geometry", ["sam"]), ("No clearly weak area", ["sara"]), ("No result yet", ["nora", "uma"]),
    ]  # fmt: skip


def test_a_class_without_sittings_says_so_once(client_for, alpha_teacher):
    from dreamseed.classes.tests.conftest import make_class

    empty = make_class(alpha_teacher, "Empty")
    page = client_for(alpha_teacher).get(f"/classes/{empty.pk}/")
    assert page.context["results"].pairs == 0 and not page.context["results"].has_results
    assert page.text.count("No test has been assigned to this class yet.") == 1
    assert 'class="later"' not in page.text


def test_the_class_page_shows_the_results(client_for, alpha_teacher, history):
    page = client_for(alpha_teacher).get(f"/classes/{history.school_class.pk}/")
    assert page.status_code == 200
    text = page.text
    assert "sittings finished of 8 expected" in text
    assert "mean 204.0, median 204.0 (typical ± 3.5)" in text
    assert "mean 0.40, median 0.40 (typical SE 0.35)" in text
    assert "mean change 6.5; 1 grew and 0 fell" in text
    assert "Winter check" in text and "Fall check" in text
    assert 'class="later"' not in text


def test_the_class_statistics_page_ranks_and_sorts_students(client_for, alpha_teacher, history):
    client = client_for(alpha_teacher)
    page = client.get(f"/classes/{history.school_class.pk}/statistics/?sort=rank")
    assert [s.username for s in page.context["students"]] == ["sam", "sara", "nora", "uma"]
    page = client.get(f"/classes/{history.school_class.pk}/statistics/?sort=-rank")
    assert [s.username for s in page.context["students"]] == ["sara", "sam", "nora", "uma"]
    page = client.get(f"/classes/{history.school_class.pk}/statistics/?sort=nonsense")
    assert [s.username for s in page.context["students"]] == ["nora", "sam", "sara", "uma"]
    assert [(a.area, a.answers) for a in page.context["areas"]] == [
        ("Algebra", 12), ("Geometry", 10),
    ]  # fmt: skip
    assert "Rank" in page.text and 'class="later"' not in page.text
    assert "(+1 unfinished)" in page.text


def test_school_statistics_per_class(client_for, alpha_admin, history):
    page = client_for(alpha_admin).get("/classes/statistics/")
    (row,) = [c for c in page.context["classes"] if c.pk == history.school_class.pk]
    assert (row.results.completed, row.results.not_started) == (4, 3)
    assert row.results.mean_score == pytest.approx(204.0)
    assert "204.0 (204.0)" in page.text and "0.40 (0.40) ± 0.35" in page.text
    assert "6.5; 1 of 2 grew" in page.text
    assert 'class="later"' not in page.text
    # Content areas per class: the class's own totals (hand-checked in the test above), in one
    # statement for every class.
    assert [(a.area, a.answers, a.correct) for a in row.areas] == [
        ("Algebra", 12, 8), ("Geometry", 10, 3),
    ]  # fmt: skip
    with in_schema(alpha_admin.schema_name):
        students = results.class_student_results(school_class=history.school_class)
    totals = results.area_totals({s.student_id: s.areas for s in students})
    assert [a.expected for a in row.areas] == pytest.approx([t.expected for t in totals])
    assert [a.strength for a in row.areas] == [t.strength for t in totals]
    assert row.weak_areas == [a for a in row.areas if a.strength == "weak"]
    assert "Content areas" in page.text


def test_groups_page_and_csv(client_for, alpha_teacher, history):
    client = client_for(alpha_teacher)
    page = client.get(f"/classes/{history.school_class.pk}/groups/")
    assert page.status_code == 200
    assert "By achievement band" in page.text and "By weakest content area" in page.text
    assert "data-print" in page.text
    response = client.get(f"/classes/{history.school_class.pk}/groups.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    band_rows = [(r["group"], r["username"], r["score"]) for r in rows if r["grouping"] == "band"]
    assert band_rows == [
        ("Around average", "sara", "198.0"), ("Well above average", "sam", "210.0"),
        ("No result yet", "nora", ""), ("No result yet", "uma", ""),
    ]  # fmt: skip
    area_rows = [(r["group"], r["username"]) for r in rows if r["grouping"] == "weakest_area"]
    assert area_rows[0] == ("Geometry", "sam")
    assert {r["weakest_area"] for r in rows if r["username"] == "sam"} == {"Geometry"}


def test_the_student_page_shows_history_growth_areas_and_open_tests(
    client_for, alpha_teacher, alpha_student, history
):
    page = client_for(alpha_teacher).get(f"/classes/students/{alpha_student.user_id}/")
    assert page.status_code == 200
    winter, fall = page.context["sittings"]
    assert (winter.session.score, winter.change, winter.reliable) == (210.0, 10.0, True)
    assert (winter.band_low, winter.band_high) == (pytest.approx(207.0), pytest.approx(213.0))
    assert (fall.change, fall.reliable) == (None, None)
    (series,) = page.context["growth"]
    assert series.change == pytest.approx(10.0) and series.reliable is True
    assert "<svg" in page.text and "Scale score over time" in page.text
    assert [a.area for a in page.context["weak_areas"]] == ["Geometry"]
    assert [a.area for a in page.context["strong_areas"]] == ["Algebra"]
    (open_test,) = page.context["open_tests"]
    assert open_test.assessment.name == "Winter check" and open_test.attempts_used == 1
    assert 'class="later"' not in page.text


def test_student_pages_of_a_student_without_sittings_and_with_an_unfinished_one(
    client_for, alpha_teacher, history
):
    client = client_for(alpha_teacher)
    nora = client.get(f"/classes/students/{history.nora.pk}/")
    assert nora.context["sittings"] == [] and nora.context["growth"] == []
    assert "has not started a test in your classes" in nora.text
    uma = client.get(f"/classes/students/{history.uma.pk}/")
    (sitting,) = uma.context["sittings"]
    assert sitting.session.status == "in_progress" and uma.context["growth"] == []
    assert uma.context["areas"] == []
    (open_test,) = uma.context["open_tests"]
    assert open_test.unfinished == 1
    assert "started, not finished" in uma.text


def test_a_student_sees_only_their_own_history(client_for, alpha_student, history):
    page = client_for(alpha_student).get("/classes/mine/results/")
    assert page.status_code == 200
    assert {s.session.student_id for s in page.context["sittings"]} == {alpha_student.user_id}
    assert len(page.context["sittings"]) == 2
    assert "Scale score over time" in page.text
    assert "Rank" not in page.text


def test_a_student_does_not_see_results_the_teacher_keeps_hidden(
    client_for, alpha_teacher, alpha_student, alpha_student2
):
    with in_schema(alpha_teacher.schema_name):
        make_history(
            teacher=alpha_teacher.user,
            sam=alpha_student.user,
            sara=alpha_student2.user,
            show_results=False,
        )
    page = client_for(alpha_student).get("/classes/mine/results/")
    assert page.context["growth"] == []
    assert all(not s.visible for s in page.context["sittings"])
    assert "210" not in page.text and "Your teacher will share this result." in page.text


def test_another_teacher_and_another_school_see_nothing(
    client_for, alpha_teacher2, beta_teacher, alpha_student, history
):
    for client in (client_for(alpha_teacher2), client_for(beta_teacher)):
        for url in (
            f"/classes/{history.school_class.pk}/groups/",
            f"/classes/{history.school_class.pk}/groups.csv",
            f"/classes/{history.school_class.pk}/statistics/",
            f"/classes/students/{alpha_student.user_id}/",
        ):
            assert client.get(url).status_code == 404, url
    overview = client_for(alpha_teacher2).get("/classes/statistics/")
    assert history.school_class.pk not in [c.pk for c in overview.context["classes"]]


def test_an_admin_sees_every_class_and_student(client_for, alpha_admin, alpha_student, history):
    client = client_for(alpha_admin)
    assert client.get(f"/classes/{history.school_class.pk}/groups/").status_code == 200
    page = client.get(f"/classes/students/{alpha_student.user_id}/")
    assert len(page.context["sittings"]) == 2


# Every page: SET search_path x2, domain, user, then its own statements, then the audit row of a
# staff view of student data (savepoint, INSERT, release inside the test's transaction).
QUERY_BUDGETS = [
    # class, teachers, roster count and page, results summary, tests table
    ("/classes/{pk}/", 13),
    # class, teachers, sign-in summary, results summary, tests, students, areas
    ("/classes/{pk}/statistics/", 14),
    # class, teachers, students, areas
    ("/classes/{pk}/groups/", 11),
    # student, sign-in numbers, classes, sittings, areas, open tests
    ("/classes/students/{student}/", 14),
    # classes with sign-in numbers, their teachers, results and content areas of every class
    # (no audit row)
    ("/classes/statistics/", 8),
    # the API: class, teachers, summary, tests, students, areas, audit row
    ("/api/classes/{pk}/statistics/", 13),
    # student, sittings, classes, areas, audit row
    ("/api/students/{student}/results/", 11),
]


@pytest.mark.parametrize(("url", "limit"), QUERY_BUDGETS)
def test_results_pages_have_a_fixed_number_of_queries(
    client_for, alpha_teacher, alpha_student, history, django_assert_max_num_queries, url, limit
):
    """The same budget with 4 students or 34: no query per student or per sitting."""
    from dreamseed.classes.tests.conftest import make_students

    make_students(alpha_teacher, 30, school_class=history.school_class)
    url = url.format(pk=history.school_class.pk, student=alpha_student.user_id)
    client = client_for(alpha_teacher)
    client.get(url)
    with django_assert_max_num_queries(limit):
        assert client.get(url).status_code == 200


def test_the_class_page_lists_the_newest_tests_only(client_for, alpha_teacher, history):
    from datetime import timedelta

    from django.utils import timezone

    from dreamseed.assessments.models import Assignment

    with in_schema(alpha_teacher.schema_name):
        for days in range(5):
            Assignment.objects.create(
                assessment=history.fall.assessment,
                school_class=history.school_class,
                opens_at=timezone.now() - timedelta(days=100 + days),
                closes_at=timezone.now() - timedelta(days=90),
            )
    page = client_for(alpha_teacher).get(f"/classes/{history.school_class.pk}/")
    assert len(page.context["tests"]) == 5 and page.context["more_tests"]
    assert "The 5 newest of 7 tests" in page.text
