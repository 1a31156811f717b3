"""Reads for the test pages, with the joins and aggregates done in SQL."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Avg, Count, F, Max, Min, OuterRef, Q, StdDev, Subquery
from django.http import Http404
from django.utils import timezone

from dreamseed.accounts.models import Role, User
from dreamseed.assessments.models import (
    FINISHED_STATUSES,
    Assessment,
    Assignment,
    Attempt,
    ExamSession,
    SessionStatus,
)
from dreamseed.classes.models import Class

IDLE_AFTER = timedelta(minutes=2)


# --- Access -------------------------------------------------------------------------------------


def classes_for_staff(user: User):
    if user.role == Role.ADMIN:
        return Class.objects.all()
    return Class.objects.filter(teachers=user)


def assessment_list_for(*, user: User):
    """Staff share the school's test blueprints; archived ones last."""
    return (
        Assessment.objects.select_related("created_by")
        .annotate(assignment_count=Count("assignments", distinct=True))
        .order_by(F("archived_at").asc(nulls_first=True), "-created")
    )


def assessment_get_for_staff(*, user: User, pk: int) -> Assessment:
    assessment = Assessment.objects.filter(pk=pk).first()
    if assessment is None:
        raise Http404
    return assessment


def assessment_may_edit(*, user: User, assessment: Assessment) -> bool:
    return user.role == Role.ADMIN or assessment.created_by_id == user.pk


def assignment_get_for_staff(*, user: User, pk: int) -> Assignment:
    """404 unless the assignment is for a class this teacher teaches (admins: any)."""
    assignment = (
        Assignment.objects.select_related("assessment", "school_class")
        .filter(pk=pk, school_class__in=classes_for_staff(user))
        .first()
    )
    if assignment is None:
        raise Http404
    return assignment


def session_get_for_staff(*, user: User, pk: int) -> ExamSession:
    session = (
        ExamSession.objects.select_related(
            "assignment__assessment", "assignment__school_class", "student"
        )
        .filter(pk=pk, assignment__school_class__in=classes_for_staff(user))
        .first()
    )
    if session is None:
        raise Http404
    return session


def session_get_for_student(*, student: User, pk: int) -> ExamSession:
    # The pending item's version comes from the per-process display cache, not from this join.
    session = (
        ExamSession.objects.select_related("assignment__assessment", "assignment__school_class")
        .filter(pk=pk, student=student)
        .first()
    )
    if session is None:
        raise Http404
    return session


def assignment_get_for_student(*, student: User, pk: int) -> Assignment:
    assignment = (
        Assignment.objects.select_related("assessment", "school_class")
        .filter(pk=pk, school_class__students=student, school_class__archived_at__isnull=True)
        .first()
    )
    if assignment is None:
        raise Http404
    return assignment


# --- Student home ------------------------------------------------------------------------------


@dataclass
class StudentTest:
    assignment: Assignment
    session: ExamSession | None  # the latest sitting
    attempts_used: int


def student_tests(*, student: User, now=None) -> dict[str, list[StudentTest]]:
    """The student's assigned tests, split into open / upcoming / finished."""
    now = now or timezone.now()
    assignments = list(
        Assignment.objects.filter(
            school_class__students=student,
            school_class__archived_at__isnull=True,
            assessment__archived_at__isnull=True,
        )
        .select_related("assessment", "school_class")
        .annotate(
            attempts_used=Count("sessions", filter=Q(sessions__student=student), distinct=True)
        )
        .order_by("closes_at")
    )
    latest: dict[int, ExamSession] = {}
    # Ascending attempt number: the newest sitting of each assignment is written last.
    for session in ExamSession.objects.filter(
        student=student, assignment__in=[a.pk for a in assignments]
    ).order_by("attempt_number"):
        latest[session.assignment_id] = session
    groups: dict[str, list[StudentTest]] = {"open": [], "upcoming": [], "finished": []}
    for assignment in assignments:
        entry = StudentTest(assignment, latest.get(assignment.pk), assignment.attempts_used)
        session = entry.session
        in_progress = session is not None and not session.is_finished
        if now < assignment.opens_at:
            groups["upcoming"].append(entry)
        elif now < assignment.closes_at and (
            in_progress or entry.attempts_used < assignment.attempts_allowed
        ):
            groups["open"].append(entry)
        elif session is not None or now >= assignment.closes_at:
            groups["finished"].append(entry)
    return groups


