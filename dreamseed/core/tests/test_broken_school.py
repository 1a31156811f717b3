"""One broken school (a row whose schema has no school tables, as the `information_schema` school
made before signup refused it) must not take down what runs over every school: /metrics and the
beat jobs."""

import logging

import pytest
from django.db import connection

from dreamseed.assessments import tasks as assessment_tasks
from dreamseed.core import sweeps
from dreamseed.core.tenancy import school_schemas_in_service
from dreamseed.itembank import tasks as itembank_tasks
from dreamseed.reports import tasks as report_tasks
from dreamseed.schools.models import Domain, School


@pytest.fixture
def broken_school(db, personas):
    # bulk_create skips School.save(), which now refuses such a row: this is one made before.
    (school,) = School.objects.bulk_create([School(schema_name="information_schema", name="Bad")])
    Domain.objects.create(domain="information-schema.localhost", tenant=school, is_primary=True)
    with connection.cursor() as cursor:
        # And one whose schema was dropped by hand.
        cursor.execute("CREATE SCHEMA gone_school")
    School.objects.bulk_create([School(schema_name="gone_school", name="Gone")])
    return school


def test_metrics_answer_with_a_broken_school(client_for, broken_school, alpha_admin, caplog):
    with caplog.at_level(logging.WARNING):
        response = client_for(host="10.0.0.1").get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'dreamseed_active_exam_sessions{school="alpha"}' in body
    assert 'school="information_schema"' not in body
    assert "information_schema" in caplog.text  # the operator learns which one


def test_metrics_answer_even_when_the_sessions_query_fails(
    client_for, alpha_admin, monkeypatch, caplog
):
    from dreamseed.core import metrics

    monkeypatch.setattr(metrics, "_active_cache", (0.0, []))
    monkeypatch.setattr(
        metrics, "school_schemas_in_service", lambda: ["alpha", "no_such_schema_at_all"]
    )
    with caplog.at_level(logging.ERROR):
        response = client_for(host="10.0.0.1").get("/metrics")
    assert response.status_code == 200
    assert "dreamseed_http_request_duration_seconds" in response.content.decode()
    assert "active exam sessions" in caplog.text


def test_schools_in_service_leave_out_broken_ones(broken_school):
    schemas = school_schemas_in_service()
    assert {"alpha", "beta"} <= set(schemas)
    assert "information_schema" not in schemas
    assert "gone_school" not in schemas
    assert "public" not in schemas and "template_school" not in schemas


@pytest.mark.parametrize(
    "entry_point",
    [
        assessment_tasks.sessions_expire_every_school,
        itembank_tasks.item_statistics_refresh_all_schools,
        itembank_tasks.pilot_calibration_check_all_schools,
        report_tasks.report_files_cleanup_all_schools,
        report_tasks.teacher_digest_send_all_schools,
    ],
)
def test_the_passes_over_every_school_skip_a_broken_school(broken_school, monkeypatch, entry_point):
    sent = []
    monkeypatch.setattr(sweeps.sweep_batch, "apply_async", lambda args, **kw: sent.extend(args[1]))
    assert entry_point() == len(sent)
    assert {"alpha", "beta"} <= set(sent)
    assert "information_schema" not in sent and "gone_school" not in sent
