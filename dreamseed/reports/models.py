"""PDF reports made by Celery workers: one row per requested report, polled by the report page.

The row is the task's whole state (status, progress, error, file), so the task is safe to run
twice: a second run of a finished report returns at once, a run after a killed worker renders
again and overwrites the same file name.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: A report still queued or running after this long is shown with a Retry button: its task was
#: lost (a broker wiped, a worker killed before Redis redelivered it).
STUCK_AFTER = timedelta(minutes=30)


class ReportKind(models.TextChoices):
    STUDENT = "student", _("Student report")
    CLASS = "class", _("Class report")
    CLASS_BUNDLE = "class_bundle", _("All student reports (ZIP)")


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Being made")
    SUCCEEDED = "succeeded", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class Paper(models.TextChoices):
    A4 = "a4", _("A4")
    LETTER = "letter", _("Letter")


def report_upload_to(report: "Report", filename: str) -> str:
    # Schools share one media store: the schema keeps report 7 of one school from overwriting
    # report 7 of another. The name is deterministic, so a re-run overwrites its own file.
    created = report.created or timezone.now()
    return f"reports/{connection.schema_name}/{created:%Y/%m}/{filename}"


class Report(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ReportKind.choices)
    # A student report is about one sitting; class reports are about one assignment.
    session = models.ForeignKey(
        "assessments.ExamSession",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
    )
    assignment = models.ForeignKey(
        "assessments.Assignment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The requester's language when they asked; the worker renders in it.
    language = models.CharField(_("language"), max_length=8, default="en")
    paper = models.CharField(_("paper"), max_length=8, choices=Paper.choices, default=Paper.A4)
    status = models.CharField(
        _("status"), max_length=12, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)  # percent
    file = models.FileField(_("file"), upload_to=report_upload_to, blank=True, max_length=255)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    runs = models.PositiveSmallIntegerField(default=0)  # task runs that started rendering
    created = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="student", session__isnull=False)
                    | models.Q(kind__in=["class", "class_bundle"], assignment__isnull=False)
                ),
                name="report_has_its_subject",
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="report_progress"),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status in (ReportStatus.QUEUED, ReportStatus.RUNNING)

    @property
    def is_ready(self) -> bool:
        return self.status == ReportStatus.SUCCEEDED and bool(self.file)

    def is_stuck(self, now=None) -> bool:
        now = now or timezone.now()
        return self.is_pending and now - (self.started_at or self.created) > STUCK_AFTER

    def may_retry(self, now=None) -> bool:
        return self.status in (ReportStatus.FAILED, ReportStatus.EXPIRED) or self.is_stuck(now)

    @property
    def school_class(self):
        if self.kind == ReportKind.STUDENT:
            return self.session.assignment.school_class
        return self.assignment.school_class

    @property
    def content_type(self) -> str:
        return "application/zip" if self.kind == ReportKind.CLASS_BUNDLE else "application/pdf"

    @property
    def extension(self) -> str:
        return "zip" if self.kind == ReportKind.CLASS_BUNDLE else "pdf"


class DigestDelivery(models.Model):
    """One weekly digest sent to one teacher: makes the digest task safe to run twice."""

    # No index of its own: one_digest_per_week starts with this column.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    period_start = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "period_start"], name="one_digest_per_week")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.period_start}"