# --- Teacher: live progress and results ---------------------------------------------------------


@dataclass
class StudentProgress:
    student: User
    session: ExamSession | None
    idle: bool


def assignment_progress(*, assignment: Assignment, now=None) -> list[StudentProgress]:
    """Every enrolled student with their latest session: one query for each side."""
    now = now or timezone.now()
    students = list(assignment.school_class.students.order_by("last_name", "first_name"))
    latest_id = (
        ExamSession.objects.filter(assignment=assignment, student=OuterRef("student"))
        .order_by("-attempt_number")
        .values("pk")[:1]
    )
    sessions = {
        session.student_id: session
        for session in ExamSession.objects.filter(assignment=assignment, pk=Subquery(latest_id))
    }
    rows = []
    for student in students:
        session = sessions.get(student.pk)
        idle = (
            session is not None
            and session.status == SessionStatus.IN_PROGRESS
            and now - session.last_activity_at > IDLE_AFTER
        )
        rows.append(StudentProgress(student=student, session=session, idle=idle))
    return rows


def assignment_summary(*, assignment: Assignment) -> dict:
    finished = ExamSession.objects.filter(assignment=assignment, status__in=FINISHED_STATUSES)
    return finished.aggregate(
        count=Count("pk"),
        mean_score=Avg("score"),
        sd_score=StdDev("score"),
        min_score=Min("score"),
        max_score=Max("score"),
        mean_theta=Avg("theta"),
        mean_se=Avg("standard_error"),
        mean_items=Avg("n_items"),
    )


def assignment_finished_sessions(*, assignment: Assignment):
    return (
        ExamSession.objects.filter(assignment=assignment, status__in=FINISHED_STATUSES)
        .select_related("student")
        .order_by("-score")
    )


def assignment_item_exposure(*, assignment: Assignment, limit: int = 50):
    """How often each item was given in this assignment, and how often answered correctly."""
    sessions = ExamSession.objects.filter(assignment=assignment).count() or 1
    rows = (
        Attempt.objects.filter(session__assignment=assignment, is_pilot=False)
        .values(
            "item_id",
            "item__external_id",
            "item__content_area",
            "item__b",
            "item__current_version__stem",
        )
        .annotate(times=Count("pk"), correct=Count("pk", filter=Q(correct=True)))
        .order_by("-times", "item__external_id")[:limit]
    )
    return [
        {**row, "exposure": row["times"] / sessions, "p_correct": row["correct"] / row["times"]}
        for row in rows
    ]


def assignment_answers(*, assignment):
    """Every answer to the assignment, by student, sitting and position, with what the answers
    CSV prints (one query)."""
    return (
        Attempt.objects.filter(session__assignment=assignment)
        .select_related("session__student", "item", "item_version")
        .order_by(
            "session__student__last_name", "session__student__username",
            "session__attempt_number", "position",
        )
    )  # fmt: skip


def session_attempts(*, session: ExamSession):
    return session.attempts.select_related("item", "item_version").order_by("position")


# --- Marking (rubric items) ----------------------------------------------------------------------


#: Attempts at an item version a teacher marks (itembank.kinds.teacher_marked, in SQL).
RUBRIC_ITEM = Q(item_version__kind="extended", item_version__answer__has_key="max_points") | Q(
    item_version__kind="text", item_version__answer__scoring="rubric"
)


def marking_waiting(*, assignment: Assignment):
    """Answers of this assignment's sittings still waiting for a teacher's rubric points (see
    itembank.kinds.teacher_marked), oldest sitting first."""
    return (
        Attempt.objects.filter(RUBRIC_ITEM, session__assignment=assignment, score__isnull=True)
        .select_related("session__student", "item", "item_version")
        .order_by("session__started_at", "session_id", "position")
    )
