"""The school's record of who viewed, exported or deleted student data (FERPA's record of
disclosures), kept append-only: rows are written by `services.audit_event_record` and the
student-deletion service, and no page edits or deletes them.

People are held twice: a foreign key (for filtering) and a name snapshot (so the record still
says who it was after the account is deleted).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    VIEWED = "viewed", _("Viewed")
    EXPORTED = "exported", _("Exported")
    DOWNLOADED = "downloaded", _("Downloaded")
    DELETED = "deleted", _("Deleted")
    DATA_EXPORT = "data_export", _("Data export")


class AuditTarget(models.TextChoices):
    """What was seen: shown with the object's id, e.g. "Session result #12"."""

    SESSION_RESULT = "session_result", _("Session result")
    ASSIGNMENT_PROGRESS = "assignment_progress", _("Live progress of an assignment")
    ASSIGNMENT_RESULTS = "assignment_results", _("Assignment results")
    ASSIGNMENT_RESULTS_CSV = "assignment_results_csv", _("Assignment results CSV")
    CLASS_ROSTER = "class_roster", _("Class roster")
    CLASS_STATISTICS = "class_statistics", _("Class statistics by student")
    SIGN_IN_SLIPS = "sign_in_slips", _("Sign-in slips of a class")
    STUDENT_PAGE = "student_page", _("Student page")
    STUDENT_PASSWORD = "student_password", _("Student password page")
    REPORT_FILE = "report_file", _("Report file")
    API_STUDENTS = "api_students", _("Students (API)")
    API_STUDENT = "api_student", _("Student (API)")
    API_ENROLLMENTS = "api_enrollments", _("Class enrollments (API)")
    STUDENT_DATA = "student_data", _("Student data summary")
    STUDENT_DATA_EXPORT = "student_data_export", _("All data about a student (ZIP)")
    STUDENT_RECORD = "student_record", _("Student account and all records")
    AUDIT_LOG_CSV = "audit_log_csv", _("Audit log CSV")


class AuditEvent(models.Model):
    # No index of its own: the (actor, …) index starts with this column.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
        db_index=False,
    )
    actor_name = models.CharField(_("who"), max_length=255)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    # No index of its own: the (student, …) index starts with this column.
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("student"),
        db_index=False,
    )
    student_name = models.CharField(_("student"), max_length=255, blank=True)
    what = models.CharField(_("what"), max_length=32, choices=AuditTarget.choices)
    object_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    path = models.CharField(_("address"), max_length=500, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["student", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.description}"

    @property
    def description(self) -> str:
        label = self.get_what_display()
        return label if self.object_id is None else f"{label} #{self.object_id}"
