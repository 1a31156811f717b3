"""Requesting, rendering, retrying and cleaning up reports, and the weekly digest to teachers.

`report_render` is what the Celery task calls. It is idempotent: a report already made (and
whose file is still there) is returned as it is; anything else is rendered from scratch and
saved under the same deterministic name, so a second delivery of the task (a worker killed
mid-render, then redelivered by Redis) overwrites its own half-made work and nothing else.
"""

import logging
import re
import tempfile
import uuid
import zipfile
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dreamseed.accounts.models import STAFF_ROLES, User
from dreamseed.assessments.models import Assignment, ExamSession
from dreamseed.reports import rendering, selectors
from dreamseed.reports.models import (
    DigestDelivery,
    Paper,
    Report,
    ReportKind,
    ReportStatus,
    report_upload_to,
)

logger = logging.getLogger(__name__)


def retention() -> timedelta:
    """How long a made report's file is kept before the clean-up job removes it."""
    return timedelta(days=getattr(settings, "REPORTS_RETENTION_DAYS", 7))


def paper_for_language(language: str) -> str:
    """English-speaking users here are mostly in North America; ko and es use A4."""
    return Paper.LETTER if (language or "").startswith("en") else Paper.A4


# --- Requesting ---------------------------------------------------------------------------------


def report_request(
    *,
    kind: str,
    requested_by: User,
    session: ExamSession | None = None,
    assignment: Assignment | None = None,
    paper: str = Paper.A4,
    language: str | None = None,
) -> Report:
    """Queue a report, or return the same report already queued or made from the same data.

    A teacher who presses the button twice gets one report; a report made before a student
    finished (or before a sitting ended) is not reused, because it would be out of date.
    """
    if kind == ReportKind.STUDENT:
        if session is None:
            raise ValueError("a student report needs a session")
        assignment = None
    elif kind in (ReportKind.CLASS, ReportKind.CLASS_BUNDLE):
        if assignment is None:
            raise ValueError("a class report needs an assignment")
        session = None
    else:
        raise ValueError(f"unknown report kind {kind!r}")
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    paper = Paper(paper)
    same = Report.objects.filter(
        kind=kind, session=session, assignment=assignment, language=language, paper=paper
    )
    latest_data = _latest_data_change(session=session, assignment=assignment)
    reusable = (
        same.filter(status__in=[ReportStatus.QUEUED, ReportStatus.RUNNING])
        | same.filter(status=ReportStatus.SUCCEEDED, expires_at__gt=timezone.now())
    ).order_by("-created")
    if latest_data is not None:
        reusable = reusable.filter(created__gt=latest_data)
    for report in reusable[:1]:
        if not report.is_stuck():
            return report
    report = Report.objects.create(
        kind=kind,
        session=session,
        assignment=assignment,
        requested_by=requested_by,
        language=language,
        paper=paper,
        task_id=str(uuid.uuid4()),
    )
    _enqueue_on_commit(report)
    return report


def _latest_data_change(*, session, assignment):
    if session is not None:
        return session.ended_at
    return (
        ExamSession.objects.filter(assignment=assignment)
        .order_by(F("ended_at").desc(nulls_last=True))
        .values_list("ended_at", flat=True)
        .first()
    )


def report_retry(*, report: Report) -> Report:
    """Queue a failed, expired or stuck report again (a fresh task id, progress from zero)."""
    if not report.may_retry():
        return report
    report.status = ReportStatus.QUEUED
    report.progress = 0
    report.error = ""
    report.task_id = str(uuid.uuid4())
    report.started_at = report.finished_at = None
    report.save(
        update_fields=["status", "progress", "error", "task_id", "started_at", "finished_at"]
    )
    _enqueue_on_commit(report)
    return report


def _enqueue_on_commit(report: Report) -> None:
    report_enqueue(report_id=report.pk, task_id=report.task_id)


def report_enqueue(*, report_id: int, task_id: str | None = None) -> None:
    """Send the task (in the current school's schema) once this transaction commits, through
    the outbox (kept and sent later if the broker is down). `REPORTS_QUEUE`, if set, routes
    report rendering to its own queue so it can get its own workers."""
    from dreamseed.outbox.services import outbox_enqueue
    from dreamseed.reports.tasks import report_generate

    queue = getattr(settings, "REPORTS_QUEUE", None) or None
    outbox_enqueue(report_generate, report_id, task_id=task_id, queue=queue)


# --- Rendering (in the worker) ------------------------------------------------------------------


