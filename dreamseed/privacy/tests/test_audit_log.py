"""The audit log page and its CSV export: school administrators only, filters, pagination."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dreamseed.privacy.models import AuditAction, AuditEvent, AuditTarget
from dreamseed.privacy.tests.conftest import events
from dreamseed.testing import in_schema, school_client

LOG = "/privacy/audit/"
LOG_CSV = "/privacy/audit.csv"


@pytest.fixture
def logged(school, alpha_teacher, alpha_admin):
    """Three events in alpha: the teacher viewed sam's result (today) and exported the class
    results (today); the admin exported sara's data ten days ago."""
    with in_schema(school.schema):
        session = school.session_of[school.sam.pk]
        rows = [
            AuditEvent.objects.create(
                actor=school.teacher, actor_name="Tomas Teach", action=AuditAction.VIEWED,
                what=AuditTarget.SESSION_RESULT, object_id=session.pk, student=school.sam,
                student_name="Sam Student", path=f"/tests/sessions/{session.pk}/",
            ),
            AuditEvent.objects.create(
                actor=school.teacher, actor_name="Tomas Teach", action=AuditAction.EXPORTED,
                what=AuditTarget.ASSIGNMENT_RESULTS_CSV, object_id=school.assignment.pk,
            ),
            AuditEvent.objects.create(
                actor=alpha_admin.user, actor_name="Alma Admin",
                action=AuditAction.DATA_EXPORT, what=AuditTarget.STUDENT_DATA_EXPORT,
                object_id=school.sara.pk, student=school.sara, student_name="Sara Student",
            ),
        ]  # fmt: skip
        AuditEvent.objects.filter(pk=rows[2].pk).update(
            created_at=timezone.now() - timedelta(days=10)
        )
    return rows


def _shown(response) -> list[int]:
    return [event.pk for event in response.context["page"].object_list]


def test_the_admin_sees_the_log_newest_first(client_for, alpha_admin, logged):
    response = client_for(alpha_admin).get(LOG)
    assert response.status_code == 200
    assert _shown(response) == [logged[1].pk, logged[0].pk, logged[2].pk]
    assert f"Session result #{logged[0].object_id}" in response.text
    assert "Tomas Teach" in response.text and "Sam Student" in response.text


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"student": "sam"}, [0]),
        ({"student": "Sara Stu"}, [2]),
        ({"actor": "alma"}, [2]),
        ({"actor": "teacher@alpha"}, [1, 0]),
        ({"action": "exported"}, [1]),
        ({"date_to": (timezone.localdate() - timedelta(days=5)).isoformat()}, [2]),
        ({"date_from": timezone.localdate().isoformat()}, [1, 0]),
    ],
)
def test_filters(client_for, alpha_admin, logged, query, expected):
    response = client_for(alpha_admin).get(LOG, query)
    assert response.status_code == 200
    assert _shown(response) == [logged[index].pk for index in expected]


def test_the_student_link_filters_by_id(client_for, alpha_admin, logged, school):
    response = client_for(alpha_admin).get(LOG, {"student_id": school.sara.pk})
    assert _shown(response) == [logged[2].pk]


def test_a_reversed_date_range_is_a_field_error(client_for, alpha_admin, logged):
    response = client_for(alpha_admin).get(
        LOG, {"date_from": "2030-01-02", "date_to": "2030-01-01"}
    )
    assert response.status_code == 400
    assert "end date is before the start date" in response.text


def test_the_log_is_paginated(client_for, alpha_admin, school):
    with in_schema(school.schema):
        AuditEvent.objects.bulk_create(
            AuditEvent(actor_name="Bulk", action=AuditAction.VIEWED, what=AuditTarget.CLASS_ROSTER)
            for _ in range(60)
        )
    client = client_for(alpha_admin)
    first = client.get(LOG, {"actor": "Bulk"})
    second = client.get(LOG, {"actor": "Bulk", "page": 2})
    assert len(_shown(first)) == 50 and len(_shown(second)) == 10
    assert "actor=Bulk&amp;page=2" in first.text


def test_the_csv_export_has_the_filtered_rows_and_is_itself_audited(
    client_for, alpha_admin, logged, school
):
    response = client_for(alpha_admin).get(LOG_CSV, {"actor": "Tomas"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["When", "Who", "Action"]
    assert [row[1] for row in rows[1:]] == ["Tomas Teach", "Tomas Teach"]
    assert {row[3] for row in rows[1:]} == {"Session result", "Assignment results CSV"}
    [audit] = events(school.schema, what=AuditTarget.AUDIT_LOG_CSV)
    assert audit.action == AuditAction.EXPORTED and audit.actor_name == "Alma Admin"
    assert audit.path == f"{LOG_CSV}?actor=Tomas"


def test_the_nav_links_the_admin_to_the_log(client_for, alpha_admin, alpha_teacher, school):
    assert reverse("privacy:audit_log") in client_for(alpha_admin).get("/").text
    assert reverse("privacy:audit_log") not in client_for(alpha_teacher).get("/").text


@pytest.mark.parametrize("url", [LOG, LOG_CSV, "/privacy/students/"])
@pytest.mark.parametrize("who", ["alpha_teacher", "alpha_student"])
def test_teachers_and_students_are_refused(client_for, personas, logged, url, who):
    assert client_for(personas[who]).get(url).status_code == 403


@pytest.mark.parametrize("url", [LOG, LOG_CSV, "/privacy/students/"])
def test_anonymous_visitors_are_sent_to_sign_in(logged, url):
    response = school_client("alpha.localhost").get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_schools_admin_sees_only_their_own_log(client_for, beta_admin, logged):
    response = client_for(beta_admin).get(LOG)
    assert response.status_code == 200
    assert "Sam Student" not in response.text and "Tomas Teach" not in response.text
    exported = client_for(beta_admin).get(LOG_CSV)
    assert b"Tomas Teach" not in b"".join(exported.streaming_content)


def test_another_schools_admin_is_not_signed_in_at_this_school(personas, logged):
    client = school_client("alpha.localhost", None)
    beta = personas["beta_admin"]
    with in_schema(beta.schema_name):
        client.force_login(beta.user, backend="dreamseed.accounts.backends.AccountBackend")
    response = client.get(LOG)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_csv_never_carries_a_spreadsheet_formula(client_for, alpha_admin, school):
    with in_schema(school.schema):
        AuditEvent.objects.create(
            actor_name="=HYPERLINK(\"http://evil\")", action=AuditAction.VIEWED,
            what=AuditTarget.CLASS_ROSTER, student_name="@SUM(A1)",
        )  # fmt: skip
    response = client_for(alpha_admin).get(LOG_CSV)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    [row] = [row for row in rows if "HYPERLINK" in row[1]]
    assert row[1].startswith("'=") and row[5] == "'@SUM(A1)"
