"""Results where teachers already look: a test's results page, a sitting, the teacher's home;
and the copy fixes found while trying them."""

import re
from datetime import timedelta

from django.utils import timezone

from dreamseed.assessments.models import ExamSession
from dreamseed.core.charts import histogram_chart
from dreamseed.testing import in_schema


def test_the_results_page_lists_who_has_not_started_or_finished(client_for, alpha_teacher, history):
    page = client_for(alpha_teacher).get(f"/tests/assignments/{history.winter.pk}/results/")
    assert page.status_code == 200
    assert [s.username for s in page.context["not_started"]] == ["nora"]
    assert [row.student.username for row in page.context["not_finished"]] == ["uma"]
    assert "Not started (1)" in page.text and "Started, not finished (1)" in page.text
    # The item table shows a plain-text excerpt of the question next to its id.
    assert "Algebra question ALG-0: what is the answer to this long question" in page.text
    assert "<b>what is</b>" not in page.text


def test_the_teachers_view_of_a_sitting_names_the_student_and_shows_question_excerpts(
    client_for, alpha_teacher, history
):
    session = history.sessions["sam_winter"]
    page = client_for(alpha_teacher).get(f"/tests/sessions/{session.pk}/")
    assert "Sam Student's Scale score is most likely between 207 and 213." in page.text
    assert "Your Scale score" not in page.text
    assert "Geometry question PILOT-1" in page.text
    assert 'name="paper"' in page.text  # staff choose the paper size


def test_a_student_result_page_has_no_paper_size_menu(client_for, alpha_student, history):
    session = history.sessions["sam_winter"]
    page = client_for(alpha_student).get(f"/tests/session/{session.pk}/result/")
    assert page.status_code == 200
    assert "Your Scale score is most likely between 207 and 213." in page.text
    assert 'name="paper"' not in page.text and "Letter" not in page.text


def test_histogram_axis_labels_are_never_repeated():
    svg = histogram_chart(
        [172.6, 173.1, 173.4, 173.9, 174.0, 172.9],
        title="t", description="d", x_label="x", y_label="y", bins=6,
    )  # fmt: skip
    labels = re.findall(r'text-anchor="middle" fill="#4d5866">([^<]*)<', svg)
    assert len(labels) >= 2 and len(labels) == len(set(labels))


def test_the_teacher_home_shows_what_needs_attention(client_for, alpha_teacher, history):
    with in_schema(alpha_teacher.schema_name):
        # sara's latest result falls beyond error: 195 -> 183 (theta -0.5 -> -1.7; 1.2 is more
        # than 1.96 * sqrt(0.4^2 + 0.4^2) = 1.11).
        ExamSession.objects.filter(pk=history.sessions["sara_winter"].pk).update(
            theta=-1.7, score=183.0
        )
    client = client_for(alpha_teacher)
    page = client.get("/")
    (open_test,) = page.context["open_tests"]
    assert open_test.assessment.name == "Winter check"
    assert (open_test.not_started_count, open_test.not_started_names) == (1, ["Nora Nosittings"])
    # First visit: the last week. sam and sara finished Winter within it; their answers took
    # 10 s each (history.py), no rapid guesses.
    assert [s.student.username for s in page.context["recent"]] == ["sam", "sara"]
    assert [s.low_effort for s in page.context["recent"]] == [False, False]
    assert [(row["name"], round(row["change"])) for row in page.context["declined"]] == [
        ("Sara Student", -12)
    ]
    assert "1 student has not started: Nora Nosittings" in page.text

    # A reload within the same visit keeps the same "since".
    again = client.get("/")
    assert again.context["since"] == page.context["since"]
    # A visit an hour later counts from the previous visit.
    session = client.session
    session["home_visit_at"] = (timezone.now() - timedelta(hours=1)).isoformat()
    session.save()
    later = client.get("/")
    assert later.context["recent"] == []
    assert "No sitting finished since your last visit." in later.text


def test_the_teacher_home_of_another_teacher_shows_none_of_it(client_for, alpha_teacher2, history):
    page = client_for(alpha_teacher2).get("/")
    assert page.context["open_tests"] == [] and page.context["recent"] == []
    assert page.context["declined"] == []
    assert "Nora" not in page.text


def test_the_class_pdf_report_carries_the_instructional_groups(alpha_teacher, history):
    from dreamseed.reports.selectors import class_report_data

    with in_schema(alpha_teacher.schema_name):
        data = class_report_data(assignment=history.winter, school="Alpha School")
    assert [(g.key, [s.display for s in g.students]) for g in data["groups_by_band"]] == [
        ("middle", ["Sara Student"]),
        ("well_above", ["Sam Student"]),
        ("none", ["Nora Nosittings", "Uma Unfinished"]),
    ]
    # Winter alone has two answers per area for sam: too few to call an area weak.
    assert [(g.key, [s.display for s in g.students]) for g in data["groups_by_area"]] == [
        ("even", ["Sam Student", "Sara Student"]),
        ("none", ["Nora Nosittings", "Uma Unfinished"]),
    ]


def test_the_teacher_home_flags_a_sitting_made_of_rapid_guesses(client_for, alpha_teacher, history):
    from dreamseed.assessments.models import Attempt

    with in_schema(alpha_teacher.schema_name):
        # Every answer of sam's Winter sitting in 0.5 s: far under any item's threshold.
        Attempt.objects.filter(session=history.sessions["sam_winter"]).update(response_time_ms=500)
    page = client_for(alpha_teacher).get("/")
    flags = {s.student.username: (s.low_effort, s.rapid) for s in page.context["recent"]}
    assert flags == {"sam": (True, 5), "sara": (False, 0)}
    assert "flagged: 5 rapid guesses" in page.text