class ReportUnavailable(Exception):
    """The report's subject can no longer be reported on (e.g. the sitting was reset)."""


def report_render(*, report_id: int) -> Report | None:
    """Make the report's file. Safe to call any number of times, concurrently or after a crash."""
    report = (
        Report.objects.select_related(
            "session__assignment__assessment",
            "session__assignment__school_class",
            "session__student",
            "assignment__assessment",
            "assignment__school_class",
        )
        .filter(pk=report_id)
        .first()
    )
    if report is None:  # deleted meanwhile (its session or assignment was deleted)
        return None
    finished = report.status == ReportStatus.SUCCEEDED and report.file
    if finished and report.file.storage.exists(report.file.name):
        return report
    if report.status == ReportStatus.EXPIRED:
        return report
    now = timezone.now()
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.RUNNING, progress=1, started_at=now, error="", runs=F("runs") + 1
    )
    report.runs += 1
    try:
        with translation.override(report.language):
            content = _BUILDERS[report.kind](report)
        name = f"{report.kind}-{report.pk}.{report.extension}"
        try:
            _save_overwriting(report, name, content)
        finally:
            content.close()
    except Exception as error:
        logger.exception("report %s failed", report.pk)
        report.status = ReportStatus.FAILED
        report.error = f"{type(error).__name__}: {error}"[:2000]
        report.finished_at = timezone.now()
        report.save(update_fields=["status", "error", "finished_at"])
        return report
    report.status = ReportStatus.SUCCEEDED
    report.progress = 100
    report.finished_at = timezone.now()
    report.expires_at = report.finished_at + retention()
    report.save(update_fields=["status", "progress", "file", "finished_at", "expires_at"])
    return report


def _save_overwriting(report: Report, name: str, content) -> None:
    storage = report.file.storage
    target = report.file.field.generate_filename(report, name)
    if storage.exists(target):
        storage.delete(target)
    report.file.save(name, content, save=False)


def _set_progress(report: Report, percent: int) -> None:
    Report.objects.filter(pk=report.pk).update(progress=max(1, min(99, int(percent))))


def _student_pdf(report: Report) -> ContentFile:
    session = report.session
    if not session.is_finished:
        raise ReportUnavailable(_("This sitting is not finished."))
    context = selectors.student_report_data(session=session)
    pdf = rendering.render_pdf("reports/student_report.html", context, paper=report.paper)
    return ContentFile(pdf)


def _class_pdf(report: Report) -> ContentFile:
    context = selectors.class_report_data(assignment=report.assignment)
    pdf = rendering.render_pdf("reports/class_report.html", context, paper=report.paper)
    return ContentFile(pdf)


def _class_bundle(report: Report) -> File:
    """Every finished student's report in one ZIP; progress moves as each PDF is made."""
    assignment = report.assignment
    sessions = selectors.latest_finished_sessions(assignment=assignment)
    if not sessions:
        raise ReportUnavailable(_("No student has finished this test yet."))
    attempts = selectors.attempts_by_session(s.pk for s in sessions)
    school = selectors.school_name()
    scores = {s.pk: s.score for s in sessions if s.score is not None}
    # Closed by report_render once stored, so no `with` here.
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    # PDFs are compressed already: storing them is as small and much faster than deflating.
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
        used_names: set[str] = set()
        for index, session in enumerate(sessions, start=1):
            session.assignment = assignment  # shared: one object, no per-student queries
            others = [score for pk, score in scores.items() if pk != session.pk]
            context = selectors.student_report_data(
                session=session,
                attempts=attempts.get(session.pk, []),
                other_scores=others,
                school=school,
            )
            pdf = rendering.render_pdf("reports/student_report.html", context, paper=report.paper)
            archive.writestr(_zip_name(context["student_name"], session, used_names), pdf)
            _set_progress(report, 100 * index / (len(sessions) + 1))
    spool.seek(0)
    return File(spool)


def _zip_name(name: str, session: ExamSession, used: set[str]) -> str:
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .") or "student"
    candidate = f"{safe} ({session.student.username}).pdf"
    if candidate in used:
        candidate = f"{safe} ({session.student.username}) {session.pk}.pdf"
    used.add(candidate)
    return candidate


_BUILDERS = {
    ReportKind.STUDENT: _student_pdf,
    ReportKind.CLASS: _class_pdf,
    ReportKind.CLASS_BUNDLE: _class_bundle,
}


