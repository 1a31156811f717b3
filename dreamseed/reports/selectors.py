"""Reads for reports: who may request and fetch which report, and the numbers each report shows.

Everything a report prints is computed here in a few queries (one for the sessions, one for
their attempts), so a class bundle reads the class once and renders every student from memory.
"""

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import Avg, Count, Q
from django.http import Http404
from django.utils import timezone

from dreamseed.accounts.models import Role, User
from dreamseed.assessments import selectors as assessment_selectors
from dreamseed.assessments.charts import assignment_distribution_svg, session_trajectory_svg
from dreamseed.assessments.models import (
    FINISHED_STATUSES,
    Assignment,
    Attempt,
    ExamSession,
    score_band,
)
from dreamseed.classes.models import Class
from dreamseed.reports.models import Report, ReportKind
from dreamseed.reports.rendering import Chart

#: Unusual items: at least this many responses, and a standardised residual this large.
UNUSUAL_MIN_RESPONSES = 3
UNUSUAL_Z = 2.0
#: ... or a mean response time this many times the class's median item time.
UNUSUAL_SLOW_FACTOR = 2.0
UNUSUAL_LIMIT = 20

#: A content area "stands out" in next steps this many percentage points from expectation.
AREA_MARGIN = 5.0

_HANGUL = re.compile(r"^[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+$")


# --- Access ---------------------------------------------------------------------------------------


def session_for_student_report(*, user: User, pk: int) -> ExamSession:
    """A finished session whose report `user` may request: the class's staff, or the student
    themselves when the test shows students their results. 404 otherwise."""
    if user.role == Role.STUDENT:
        session = assessment_selectors.session_get_for_student(student=user, pk=pk)
        if not session.assignment.assessment.show_results_to_students:
            raise Http404
    else:
        session = assessment_selectors.session_get_for_staff(user=user, pk=pk)
    if not session.is_finished:
        raise Http404
    return session


def assignment_for_class_report(*, user: User, pk: int) -> Assignment:
    """Class reports are for the class's teachers and the school's admins only."""
    if user.role == Role.STUDENT:
        raise Http404
    return assessment_selectors.assignment_get_for_staff(user=user, pk=pk)


def report_may_view(*, user: User, report: Report) -> bool:
    if user.role == Role.STUDENT:
        return (
            report.kind == ReportKind.STUDENT
            and report.session.student_id == user.pk
            and report.session.assignment.assessment.show_results_to_students
        )
    staff_classes = assessment_selectors.classes_for_staff(user)
    return staff_classes.filter(pk=report.school_class.pk).exists()


def report_get_for_user(*, user: User, pk: int) -> Report:
    """The report, if `user` may see it; 404 (not 403) otherwise, so ids reveal nothing."""
    report = (
        Report.objects.select_related(
            "session__assignment__assessment",
            "session__assignment__school_class",
            "session__student",
            "assignment__assessment",
            "assignment__school_class",
        )
        .filter(pk=pk)
        .first()
    )
    if report is None or not report_may_view(user=user, report=report):
        raise Http404
    return report


# --- Shared pieces --------------------------------------------------------------------------------


def display_name(user: User) -> str:
    """Korean names read family name first with no space (김민준); others as Django does."""
    first, last = user.first_name.strip(), user.last_name.strip()
    if first and last and _HANGUL.match(first) and _HANGUL.match(last):
        return f"{last}{first}"
    return user.get_full_name() or user.username


def school_name() -> str:
    tenant = getattr(connection, "tenant", None)
    name = getattr(tenant, "name", None)
    if name:
        return name
    from dreamseed.schools.models import School

    school = School.objects.filter(schema_name=connection.schema_name).first()
    return school.name if school else ""


def latest_finished_sessions(*, assignment: Assignment) -> list[ExamSession]:
    """Each student's most recent finished sitting of `assignment` (the one reports count)."""
    sessions = (
        ExamSession.objects.filter(assignment=assignment, status__in=FINISHED_STATUSES)
        .select_related("student")
        .order_by("student_id", "-attempt_number")
        .distinct("student_id")
    )
    return sorted(sessions, key=lambda s: (s.student.last_name, s.student.first_name, s.pk))


