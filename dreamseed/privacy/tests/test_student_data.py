"""A student's data: the ZIP export and the deletion of the student (admins of the school only)."""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.db import DatabaseError
from rest_framework.authtoken.models import Token

from dreamseed.accounts.models import User
from dreamseed.assessments.models import Accommodation, Attempt, ExamSession
from dreamseed.assessments.tests.factories import make_assignment
from dreamseed.classes.models import Enrollment, StudentProfile
from dreamseed.itembank.models import Item
from dreamseed.lti.models import LtiIdentity
from dreamseed.privacy.models import AuditAction, AuditEvent, AuditTarget
from dreamseed.privacy.tests.conftest import events
from dreamseed.reports.models import Report, ReportKind, ReportStatus
from dreamseed.testing import in_schema


def _export(client, student) -> zipfile.ZipFile:
    response = client.get(f"/privacy/students/{student.pk}/export.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def _json(archive, name):
    return json.loads(archive.read(name))


# --- Export ------------------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_student(client_for, alpha_admin, school):
    sam = school.sam
    session = school.session_of[sam.pk]
    with in_schema(school.schema):
        StudentProfile.objects.create(user=sam, grade="7")
        AuditEvent.objects.create(
            actor=school.teacher, actor_name="Tomas Teach", action=AuditAction.VIEWED,
            what=AuditTarget.SESSION_RESULT, object_id=session.pk, student=sam,
            student_name="Sam Student", ip="198.51.100.7",
        )  # fmt: skip
        attempts = list(Attempt.objects.filter(session=session).order_by("position"))
    archive = _export(client_for(alpha_admin), sam)

    names = set(archive.namelist())
    for table in ["classes", "sessions", "attempts", "accommodations", "reports",
                  "audit_events", "lti_identities", "grade_passbacks"]:  # fmt: skip
        assert {f"{table}.json", f"{table}.csv"} <= names
    assert {"export.json", "profile.json"} <= names

    profile = _json(archive, "profile.json")
    assert (profile["id"], profile["username"], profile["first_name"], profile["grade"]) == (
        sam.pk, "sam", "Sam", "7",
    )  # fmt: skip
    [membership] = _json(archive, "classes.json")
    assert membership["class_name"] == "Privacy class"
    [sitting] = _json(archive, "sessions.json")
    assert (sitting["id"], sitting["test"], sitting["status"]) == (
        session.pk, "Privacy test", "completed",
    )  # fmt: skip
    assert sitting["theta"] == pytest.approx(session.theta)
    answers = _json(archive, "attempts.json")
    assert [(a["item_id"], a["selected_choice"], a["correct"]) for a in answers] == [
        (a.item_id, a.selected_choice, a.correct) for a in attempts
    ]
    assert answers[0]["response_time_ms"] == attempts[0].response_time_ms
    assert answers[-1]["theta_after"] == pytest.approx(attempts[-1].theta_after)
    [report] = _json(archive, "reports.json")
    assert report["id"] == school.report_of[sam.pk].pk
    [identity] = _json(archive, "lti_identities.json")
    assert (identity["platform"], identity["sub"]) == ("Canvas", "sam-sub-123")
    [accommodation] = _json(archive, "accommodations.json")
    assert accommodation["extra_time_multiplier"] == 1.5
    [seen] = _json(archive, "audit_events.json")
    assert (seen["who"], seen["action"], seen["what"]) == (
        "Tomas Teach",
        "viewed",
        "session_result",
    )
    assert "198.51.100.7" not in archive.read("audit_events.json").decode()  # staff's address

    rows = list(csv.DictReader(io.StringIO(archive.read("attempts.csv").decode())))
    assert len(rows) == len(attempts)
    assert rows[0]["correct"] in ("True", "False") and rows[0]["item_id"] == str(
        attempts[0].item_id
    )


def test_the_export_contains_nobody_elses_data(client_for, alpha_admin, school):
    sara_session = school.session_of[school.sara.pk]
    with in_schema(school.schema):
        AuditEvent.objects.create(
            actor_name="Tomas Teach", action=AuditAction.VIEWED, what=AuditTarget.STUDENT_PAGE,
            student=school.sara, student_name="Sara Student",
        )  # fmt: skip
        sara_attempt_ids = set(Attempt.objects.filter(session=sara_session).values_list("pk"))
    archive = _export(client_for(alpha_admin), school.sam)
    everything = "\n".join(archive.read(name).decode() for name in archive.namelist())
    assert "sara" not in everything.lower()
    assert [s["id"] for s in _json(archive, "sessions.json")] == [
        school.session_of[school.sam.pk].pk
    ]
    assert {a["session_id"] for a in _json(archive, "attempts.json")} == {
        school.session_of[school.sam.pk].pk
    }
    assert sara_attempt_ids  # sara has answers; none of them were exported


def test_the_export_is_audited_as_a_data_export(client_for, alpha_admin, school):
    _export(client_for(alpha_admin), school.sam)
    [event] = events(school.schema, action=AuditAction.DATA_EXPORT)
    assert (event.student_id, event.student_name, event.actor_name) == (
        school.sam.pk, "Sam Student", "Alma Admin",
    )  # fmt: skip


def test_the_student_page_offers_export_and_deletion(client_for, alpha_admin, school):
    response = client_for(alpha_admin).get(f"/privacy/students/{school.sam.pk}/")
    assert response.status_code == 200
    assert f"/privacy/students/{school.sam.pk}/export.zip" in response.text
    assert f"/privacy/students/{school.sam.pk}/delete/" in response.text
    assert response.context["counts"]["sessions"] == 1
    listing = client_for(alpha_admin).get("/privacy/students/", {"q": "sam"})
    assert [student.username for student in listing.context["page"].object_list] == ["sam"]
    # The classes' student page links admins here.
    page = client_for(alpha_admin).get(f"/classes/students/{school.sam.pk}/")
    assert f"/privacy/students/{school.sam.pk}/" in page.text


def test_staff_accounts_are_not_handled_as_students(client_for, alpha_admin, school):
    teacher_id = school.teacher.pk
    client = client_for(alpha_admin)
    for suffix in ["", "export.zip", "delete/"]:
        assert client.get(f"/privacy/students/{teacher_id}/{suffix}").status_code == 404


# --- Deletion ----------------------------------------------------------------------------------


def _holdings(schema, student_id):
    with in_schema(schema):
        return {
            "user": User.objects.filter(pk=student_id).count(),
            "enrollments": Enrollment.objects.filter(student_id=student_id).count(),
            "sessions": ExamSession.objects.filter(student_id=student_id).count(),
            "attempts": Attempt.objects.filter(session__student_id=student_id).count(),
            "reports": Report.objects.filter(session__student_id=student_id).count(),
            "accommodations": Accommodation.objects.filter(student_id=student_id).count(),
            "lti": LtiIdentity.objects.filter(user_id=student_id).count(),
            "tokens": Token.objects.filter(user_id=student_id).count(),
            "profile": StudentProfile.objects.filter(user_id=student_id).count(),
        }


def test_the_confirmation_page_names_the_username(client_for, alpha_admin, school):
    response = client_for(alpha_admin).get(f"/privacy/students/{school.sam.pk}/delete/")
    assert response.status_code == 200
    assert "<strong>sam</strong>" in response.text


@pytest.mark.parametrize("typed", ["", "Sam", "sara", "sam2"])
def test_a_wrong_username_deletes_nothing(client_for, alpha_admin, school, typed):
    before = _holdings(school.schema, school.sam.pk)
    response = client_for(alpha_admin).post(
        f"/privacy/students/{school.sam.pk}/delete/", {"confirm_username": typed}
    )
    assert response.status_code == 400
    assert _holdings(school.schema, school.sam.pk) == before


def test_deleting_removes_the_student_and_everything_about_them(
    client_for, alpha_admin, school, django_capture_on_commit_callbacks, settings
):
    sam_id, sara_id = school.sam.pk, school.sara.pk
    with in_schema(school.schema):
        StudentProfile.objects.create(user=school.sam, grade="7")
        Token.objects.create(user=school.sam)
        AuditEvent.objects.create(
            actor_name="Tomas Teach", action=AuditAction.VIEWED, what=AuditTarget.STUDENT_PAGE,
            student=school.sam, student_name="Sam Student",
        )  # fmt: skip
        report_file = school.report_of[sam_id].file
        assert report_file.storage.exists(report_file.name)
        items_before = Item.objects.count()
        # A class report of a test Sam sat names Sam; one of another assignment does not.
        class_report = Report.objects.create(
            kind=ReportKind.CLASS, assignment=school.assignment, status=ReportStatus.SUCCEEDED
        )
        class_report.file.save("class.pdf", ContentFile(b"%PDF-1.4 class"), save=True)
        class_file = class_report.file
        other = make_assignment(assessment=school.assessment, school_class=school.school_class)
        unrelated = Report.objects.create(
            kind=ReportKind.CLASS, assignment=other, status=ReportStatus.SUCCEEDED
        )
    sara_before = _holdings(school.schema, sara_id)
    assert all(_holdings(school.schema, sam_id).values())

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alpha_admin).post(
            f"/privacy/students/{sam_id}/delete/", {"confirm_username": " sam "}, follow=True
        )
    assert response.redirect_chain[-1][0] == "/privacy/students/"
    assert "Sam Student and all their records were deleted." in response.text

    assert not any(_holdings(school.schema, sam_id).values())
    assert _holdings(school.schema, sara_id) == sara_before
    assert not report_file.storage.exists(report_file.name)
    assert not class_file.storage.exists(class_file.name)
    with in_schema(school.schema):
        assert Item.objects.count() == items_before
        assert not Report.objects.filter(pk=class_report.pk).exists()
        assert Report.objects.filter(pk=unrelated.pk).exists()
    deleted = events(school.schema, action=AuditAction.DELETED)
    assert [(e.student_id, e.student_name, e.object_id, e.actor_name) for e in deleted] == [
        (None, "Sam Student", sam_id, "Alma Admin")
    ]
    # Earlier events keep who it was about, without the link.
    [viewed] = events(school.schema, what=AuditTarget.STUDENT_PAGE)
    assert (viewed.student_id, viewed.student_name) == (None, "Sam Student")


