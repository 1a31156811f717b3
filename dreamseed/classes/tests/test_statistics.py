"""Per-class and per-student statistics: computed by the database, shown without made-up exam
numbers until the assessments app records exams."""

from datetime import timedelta

from django.utils import timezone

from dreamseed.accounts.models import User
from dreamseed.classes.models import Class
from dreamseed.classes.selectors import class_statistics, student_statistics
from dreamseed.classes.tests.conftest import make_class, make_students
from dreamseed.testing import in_schema


def _sign_in_at(persona, users, when):
    with in_schema(persona.schema_name):
        User.objects.filter(pk__in=[user.pk for user in users]).update(last_login=when)


def test_class_statistics_are_aggregated_in_one_query(
    alpha_teacher, math_class, django_assert_max_num_queries
):
    recent, old = timezone.now() - timedelta(days=1), timezone.now() - timedelta(days=90)
    pupils = make_students(alpha_teacher, 4, school_class=math_class)
    _sign_in_at(alpha_teacher, pupils[:2], recent)
    _sign_in_at(alpha_teacher, pupils[2:3], old)
    empty = make_class(alpha_teacher, "Empty")
    # One SELECT (django-tenants puts a SET search_path before it).
    with in_schema(alpha_teacher.schema_name), django_assert_max_num_queries(2):
        rows = {c.name: c for c in class_statistics(classes=Class.objects.all())}
    assert rows["Math 5A"].student_count == 5
    assert rows["Math 5A"].active_student_count == 2
    assert rows["Math 5A"].latest_activity == recent
    assert (rows["Empty"].student_count, rows["Empty"].latest_activity) == (0, None)
    assert empty.pk in {c.pk for c in rows.values()}


def test_student_statistics_count_active_classes_only(alpha_teacher, alpha_student, math_class):
    other = make_class(alpha_teacher, "Old class", students=[alpha_student])
    make_class(alpha_teacher, "Third", students=[alpha_student])
    with in_schema(alpha_teacher.schema_name):
        other.archive()
        (row,) = student_statistics(students=User.objects.filter(pk=alpha_student.user_id))
    assert row.class_count == 2


def test_the_statistics_pages_without_tests_show_what_exists_and_no_invented_exam_numbers(
    client_for, alpha_teacher, alpha_student, math_class
):
    _sign_in_at(alpha_teacher, [alpha_student.user], timezone.now())
    client = client_for(alpha_teacher)
    overview = client.get("/classes/statistics/")
    (row,) = overview.context["classes"]
    assert (row.student_count, row.active_student_count) == (1, 1)
    assert row.results.pairs == 0 and not row.results.has_results
    assert "No tests assigned yet." in overview.text

    per_class = client.get(f"/classes/{math_class.pk}/statistics/")
    assert per_class.context["summary"]["student_count"] == 1
    (student,) = per_class.context["students"]
    assert student.username == "sam" and student.score is None and student.rank is None
    assert per_class.text.count("No test has been assigned to this class yet.") == 1

    per_student = client.get(f"/classes/students/{alpha_student.user_id}/")
    assert per_student.context["stats"].class_count == 1
    assert [c.name for c in per_student.context["classes"]] == ["Math 5A"]
    assert per_student.context["sittings"] == []
    for page in (overview, per_class, per_student):
        assert 'class="later"' not in page.text
        assert "mean 0" not in page.text.lower()  # never a made-up zero


def test_a_teacher_sees_only_their_classes_in_statistics(
    client_for, alpha_teacher, math_class, art_class
):
    page = client_for(alpha_teacher).get("/classes/statistics/")
    assert [c.name for c in page.context["classes"]] == ["Math 5A"]


def test_class_statistics_page_with_40_students_has_a_fixed_number_of_queries(
    client_for, alpha_teacher, math_class, django_assert_max_num_queries
):
    make_students(alpha_teacher, 40, school_class=math_class)
    client = client_for(alpha_teacher)
    client.get(f"/classes/{math_class.pk}/statistics/")
    # SET search_path x2, domain, user, class, its teachers, summary, per-student table: 8
    # (one spare for a cold cache), plus the audit log's row for a staff view of student data
    # (its savepoint and INSERT inside the test's transaction): 11; plus the results: summary,
    # tests, students (areas only once someone has finished a test): 14.
    with django_assert_max_num_queries(14):
        page = client.get(f"/classes/{math_class.pk}/statistics/")
    assert len(page.context["students"]) == 41


def test_statistics_overview_query_count_does_not_grow_with_classes(
    client_for, alpha_admin, alpha_teacher, django_assert_max_num_queries
):
    for index in range(10):
        school_class = make_class(alpha_teacher, f"Class {index}")
        make_students(alpha_teacher, 5, prefix=f"c{index}-", school_class=school_class)
    client = client_for(alpha_admin)
    client.get("/classes/statistics/")
    # SET x2, domain, user, classes with their aggregates, teachers, results of every class:
    # 7 (+1 spare).
    with django_assert_max_num_queries(8):
        page = client.get("/classes/statistics/")
    assert len(page.context["classes"]) == 10


def test_class_list_and_dashboards_query_counts_do_not_grow(
    client_for, alpha_admin, alpha_teacher, alpha_student, django_assert_max_num_queries
):
    for index in range(10):
        school_class = make_class(alpha_teacher, f"Class {index}", students=[alpha_student])
        make_students(alpha_teacher, 4, prefix=f"c{index}-", school_class=school_class)
    # SET x2, domain, user, classes with counts, their teachers: 6 (+1 spare) on each page; the
    # teacher's home adds what needs attention: open tests, recent sittings, falls beyond error.
    for persona, url, limit in [
        (alpha_admin, "/classes/", 7),
        (alpha_teacher, "/", 10),
        (alpha_student, "/", 7),
        (alpha_student, "/classes/mine/", 7),
    ]:
        client = client_for(persona)
        client.get(url)
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200