def percentile_rank(score: float | None, others: list[float]) -> float | None:
    """Mid-rank percentile of `score` among `others` plus itself: the share of the class below
    it, counting ties as half below."""
    if score is None:
        return None
    below = sum(1 for value in others if value < score - 1e-9)
    equal = sum(1 for value in others if abs(value - score) <= 1e-9) + 1
    return 100.0 * (below + 0.5 * equal) / (len(others) + 1)


def _class_scores(*, assignment: Assignment, excluding_student_id: int) -> list[float]:
    """Other students' latest finished scores, for one student's percentile (one query)."""
    latest = (
        ExamSession.objects.filter(assignment=assignment, status__in=FINISHED_STATUSES)
        .exclude(student_id=excluding_student_id)
        .exclude(score__isnull=True)
        .order_by("student_id", "-attempt_number")
        .distinct("student_id")
        .values_list("score", flat=True)
    )
    return list(latest)


def attempts_by_session(session_ids) -> dict[int, list[Attempt]]:
    grouped: dict[int, list[Attempt]] = defaultdict(list)
    rows = (
        Attempt.objects.filter(session_id__in=list(session_ids))
        .select_related("item", "item_version")
        .order_by("session_id", "position")
    )
    for attempt in rows:
        grouped[attempt.session_id].append(attempt)
    return grouped


def _parameters(attempts: list[Attempt]) -> np.ndarray:
    """The parameters each answer was scored with (the bank's, for rows from before snapshots)."""
    return np.array(
        [
            [
                attempt.a if attempt.a is not None else attempt.item.a or 1.0,
                attempt.b if attempt.b is not None else attempt.item.b or 0.0,
                attempt.c if attempt.c is not None else attempt.item.c or 0.0,
                attempt.d if attempt.d is not None else attempt.item.d or 1.0,
            ]
            for attempt in attempts
        ],
        dtype=float,
    ).reshape(-1, 4)


def _expected(thetas: np.ndarray, params: np.ndarray) -> np.ndarray:
    """P(correct) of each answer at the answering student's final theta, row by row (the 4PL of
    `dreamseed.cat.irt.probability`, elementwise instead of every theta against every item)."""
    if len(params) == 0:
        return np.zeros(0)
    a, b, c, d = params.T
    return c + (d - c) / (1.0 + np.exp(-a * (thetas - b)))


@dataclass
class AreaRow:
    area: str
    count: int = 0
    correct: int = 0
    expected: float = 0.0
    items: set = field(default_factory=set)

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.count if self.count else 0.0

    @property
    def expected_percent(self) -> float:
        return 100.0 * self.expected / self.count if self.count else 0.0

    @property
    def difference(self) -> float:
        """Percentage points above (+) or below (-) what the model expects at this ability."""
        return self.percent - self.expected_percent

    @property
    def item_count(self) -> int:
        return len(self.items)


def content_area_rows(attempts: list[Attempt], thetas: np.ndarray) -> list[AreaRow]:
    """Scored answers grouped by the item's content area, with the model's expectation."""
    expected = _expected(thetas, _parameters(attempts))
    rows: dict[str, AreaRow] = {}
    for attempt, p in zip(attempts, expected, strict=True):
        area = attempt.item.content_area or "—"
        row = rows.setdefault(area, AreaRow(area=area))
        row.count += 1
        row.correct += int(attempt.correct)
        row.expected += float(p)
        row.items.add(attempt.item_id)
    return sorted(rows.values(), key=lambda row: row.area)


def _band(theta: float | None) -> str:
    """The plain-language reading of a score: the class pages' achievement band
    (dreamseed.classes.results.BANDS, one set of cut points), "middle" without an estimate."""
    from dreamseed.classes import results as class_results

    return class_results.band_of(theta) or "middle"


# --- Student report -------------------------------------------------------------------------------


