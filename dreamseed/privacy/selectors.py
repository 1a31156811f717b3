"""Reads of the privacy app: the filtered audit log, the school's students, and everything held
about one student (what the export contains and the student data page counts)."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from dreamseed.accounts.models import Role, User
from dreamseed.accounts.selectors import students_matching
from dreamseed.privacy.models import AuditEvent


@dataclass(frozen=True)
class AuditFilters:
    student: str = ""
    student_id: int | None = None
    actor: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_events(*, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The school's audit log, newest first. Names are matched on the snapshots too, so events
    about a deleted student (or by a deleted teacher) are still found."""
    events = AuditEvent.objects.all()
    if filters.student_id is not None:
        events = events.filter(student_id=filters.student_id)
    if filters.student:
        events = events.filter(
            Q(student_name__icontains=filters.student)
            | Q(student__username__icontains=filters.student)
        )
    if filters.actor:
        events = events.filter(
            Q(actor_name__icontains=filters.actor)
            | Q(actor__username__icontains=filters.actor)
            | Q(actor__email__icontains=filters.actor)
        )
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.date_from:
        events = events.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        events = events.filter(created_at__date__lte=filters.date_to)
    return events.order_by("-created_at", "-pk")


def students(*, search: str = "") -> QuerySet[User]:
    found = User.objects.filter(role=Role.STUDENT).select_related("student_profile")
    return students_matching(found, search)


def student_get(*, pk: int) -> User:
    """A student of this school (this schema), or 404: staff accounts are not handled here."""
    student = User.objects.filter(pk=pk, role=Role.STUDENT).first()
    if student is None:
        raise Http404
    return student


def student_record_counts(*, student: User) -> dict[str, int]:
    from dreamseed.assessments.models import Attempt
    from dreamseed.reports.models import Report

    counted = User.objects.filter(pk=student.pk).aggregate(
        classes=Count("enrollments", distinct=True),
        sessions=Count("exam_sessions", distinct=True),
        lti_identities=Count("lti_identities", distinct=True),
    )
    counted["attempts"] = Attempt.objects.filter(session__student=student).count()
    counted["reports"] = Report.objects.filter(session__student=student).count()
    counted["audit_events"] = AuditEvent.objects.filter(student=student).count()
    return counted


# --- Everything about one student ------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One file of the export: a dict (columns empty, JSON only) or a table (JSON and CSV)."""

    columns: list[str]
    content: list[dict] | dict


def _table(queryset, columns: list[str], renames: dict[str, str] | None = None) -> Section:
    """Rows of `queryset.values(*columns)`, with lookups renamed to plain column names."""
    renames = renames or {}
    rows = [
        {renames.get(key, key): value for key, value in row.items()}
        for row in queryset.values(*columns)
    ]
    return Section([renames.get(column, column) for column in columns], rows)


def student_data_collect(*, student: User) -> dict[str, Section]:
    """What the school holds about `student`, and nothing about anyone else (no classmates,
    no other sittings; staff appear only as the names in the audit log)."""
    from dreamseed.assessments.models import Accommodation, Attempt, ExamSession
    from dreamseed.classes.models import Enrollment, StudentProfile
    from dreamseed.lti.models import GradePassback, LtiIdentity
    from dreamseed.reports.models import Report

    profile = StudentProfile.objects.filter(user=student).first()
    sections = {
        "profile": Section(
            [],
            {
                "id": student.pk,
                "username": student.username,
                "first_name": student.first_name,
                "last_name": student.last_name,
                "email": student.email,
                "role": student.role,
                "is_active": student.is_active,
                "grade": profile.grade if profile else "",
                "date_joined": student.date_joined,
                "last_login": student.last_login,
            },
        ),
        "classes": _table(
            Enrollment.objects.filter(student=student).order_by("created", "pk"),
            [
                "school_class_id",
                "school_class__name",
                "school_class__subject",
                "school_class__grade",
                "created",
            ],
            {
                "school_class__name": "class_name",
                "school_class__subject": "subject",
                "school_class__grade": "grade",
                "created": "enrolled_at",
            },
        ),
        "sessions": _table(
            ExamSession.objects.filter(student=student).order_by("started_at", "pk"),
            [
                "id",
                "assignment_id",
                "assignment__assessment__name",
                "assignment__school_class__name",
                "attempt_number",
                "status",
                "theta",
                "standard_error",
                "score",
                "assignment__assessment__scale_name",
                "n_items",
                "stop_reason",
                "started_at",
                "ended_at",
                "deadline_at",
            ],
            {
                "assignment__assessment__name": "test",
                "assignment__school_class__name": "class_name",
                "assignment__assessment__scale_name": "scale",
            },
        ),
        "attempts": _table(
            Attempt.objects.filter(session__student=student).order_by("session_id", "position"),
            [
                "session_id",
                "position",
                "item_id",
                "item__external_id",
                "item_version_id",
                "is_pilot",
                "selected_choice",
                "correct",
                "response_time_ms",
                "theta_before",
                "theta_after",
                "se_after",
                "created",
            ],
            {"item__external_id": "item_external_id", "created": "answered_at"},
        ),
        "accommodations": _table(
            Accommodation.objects.filter(student=student).order_by("pk"),
            [
                "assignment_id",
                "assignment__assessment__name",
                "extra_time_multiplier",
                "extra_attempts",
            ],
            {"assignment__assessment__name": "test"},
        ),
        "reports": _table(
            Report.objects.filter(session__student=student).order_by("created", "pk"),
            [
                "id",
                "kind",
                "session_id",
                "status",
                "language",
                "created",
                "finished_at",
                "expires_at",
            ],
            {"created": "requested_at"},
        ),
        "audit_events": _table(
            AuditEvent.objects.filter(student=student).order_by("created_at", "pk"),
            ["created_at", "actor_name", "action", "what", "object_id"],
            {"actor_name": "who"},
        ),
        "lti_identities": _table(
            LtiIdentity.objects.filter(user=student).order_by("pk"),
            ["platform__name", "platform__issuer", "sub", "created", "last_launch_at"],
            {"platform__name": "platform", "platform__issuer": "issuer"},
        ),
        "grade_passbacks": _table(
            GradePassback.objects.filter(session__student=student).order_by("pk"),
            ["session_id", "user_sub", "lineitem_url", "status", "sent_at", "payload"],
        ),
    }
    return sections