def report_download_name(report: Report) -> str:
    if report.kind == ReportKind.STUDENT:
        session = report.session
        parts = [session.assignment.assessment.name, selectors.display_name(session.student)]
    else:
        parts = [report.assignment.assessment.name, report.assignment.school_class.name]
        if report.kind == ReportKind.CLASS_BUNDLE:
            parts.append(_("students"))
    name = " - ".join(parts)
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name) + f".{report.extension}"


# --- Clean-up -----------------------------------------------------------------------------------


def report_files_cleanup(*, now=None, orphan_grace: timedelta = timedelta(days=1)) -> int:
    """Remove the files of expired reports (the row stays, marked expired, so old links explain
    themselves), forget rows long expired, and remove report files no row points to (left by a
    deleted session or assignment). Returns the number of files removed."""
    now = now or timezone.now()
    removed = 0
    expired = Report.objects.filter(expires_at__lte=now).exclude(status=ReportStatus.EXPIRED)
    # Not .iterator(): its server-side cursor misses django-tenants' search_path.
    for report in list(expired):
        if report.file:
            report.file.delete(save=False)
            removed += 1
        report.status = ReportStatus.EXPIRED
        report.save(update_fields=["status", "file"])
    Report.objects.filter(
        status=ReportStatus.EXPIRED, expires_at__lte=now - timedelta(days=90)
    ).delete()
    Report.objects.filter(
        status=ReportStatus.FAILED, created__lte=now - timedelta(days=90)
    ).delete()
    removed += _orphan_files_cleanup(now=now, grace=orphan_grace)
    return removed


def _orphan_files_cleanup(*, now, grace: timedelta) -> int:
    storage = Report._meta.get_field("file").storage
    root = report_upload_to(Report(created=now), "x").split("/")[:2]  # reports/<schema>
    root = "/".join(root)
    if not storage.exists(root):
        return 0
    known = set(Report.objects.exclude(file="").values_list("file", flat=True))
    removed = 0
    for name in _walk(storage, root):
        if name in known:
            continue
        try:
            modified = storage.get_modified_time(name)
        except (NotImplementedError, OSError):
            continue
        if now - modified > grace:
            storage.delete(name)
            removed += 1
    return removed


def _walk(storage, folder: str):
    directories, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{folder}/{directory}")


# --- Weekly digest ----------------------------------------------------------------------------


def school_base_url(school) -> str:
    """Links in emails: https in production; the dev server's port otherwise."""
    host = school.primary_host
    if settings.SESSION_COOKIE_SECURE:
        return f"https://{host}"
    return f"http://{host}:{getattr(settings, 'DEV_WEB_PORT', 8000)}"


def teacher_digest_send(*, now=None) -> int:
    """Email each teacher of this school a summary of last week's finished tests in their
    classes. Teachers with nothing to report get nothing; a second run in the same week sends
    nothing again. Returns the number of emails sent."""
    from dreamseed.schools.models import School

    now = now or timezone.now()
    today = timezone.localdate(now)
    period_start = today - timedelta(days=7)
    zone = timezone.get_current_timezone()
    start = datetime.combine(period_start, time.min, tzinfo=zone)
    end = datetime.combine(today, time.min, tzinfo=zone)
    school = School.objects.filter(schema_name=connection.schema_name).first()
    base_url = school_base_url(school) if school else ""
    sent = 0
    teachers = User.objects.filter(role__in=STAFF_ROLES, is_active=True).exclude(email="")
    for teacher in teachers:
        rows = selectors.teacher_week_summary(teacher=teacher, start=start, end=end)
        if not rows:
            continue
        with transaction.atomic():
            _, created = DigestDelivery.objects.get_or_create(
                user=teacher, period_start=period_start
            )
            if not created:
                continue
            for row in rows:
                row["url"] = base_url + reverse(
                    "assessments:results", kwargs={"pk": row["assignment"].pk}
                )
            context = {
                "teacher": teacher,
                "school_name": school.name if school else "",
                "rows": rows,
                "period_start": period_start,
                "period_end": today - timedelta(days=1),
            }
            with translation.override(settings.LANGUAGE_CODE):
                subject = render_to_string("reports/email/digest_subject.txt", context)
                body = render_to_string("reports/email/digest.txt", context)
            # Inside the transaction: if sending fails, the delivery row is rolled back and the
            # next run tries again.
            send_mail(" ".join(subject.split()), body, None, [teacher.email])
        sent += 1
    return sent