def student_report_data(
    *,
    session: ExamSession,
    attempts: list[Attempt] | None = None,
    other_scores: list[float] | None = None,
    school: str | None = None,
) -> dict:
    """Everything the student report template prints. A bundle passes the session's attempts
    and the class's other scores so the class is read once."""
    assignment = session.assignment
    assessment = assignment.assessment
    if attempts is None:
        attempts = list(assessment_selectors.session_attempts(session=session))
    if other_scores is None:
        other_scores = _class_scores(assignment=assignment, excluding_student_id=session.student_id)
    scored = [attempt for attempt in attempts if not attempt.is_pilot]
    for attempt in attempts:
        attempt.scale_after = assessment.scale_score(attempt.theta_after)
    theta = session.theta if session.theta is not None else 0.0
    areas = content_area_rows(scored, np.full(len(scored), theta))
    # Next steps name an area only when it stands out from what the model expects at this
    # ability (by AREA_MARGIN percentage points), and only with two or more answers in it.
    comparable = [row for row in areas if row.count >= 2] if len(areas) > 1 else []
    weakest = min(comparable, key=lambda row: row.difference, default=None)
    strongest = max(comparable, key=lambda row: row.difference, default=None)
    focus_area = weakest if weakest and weakest.difference <= -AREA_MARGIN else None
    strength_area = strongest if strongest and strongest.difference >= AREA_MARGIN else None
    scale_se = assessment.scale_se(session.standard_error)
    score = session.score
    band_low, band_high = score_band(score, scale_se)
    slope = assessment.scale_slope
    scale_low, scale_high = sorted(
        (assessment.scale_score(-1.0) or 0.0, assessment.scale_score(1.0) or 0.0)
    )
    return {
        "school_name": school if school is not None else school_name(),
        "session": session,
        "student": session.student,
        "student_name": display_name(session.student),
        "assignment": assignment,
        "assessment": assessment,
        "school_class": assignment.school_class,
        "score": score,
        "scale_se": scale_se,
        "band_low": band_low,
        "band_high": band_high,
        "percentile": percentile_rank(score, other_scores),
        "class_count": len(other_scores) + 1,
        "chart": Chart("trajectory", session_trajectory_svg(session=session, attempts=attempts)),
        "areas": areas,
        "focus_area": focus_area,
        "strength_area": strength_area,
        "areas_even": len(comparable) > 1 and not focus_area and not strength_area,
        "band": _band(session.theta if slope >= 0 else -(session.theta or 0.0)),
        "scale_middle": assessment.scale_intercept,
        "scale_low": scale_low,
        "scale_high": scale_high,
        "attempts": attempts,
        "scored_count": len(scored),
        "correct_count": sum(1 for attempt in scored if attempt.correct),
        "generated_at": timezone.now(),
    }


# --- Class report ---------------------------------------------------------------------------------


@dataclass
class StudentRow:
    student: User
    name: str
    session: ExamSession | None
    scale_se: float | None = None
    percentile: float | None = None
    in_progress: bool = False


@dataclass
class UnusualItem:
    external_id: str
    content_area: str
    b: float | None
    responses: int
    percent: float
    expected_percent: float
    z: float
    mean_seconds: float | None
    reasons: list[str]


