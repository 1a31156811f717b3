"""The beat jobs: clean-up of expired report files, and the weekly digest email to teachers."""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from dreamseed.accounts.models import User
from dreamseed.assessments.models import ExamSession
from dreamseed.celery import app
from dreamseed.reports import services, tasks
from dreamseed.reports.models import DigestDelivery, Report, ReportKind, ReportStatus
from dreamseed.reports.tests.conftest import tenant


def _made_report(world, **fields):
    with tenant(world):
        report = services.report_request(
            kind=ReportKind.CLASS, assignment=world.assignment, requested_by=world.teacher
        )
        report = services.report_render(report_id=report.pk)
        Report.objects.filter(pk=report.pk).update(**fields)
        report.refresh_from_db()
        return report


def test_cleanup_removes_expired_files_and_keeps_fresh_ones(client_for, alpha_teacher, class_world):
    old = _made_report(class_world, expires_at=timezone.now() - timedelta(minutes=1))
    with tenant(class_world):
        fresh = services.report_request(
            kind=ReportKind.CLASS_BUNDLE, assignment=class_world.assignment,
            requested_by=class_world.teacher,
        )  # fmt: skip
        fresh = services.report_render(report_id=fresh.pk)
        old_path = old.file.path
        removed = services.report_files_cleanup()
        assert removed >= 1
        old.refresh_from_db()
        fresh.refresh_from_db()
        assert old.status == ReportStatus.EXPIRED and not old.file
        assert fresh.status == ReportStatus.SUCCEEDED and fresh.file.storage.exists(fresh.file.name)
    assert not default_storage.exists(old_path)
    client = client_for(alpha_teacher)
    assert client.get(f"/reports/{old.pk}/download/").status_code == 404
    html = client.get(f"/reports/{old.pk}/").content.decode()
    assert "removed after some days" in html and f'action="/reports/{old.pk}/retry/"' in html
    # Running it again changes nothing.
    with tenant(class_world):
        assert services.report_files_cleanup() == 0


def test_cleanup_removes_files_no_report_points_to(class_world):
    with tenant(class_world):
        report = _made_report(class_world)
        folder = report.file.name.rsplit("/", 1)[0]
        orphan = default_storage.save(f"{folder}/class-999999.pdf", ContentFile(b"%PDF-old"))
        # Rows deleted with their session or assignment leave their files behind.
        assert services.report_files_cleanup(orphan_grace=timedelta(days=1)) == 0
        assert default_storage.exists(orphan)
        later = timezone.now() + timedelta(days=2)
        Report.objects.filter(pk=report.pk).update(expires_at=later + timedelta(days=7))
        # (>= 1: files of reports made by earlier tests, whose rows were rolled back, go too)
        assert services.report_files_cleanup(now=later) >= 1
        assert not default_storage.exists(orphan)
        assert default_storage.exists(report.file.name)


def test_weekly_digest_emails_each_teacher_once(class_world, mailoutbox):
    with tenant(class_world):
        teacher = User.objects.get(pk=class_world.teacher.pk)
        now = timezone.now()
        # Finished last week (the fixture's sittings ended minutes ago: move them back a day).
        ExamSession.objects.filter(assignment=class_world.assignment).update(
            ended_at=now - timedelta(days=1)
        )
        sent = services.teacher_digest_send(now=now)
        assert sent == 1
        assert services.teacher_digest_send(now=now) == 0  # safe to run twice
        assert DigestDelivery.objects.filter(user=teacher).count() == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [teacher.email]
    assert "Alpha School" in mail.subject
    assert "Fractions check-in · Math 7" in mail.body
    assert "8 finished this week" in mail.body
    assert (
        f"http://alpha.localhost:8000/tests/assignments/{class_world.assignment.pk}/results/"
        in (mail.body)
    )


def test_teachers_without_results_last_week_get_no_digest(class_world, mailoutbox):
    with tenant(class_world):
        ExamSession.objects.filter(assignment=class_world.assignment).update(
            ended_at=timezone.now() - timedelta(days=30)
        )
        assert services.teacher_digest_send() == 0
    assert mailoutbox == []


def test_the_beat_entry_points_queue_one_pass_over_every_school(monkeypatch, personas, db):
    from dreamseed.core import sweeps

    sent = []
    monkeypatch.setattr(
        sweeps.sweep_batch, "apply_async", lambda args, **options: sent.append(args)
    )
    assert tasks.report_files_cleanup_all_schools() >= 2
    assert tasks.teacher_digest_send_all_schools() >= 2
    assert [job for job, _ in sent] == ["report-files-cleanup", "teacher-digest"]
    for _, schemas in sent:
        assert {"alpha", "beta"} <= set(schemas)
        assert "public" not in schemas and "template_school" not in schemas


def test_the_beat_entry_points_are_registered_tasks():
    for name in (
        "dreamseed.reports.tasks.report_files_cleanup_all_schools",
        "dreamseed.reports.tasks.teacher_digest_send_all_schools",
        "dreamseed.reports.tasks.report_generate",
    ):
        assert name in app.tasks, name
    assert app.tasks["dreamseed.reports.tasks.report_generate"].acks_late is True
    assert app.tasks["dreamseed.reports.tasks.report_generate"].reject_on_worker_lost is True
