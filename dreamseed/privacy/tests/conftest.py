"""A school with student data to look at: in alpha, alpha_teacher's class with sam and sara,
finished sittings for both, a ready student report for each, and sam's LMS identity."""

from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from dreamseed.assessments.models import Accommodation
from dreamseed.assessments.tests.factories import (
    make_assessment,
    make_assignment,
    make_bank,
    make_class,
)
from dreamseed.lti.models import LtiIdentity, LtiPlatform, Vendor
from dreamseed.privacy.models import AuditEvent
from dreamseed.reports.models import Report, ReportKind, ReportStatus
from dreamseed.reports.tests.factories import make_finished_sessions
from dreamseed.testing import in_schema


@pytest.fixture(autouse=True)
def _media_of_this_run(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _ready_report(session) -> Report:
    report = Report.objects.create(
        kind=ReportKind.STUDENT, session=session, status=ReportStatus.SUCCEEDED, progress=100
    )
    report.file.save(f"student-{session.pk}.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    return report


@pytest.fixture
def school(personas, db):
    alpha = personas["alpha_admin"]
    with in_schema(alpha.schema_name):
        connection.set_tenant(alpha.school)
        teacher = personas["alpha_teacher"].user
        sam, sara = personas["alpha_student"].user, personas["alpha_student2"].user
        items = make_bank(n=20, seed=5)
        school_class = make_class(teacher=teacher, students=[sam, sara], name="Privacy class")
        assessment = make_assessment(author=teacher, name="Privacy test")
        assignment = make_assignment(assessment=assessment, school_class=school_class)
        sessions = make_finished_sessions(
            assignment=assignment, students=[sam, sara], items=items, length=4
        )
        session_of = {session.student_id: session for session in sessions}
        reports = {student.pk: _ready_report(session_of[student.pk]) for student in (sam, sara)}
        Accommodation.objects.create(assignment=assignment, student=sam, extra_time_multiplier=1.5)
        platform = LtiPlatform.objects.create(
            name="Canvas", vendor=Vendor.CANVAS, issuer="https://canvas.example",
            client_id="1", auth_login_url="https://canvas.example/login",
            auth_token_url="https://canvas.example/token",
            key_set_url="https://canvas.example/jwks",
        )  # fmt: skip
        LtiIdentity.objects.create(platform=platform, sub="sam-sub-123", user=sam)
        # Browser tests elsewhere in the run may have committed audit rows: start clean
        # (inside this test's transaction, so nothing is lost).
        AuditEvent.objects.all().delete()
    connection.set_schema_to_public()
    return SimpleNamespace(
        schema=alpha.schema_name,
        teacher=teacher,
        sam=sam,
        sara=sara,
        items=items,
        school_class=school_class,
        assessment=assessment,
        assignment=assignment,
        session_of=session_of,
        report_of=reports,
        platform=platform,
    )


def events(schema: str, **filters) -> list[AuditEvent]:
    with in_schema(schema):
        return list(AuditEvent.objects.filter(**filters).order_by("pk"))