def class_report_data(*, assignment: Assignment, school: str | None = None) -> dict:
    assessment = assignment.assessment
    finished = latest_finished_sessions(assignment=assignment)
    by_student = {session.student_id: session for session in finished}
    in_progress_ids = set(
        ExamSession.objects.filter(assignment=assignment)
        .exclude(status__in=FINISHED_STATUSES)
        .values_list("student_id", flat=True)
    )
    rows = []
    for student in assignment.school_class.students.order_by("last_name", "first_name", "pk"):
        session = by_student.get(student.pk)
        row = StudentRow(student=student, name=display_name(student), session=session)
        if session is not None:
            row.scale_se = assessment.scale_se(session.standard_error)
            others = [s.score for s in finished if s is not session and s.score is not None]
            row.percentile = percentile_rank(session.score, others)
        row.in_progress = session is None and student.pk in in_progress_ids
        rows.append(row)
    # Students who left the class still count: their sitting is part of the results.
    enrolled = {row.student.pk for row in rows}
    for session in finished:
        if session.student_id not in enrolled:
            others = [s.score for s in finished if s is not session and s.score is not None]
            rows.append(
                StudentRow(
                    student=session.student,
                    name=display_name(session.student),
                    session=session,
                    scale_se=assessment.scale_se(session.standard_error),
                    percentile=percentile_rank(session.score, others),
                )
            )

    attempts = attempts_by_session(s.pk for s in finished)
    scored, thetas = [], []
    for session in finished:
        for attempt in attempts.get(session.pk, []):
            if not attempt.is_pilot:
                scored.append(attempt)
                thetas.append(session.theta if session.theta is not None else 0.0)
    theta_array = np.array(thetas, dtype=float)
    by_band, by_area = _instructional_groups(rows, attempts, assessment)
    return {
        "groups_by_band": by_band,
        "groups_by_area": by_area,
        "group_area_margin": _area_rule()[0],
        "group_area_min_answers": _area_rule()[1],
        "school_name": school if school is not None else school_name(),
        "assignment": assignment,
        "assessment": assessment,
        "school_class": assignment.school_class,
        "teachers": [display_name(t) for t in assignment.school_class.teachers.all()],
        "rows": rows,
        "finished_count": len(finished),
        "enrolled_count": len(enrolled),
        "summary": _summary(finished, assessment),
        "chart": Chart(
            "distribution", assignment_distribution_svg(assignment=assignment, sessions=finished)
        ),
        "areas": content_area_rows(scored, theta_array),
        "unusual": unusual_items(scored, theta_array),
        "first_finished": min((s.ended_at for s in finished if s.ended_at), default=None),
        "last_finished": max((s.ended_at for s in finished if s.ended_at), default=None),
        "generated_at": timezone.now(),
    }


def _area_rule() -> tuple[float, int]:
    from dreamseed.classes import results as class_results

    return class_results.AREA_MARGIN, class_results.AREA_MIN_ANSWERS


def _instructional_groups(rows: list[StudentRow], attempts, assessment):
    """The class page's instructional groups for this one test: by achievement band of the
    student's sitting, and by weakest content area (the same rules, dreamseed.classes.results)."""
    from dreamseed.classes import results as class_results

    students = []
    for row in rows:
        session = row.session
        areas = []
        if session is not None:
            scored = [a for a in attempts.get(session.pk, []) if not a.is_pilot]
            theta = session.theta if session.theta is not None else 0.0
            areas = [
                class_results.AreaResult(
                    area=area.area, answers=area.count, correct=area.correct, expected=area.expected
                )
                for area in content_area_rows(scored, np.full(len(scored), theta))
            ]
        students.append(
            class_results.StudentResult(
                student_id=row.student.pk,
                username=row.student.username,
                first_name=row.student.first_name,
                last_name=row.student.last_name,
                grade="",
                finished=int(session is not None),
                in_progress=int(row.in_progress),
                theta=session.theta if session else None,
                se=session.standard_error if session else None,
                score=session.score if session else None,
                scale_se=row.scale_se,
                scale_name=assessment.scale_name,
                latest_test=assessment.name,
                latest_at=session.ended_at if session else None,
                latest_session_id=session.pk if session else None,
                change=None,
                reliable=None,
                areas=areas,
            )
        )
    for student, row in zip(students, rows, strict=True):
        student.display = row.name
    return class_results.groups_by_band(students), class_results.groups_by_weakest_area(students)


def _summary(finished: list[ExamSession], assessment) -> dict:
    scores = [s.score for s in finished if s.score is not None]
    thetas = [s.theta for s in finished if s.theta is not None]
    ses = [s.standard_error for s in finished if s.standard_error is not None]
    durations = [s.duration.total_seconds() for s in finished if s.ended_at]
    summary = {
        "count": len(scores),
        "mean": statistics.fmean(scores) if scores else None,
        "sd": statistics.stdev(scores) if len(scores) > 1 else None,
        "median": statistics.median(scores) if scores else None,
        "min": min(scores) if scores else None,
        "max": max(scores) if scores else None,
        "mean_se": assessment.scale_se(statistics.fmean(ses)) if ses else None,
        "mean_items": statistics.fmean(s.n_items for s in finished) if finished else None,
        "median_seconds": statistics.median(durations) if durations else None,
        "reliability": None,
    }
    # Marginal reliability: the share of the observed spread of theta that is not measurement
    # error, 1 - mean(SE^2) / var(theta). Only meaningful with a few students.
    if len(thetas) >= 5 and len(ses) == len(thetas):
        variance = statistics.variance(thetas)
        if variance > 0:
            summary["reliability"] = max(0.0, 1 - statistics.fmean(se**2 for se in ses) / variance)
    return summary


