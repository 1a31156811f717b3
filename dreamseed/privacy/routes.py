"""The one list of pages and API endpoints that show or export student data to staff, and so are
written to the audit log by `AuditMiddleware`.

Keyed by the resolver's view name ("namespace:url_name"); a test checks every key against the
URL configuration, so a renamed route fails the suite instead of silently going unaudited. Where
the URL names a student (directly, or through a session or a report) the student is resolved
inside the audit row's INSERT, so recording costs one statement and no extra read.
"""

from dataclasses import dataclass

from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from dreamseed.accounts.models import Role, User
from dreamseed.privacy.models import AuditAction, AuditTarget

# How the URL's object id leads to a student.
SUBJECT_STUDENT = "student"  # the id is the student's user id
SUBJECT_SESSION = "session"  # an exam session: its student
SUBJECT_REPORT = "report"  # a report: the student of its session (class reports name nobody)

READ_METHODS = frozenset({"GET", "HEAD"})
READ_AND_POST = READ_METHODS | {"POST"}


@dataclass(frozen=True)
class AuditedRoute:
    action: str
    what: str
    object_kwarg: str | None = "pk"  # the URL keyword holding the object's id
    subject: str | None = None
    methods: frozenset = READ_METHODS


AUDITED_ROUTES: dict[str, AuditedRoute] = {
    # Tests: a sitting's result, the live dashboard, an assignment's results and their CSV.
    # (The live table's polled fragment, assessments:progress, is left out on purpose: it is
    # fetched every few seconds while the page is open, and the page load is recorded.)
    "assessments:session": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.SESSION_RESULT, subject=SUBJECT_SESSION
    ),
    "assessments:assignment": AuditedRoute(AuditAction.VIEWED, AuditTarget.ASSIGNMENT_PROGRESS),
    "assessments:results": AuditedRoute(AuditAction.VIEWED, AuditTarget.ASSIGNMENT_RESULTS),
    "assessments:results_csv": AuditedRoute(
        AuditAction.EXPORTED, AuditTarget.ASSIGNMENT_RESULTS_CSV
    ),
    # Classes: rosters, per-student statistics, sign-in slips, a student's page.
    "classes:detail": AuditedRoute(AuditAction.VIEWED, AuditTarget.CLASS_ROSTER),
    "classes:class_statistics": AuditedRoute(AuditAction.VIEWED, AuditTarget.CLASS_STATISTICS),
    "classes:groups": AuditedRoute(AuditAction.VIEWED, AuditTarget.CLASS_STATISTICS),
    "classes:groups_csv": AuditedRoute(AuditAction.EXPORTED, AuditTarget.CLASS_STATISTICS),
    "classes:slips": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.SIGN_IN_SLIPS, methods=READ_AND_POST
    ),
    "classes:student": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.STUDENT_PAGE, subject=SUBJECT_STUDENT
    ),
    "classes:student_password": AuditedRoute(
        AuditAction.VIEWED,
        AuditTarget.STUDENT_PASSWORD,
        subject=SUBJECT_STUDENT,
        methods=READ_AND_POST,
    ),
    # Report files (student PDFs, class PDFs, ZIP bundles).
    "reports:download": AuditedRoute(
        AuditAction.DOWNLOADED, AuditTarget.REPORT_FILE, subject=SUBJECT_REPORT
    ),
    # The REST API's reads of students and rosters (its writes are not disclosures).
    "api:student-list": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.API_STUDENTS, object_kwarg=None
    ),
    "api:student-detail": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.API_STUDENT, subject=SUBJECT_STUDENT
    ),
    "api:class-statistics": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.CLASS_STATISTICS, object_kwarg="class_id"
    ),
    "api:student-results": AuditedRoute(
        AuditAction.VIEWED,
        AuditTarget.API_STUDENT,
        object_kwarg="student_id",
        subject=SUBJECT_STUDENT,
    ),
    "api:class-enrollments": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.API_ENROLLMENTS, object_kwarg="class_id"
    ),
    # This app: a student's data page and the full export, and the audit log's own export.
    "privacy:student": AuditedRoute(
        AuditAction.VIEWED, AuditTarget.STUDENT_DATA, subject=SUBJECT_STUDENT
    ),
    "privacy:student_export": AuditedRoute(
        AuditAction.DATA_EXPORT, AuditTarget.STUDENT_DATA_EXPORT, subject=SUBJECT_STUDENT
    ),
    "privacy:audit_log_csv": AuditedRoute(
        AuditAction.EXPORTED, AuditTarget.AUDIT_LOG_CSV, object_kwarg=None
    ),
}

_SUBJECT_LOOKUPS = {
    SUBJECT_STUDENT: "pk",
    SUBJECT_SESSION: "exam_sessions__pk",
    SUBJECT_REPORT: "exam_sessions__reports__pk",
}


def student_display_name():
    """SQL for what `User.__str__` shows: the full name, or the username when there is none."""
    full_name = Trim(Concat(F("first_name"), Value(" "), F("last_name"), output_field=CharField()))
    return Coalesce(NullIf(full_name, Value("")), F("username"), output_field=CharField())


def subject_students(route: AuditedRoute, object_id: int | None) -> QuerySet[User] | None:
    """The student a request is about, as a query (run inside the audit INSERT), or None."""
    if route.subject is None or object_id is None:
        return None
    lookup = _SUBJECT_LOOKUPS[route.subject]
    return User.objects.filter(role=Role.STUDENT, **{lookup: object_id})


def object_id_from(route: AuditedRoute, kwargs: dict) -> int | None:
    if route.object_kwarg is None:
        return None
    try:
        value = int(kwargs.get(route.object_kwarg))
    except (TypeError, ValueError):
        return None
    # Ids beyond bigint cannot name a row (and would fail the INSERT).
    return value if 0 <= value < 2**63 else None