def test_deletion_is_all_or_nothing(client_for, alpha_admin, school, monkeypatch):
    """If the deletion's own audit record cannot be written, nothing is deleted."""
    before = _holdings(school.schema, school.sam.pk)
    original_save = AuditEvent.save

    def failing_save(self, *args, **kwargs):
        if self.action == AuditAction.DELETED:
            raise DatabaseError("disk full")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(AuditEvent, "save", failing_save)
    client = client_for(alpha_admin)
    client.raise_request_exception = False
    response = client.post(
        f"/privacy/students/{school.sam.pk}/delete/", {"confirm_username": "sam"}
    )
    assert response.status_code == 500
    assert _holdings(school.schema, school.sam.pk) == before


@pytest.mark.parametrize("suffix", ["", "export.zip", "delete/"])
def test_teachers_cannot_export_or_delete(client_for, alpha_teacher, school, suffix):
    client = client_for(alpha_teacher)
    url = f"/privacy/students/{school.sam.pk}/{suffix}"
    assert client.get(url).status_code == 403
    assert client.post(url, {"confirm_username": "sam"}).status_code == 403
    assert _holdings(school.schema, school.sam.pk)["user"] == 1


def test_another_schools_admin_cannot_export_or_delete(client_for, beta_admin, school):
    """Ids are per school: at beta's host, alpha's student id names nobody (or a beta person)."""
    from dreamseed.reports.tests.factories import make_students

    with in_schema(school.schema):
        # A student id beyond any of beta's users.
        [target] = make_students(prefix="zz-privacy", count=1)
    client = client_for(beta_admin)
    for suffix in ["", "export.zip", "delete/"]:
        url = f"/privacy/students/{target.pk}/{suffix}"
        assert client.get(url).status_code == 404
        assert client.post(url, {"confirm_username": target.username}).status_code == 404
    with in_schema(school.schema):
        assert User.objects.filter(pk=target.pk).exists()