def unusual_items(attempts: list[Attempt], thetas: np.ndarray) -> list[UnusualItem]:
    """Items whose answers in this class stray from the model, or that took unusually long.

    For each item, O = correct answers, E = sum of P(correct) at each answering student's final
    theta, and z = (O - E) / sqrt(sum P(1 - P)): |z| >= 2 flags an item that was much harder or
    easier here than its calibration says (a mis-keyed item, or a topic not yet taught)."""
    if not attempts:
        return []
    expected = _expected(thetas, _parameters(attempts))
    by_item: dict[int, list[int]] = defaultdict(list)
    for index, attempt in enumerate(attempts):
        by_item[attempt.item_id].append(index)
    times = {
        item_id: [attempts[i].response_time_ms for i in indices if attempts[i].response_time_ms]
        for item_id, indices in by_item.items()
    }
    mean_times = {item_id: statistics.fmean(t) for item_id, t in times.items() if t}
    median_time = statistics.median(mean_times.values()) if mean_times else None
    found = []
    for item_id, indices in by_item.items():
        if len(indices) < UNUSUAL_MIN_RESPONSES:
            continue
        p = expected[indices]
        observed = sum(int(attempts[i].correct) for i in indices)
        variance = float(np.sum(p * (1 - p)))
        z = (observed - float(p.sum())) / math.sqrt(variance) if variance > 0 else 0.0
        reasons = []
        if z <= -UNUSUAL_Z:
            reasons.append("harder")
        elif z >= UNUSUAL_Z:
            reasons.append("easier")
        mean_ms = mean_times.get(item_id)
        if median_time and mean_ms and mean_ms > UNUSUAL_SLOW_FACTOR * median_time:
            reasons.append("slow")
        if not reasons:
            continue
        item = attempts[indices[0]].item
        found.append(
            UnusualItem(
                external_id=item.external_id,
                content_area=item.content_area,
                b=item.b,
                responses=len(indices),
                percent=100.0 * observed / len(indices),
                expected_percent=100.0 * float(p.mean()),
                z=z,
                mean_seconds=None if mean_ms is None else mean_ms / 1000,
                reasons=reasons,
            )
        )
    found.sort(key=lambda row: (-abs(row.z), row.external_id))
    return found[:UNUSUAL_LIMIT]


# --- Weekly digest --------------------------------------------------------------------------------


def teacher_week_summary(*, teacher: User, start, end) -> list[dict]:
    """The teacher's assignments with sittings finished in [start, end), with counts and means."""
    finished_in_week = Q(
        sessions__status__in=FINISHED_STATUSES,
        sessions__ended_at__gte=start,
        sessions__ended_at__lt=end,
    )
    assignments = (
        Assignment.objects.filter(
            school_class__teachers=teacher, school_class__archived_at__isnull=True
        )
        .select_related("assessment", "school_class")
        .annotate(
            finished_week=Count("sessions", filter=finished_in_week, distinct=True),
            mean_score_week=Avg("sessions__score", filter=finished_in_week),
            finished_total=Count(
                "sessions", filter=Q(sessions__status__in=FINISHED_STATUSES), distinct=True
            ),
        )
        .filter(finished_week__gt=0)
        .order_by("school_class__name", "assessment__name")
    )
    enrolled = dict(
        Class.objects.filter(pk__in=[a.school_class_id for a in assignments])
        .annotate(n=Count("students", distinct=True))
        .values_list("pk", "n")
    )
    return [
        {
            "assignment": assignment,
            "finished_week": assignment.finished_week,
            "finished_total": assignment.finished_total,
            "mean_score_week": assignment.mean_score_week,
            "enrolled": enrolled.get(assignment.school_class_id, 0),
        }
        for assignment in assignments
    ]
