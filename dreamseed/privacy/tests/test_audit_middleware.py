"""The audit middleware: a row for each registered route staff open, none for students, and
never a broken response."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from dreamseed.privacy.models import AuditAction, AuditTarget
from dreamseed.privacy.routes import AUDITED_ROUTES
from dreamseed.privacy.tests.conftest import events
from dreamseed.testing import in_schema

# view name -> (who opens it, URL kwargs from the school fixture, the student it is about)
CASES = {
    "assessments:session": ("alpha_teacher", lambda s: {"pk": s.session_of[s.sam.pk].pk}, "sam"),
    "assessments:assignment": ("alpha_teacher", lambda s: {"pk": s.assignment.pk}, None),
    "assessments:results": ("alpha_teacher", lambda s: {"pk": s.assignment.pk}, None),
    "assessments:results_csv": ("alpha_teacher", lambda s: {"pk": s.assignment.pk}, None),
    "classes:detail": ("alpha_teacher", lambda s: {"pk": s.school_class.pk}, None),
    "classes:class_statistics": ("alpha_teacher", lambda s: {"pk": s.school_class.pk}, None),
    "classes:groups": ("alpha_teacher", lambda s: {"pk": s.school_class.pk}, None),
    "classes:groups_csv": ("alpha_teacher", lambda s: {"pk": s.school_class.pk}, None),
    "classes:slips": ("alpha_teacher", lambda s: {"pk": s.school_class.pk}, None),
    "classes:student": ("alpha_teacher", lambda s: {"pk": s.sam.pk}, "sam"),
    "classes:student_password": ("alpha_teacher", lambda s: {"pk": s.sam.pk}, "sam"),
    "reports:download": ("alpha_teacher", lambda s: {"pk": s.report_of[s.sam.pk].pk}, "sam"),
    "api:student-list": ("alpha_teacher", lambda s: {}, None),
    "api:student-detail": ("alpha_teacher", lambda s: {"pk": s.sam.pk}, "sam"),
    "api:class-statistics": ("alpha_teacher", lambda s: {"class_id": s.school_class.pk}, None),
    "api:student-results": ("alpha_teacher", lambda s: {"student_id": s.sam.pk}, "sam"),
    "api:class-enrollments": ("alpha_teacher", lambda s: {"class_id": s.school_class.pk}, None),
    "privacy:student": ("alpha_admin", lambda s: {"pk": s.sam.pk}, "sam"),
    "privacy:student_export": ("alpha_admin", lambda s: {"pk": s.sam.pk}, "sam"),
    "privacy:audit_log_csv": ("alpha_admin", lambda s: {}, None),
}


def _view_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            names |= _view_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(namespace + entry.name)
    return names


def _consume(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def test_every_audited_route_exists_and_is_tested():
    assert set(AUDITED_ROUTES) <= _view_names()
    assert set(CASES) == set(AUDITED_ROUTES)


@pytest.mark.parametrize("view_name", sorted(CASES))
def test_staff_opening_a_registered_route_leaves_one_audit_row(
    client_for, personas, school, view_name
):
    who, kwargs, about = CASES[view_name]
    url = reverse(view_name, kwargs=kwargs(school))
    response = client_for(personas[who]).get(url, REMOTE_ADDR="203.0.113.9")
    _consume(response)
    assert response.status_code == 200, url

    route = AUDITED_ROUTES[view_name]
    [event] = events(school.schema, what=route.what)
    actor = personas[who]
    assert event.actor_id == actor.user_id
    assert event.actor_name == ("Tomas Teach" if who == "alpha_teacher" else "Alma Admin")
    assert event.action == route.action
    assert event.path == url
    assert event.ip == "203.0.113.9"
    assert event.request_id == response["X-Request-ID"]
    expected_object = kwargs(school).get(route.object_kwarg) if route.object_kwarg else None
    assert event.object_id == expected_object
    if about == "sam":
        assert (event.student_id, event.student_name) == (school.sam.pk, "Sam Student")
    else:
        assert (event.student_id, event.student_name) == (None, "")


def test_the_description_names_what_and_which(client_for, alpha_teacher, school):
    session = school.session_of[school.sam.pk]
    client_for(alpha_teacher).get(reverse("assessments:session", kwargs={"pk": session.pk}))
    [event] = events(school.schema)
    assert event.description == f"Session result #{session.pk}"


def test_a_class_report_download_names_no_student(client_for, alpha_teacher, school):
    from django.core.files.base import ContentFile

    from dreamseed.reports.models import Report, ReportKind, ReportStatus

    with in_schema(school.schema):
        report = Report.objects.create(
            kind=ReportKind.CLASS, assignment=school.assignment, status=ReportStatus.SUCCEEDED
        )
        report.file.save("class.pdf", ContentFile(b"%PDF-1.4"), save=True)
    response = client_for(alpha_teacher).get(reverse("reports:download", args=[report.pk]))
    _consume(response)
    assert response.status_code == 200
    [event] = events(school.schema)
    assert (event.action, event.object_id, event.student_id) == (
        AuditAction.DOWNLOADED,
        report.pk,
        None,
    )


def test_students_seeing_their_own_data_are_not_audited(client_for, alpha_student, school):
    client = client_for(alpha_student)
    session = school.session_of[school.sam.pk]
    for url in [
        reverse("assessments:result", args=[session.pk]),
        reverse("reports:download", args=[school.report_of[school.sam.pk].pk]),
        reverse("assessments:mine"),
        reverse("classes:mine"),
    ]:
        response = client.get(url)
        _consume(response)
        assert response.status_code == 200, url
    assert events(school.schema) == []


def test_unaudited_requests_do_not_touch_the_audit_table(client_for, alpha_student, school):
    with CaptureQueriesContext(connection) as queries:
        client_for(alpha_student).get(reverse("assessments:mine"))
    assert not [q for q in queries.captured_queries if "privacy_auditevent" in q["sql"]]


@pytest.mark.parametrize("who", ["alpha_teacher2", "alpha_student"])
def test_refused_requests_are_not_audited(client_for, personas, school, who):
    """alpha_teacher2 does not teach the class (404); a student is refused (403)."""
    session = school.session_of[school.sam.pk]
    response = client_for(personas[who]).get(reverse("assessments:session", args=[session.pk]))
    assert response.status_code in (403, 404)
    assert events(school.schema) == []


def test_writes_on_an_audited_route_name_are_not_disclosures(client_for, alpha_teacher, school):
    """POSTing a new student to /api/students/ shares the list's route name: not recorded."""
    response = client_for(alpha_teacher).post(
        reverse("api:student-list"),
        {"first_name": "New", "last_name": "Kid", "username": "newkid"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert events(school.schema) == []


def test_recording_is_one_insert_and_nothing_else(client_for, alpha_teacher, school):
    url = reverse("assessments:session", args=[school.session_of[school.sam.pk].pk])
    without_audit = [m for m in settings.MIDDLEWARE if "privacy" not in m]
    with override_settings(MIDDLEWARE=without_audit):
        # A client keeps the middleware it was first used with: one client per configuration.
        plain_client = client_for(alpha_teacher)
        plain_client.get(url)  # warm up: the session and the school's host lookup are cached now
        with CaptureQueriesContext(connection) as plain:
            plain_client.get(url)
    audited_client = client_for(alpha_teacher)
    audited_client.get(url)
    with CaptureQueriesContext(connection) as audited:
        audited_client.get(url)

    def statements(captured):
        return [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]

    extra = len(statements(audited.captured_queries)) - len(statements(plain.captured_queries))
    inserts = [q for q in statements(audited.captured_queries) if "privacy_auditevent" in q]
    assert extra == 1
    assert len(inserts) == 1 and inserts[0].startswith('INSERT INTO "privacy_auditevent"')
    assert [event.student_id for event in events(school.schema)] == [school.sam.pk] * 2


def test_a_failing_audit_write_never_breaks_the_response(client_for, alpha_teacher, school):
    with in_schema(school.schema), connection.cursor() as cursor:
        # Inside this test's transaction: rolled back with it.
        cursor.execute("ALTER TABLE privacy_auditevent RENAME TO privacy_auditevent_gone")
    url = reverse("assessments:session", args=[school.session_of[school.sam.pk].pk])
    response = client_for(alpha_teacher).get(url)
    assert response.status_code == 200
    assert "Sam" in response.text
    # The failed INSERT had its own savepoint: the connection is still usable.
    with in_schema(school.schema), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE privacy_auditevent_gone RENAME TO privacy_auditevent")
    assert events(school.schema) == []


def test_another_schools_staff_leave_rows_only_in_their_own_school(client_for, beta_admin, school):
    response = client_for(beta_admin).get(reverse("api:student-list"))
    assert response.status_code == 200
    assert events(school.schema) == []
    [event] = events(
        beta_admin.schema_name,
        what=AuditTarget.API_STUDENTS,
        request_id=response["X-Request-ID"],
    )
    assert event.actor_name == "Bela Admin"
