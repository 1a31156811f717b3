"""What students learned, read from their sittings: per-class summaries, per-test rows, per-student
results with growth, content areas, instructional groups, and a student's own history.

The numbers are computed by PostgreSQL, a fixed number of statements per page whatever the size
of the class or the school (the class page: one statement per block; the school statistics page:
one statement for every class). Python only shapes rows and applies two documented rules:

- achievement bands on theta (`BANDS`, the same cut points the PDF reports use), and
- reliable change: two sittings on the same scale differ beyond measurement error when
  |theta2 - theta1| > 1.96 * sqrt(se1^2 + se2^2) (Jacobson & Truax's reliable change index with
  each sitting's own standard error, which adaptive tests report per student).

Which sittings count: the students *enrolled now*, sittings of the class's assignments, finished
(completed or timed out) with an estimate. A test a student sat twice counts once in the test's
means (their latest sitting), and both sittings count for growth.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dreamseed.assessments.models import FINISHED_STATUSES, score_band

#: Achievement bands on theta (logits; 0 is the mean of the calibration sample). Each band is
#: [previous ceiling, ceiling); the last is everything from 1.0 up. Shared with reports.
BANDS = (
    ("well_below", None, -1.0, _("Well below average")),
    ("below", -1.0, -0.35, _("Below average")),
    ("middle", -0.35, 0.35, _("Around average")),
    ("above", 0.35, 1.0, _("Above average")),
    ("well_above", 1.0, None, _("Well above average")),
)
BAND_LABELS = {key: label for key, _low, _high, label in BANDS}
#: Reliable change: |diff| > RELIABLE_Z * sqrt(se1^2 + se2^2).
RELIABLE_Z = 1.96
#: A content area is "strong" or "weak" for a student when their share correct differs from what
#: the items' calibration predicts at their ability by at least this many percentage points, with
#: at least AREA_MIN_ANSWERS scored answers in it (fewer says nothing).
AREA_MARGIN = 10.0
AREA_MIN_ANSWERS = 4

_FINISHED = tuple(str(status) for status in FINISHED_STATUSES)


def band_of(theta: float | None) -> str | None:
    if theta is None:
        return None
    for key, _low, high, _label in BANDS:
        if high is None or theta < high:
            return key
    return None  # unreachable: the last band has no ceiling


def reliable_change(theta1, se1, theta2, se2) -> bool | None:
    """True when the change from sitting 1 to sitting 2 is larger than measurement error."""
    if None in (theta1, se1, theta2, se2):
        return None
    return abs(theta2 - theta1) > RELIABLE_Z * (se1**2 + se2**2) ** 0.5


def _rows(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        # A repeated column name (cur.*'s class_id) keeps its last value.
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# Every finished sitting (with an estimate) of a student enrolled now, in the given classes, with
# its test's reporting scale. Both the per-class and the per-student statements start from it.
_FINISHED_CTE = """
fin AS (
    SELECT asg.school_class_id AS class_id, s.student_id, s.id, s.assignment_id,
           s.attempt_number, s.theta, s.standard_error AS se, s.score,
           COALESCE(s.ended_at, s.started_at) AS ended_at, asg.assessment_id
    FROM assessments_examsession s
    JOIN assessments_assignment asg ON asg.id = s.assignment_id
    JOIN classes_enrollment en
      ON en.school_class_id = asg.school_class_id AND en.student_id = s.student_id
    WHERE asg.school_class_id = ANY(%(classes)s) AND s.status = ANY(%(finished)s)
      AND s.theta IS NOT NULL AND s.standard_error IS NOT NULL
),
-- each student's most recent finished sitting in the class: their current result
latest AS (
    SELECT DISTINCT ON (f.class_id, f.student_id) f.*, t.name AS assessment_name,
           t.scale_name, t.scale_intercept, t.scale_slope
    FROM fin f JOIN assessments_assessment t ON t.id = f.assessment_id
    ORDER BY f.class_id, f.student_id, f.ended_at DESC, f.id DESC
),
-- their earliest earlier sitting on the same scale as the latest: growth is first -> latest
earliest AS (
    SELECT DISTINCT ON (f.class_id, f.student_id) f.class_id, f.student_id, f.theta, f.se,
           f.score
    FROM fin f
    JOIN latest l ON l.class_id = f.class_id AND l.student_id = f.student_id
    JOIN assessments_assessment t ON t.id = f.assessment_id
    WHERE f.id <> l.id AND t.scale_name = l.scale_name
      AND t.scale_intercept = l.scale_intercept AND t.scale_slope = l.scale_slope
      AND (f.ended_at, f.id) < (l.ended_at, l.id)
    ORDER BY f.class_id, f.student_id, f.ended_at, f.id
),
growth AS (
    SELECT l.class_id, l.student_id, l.score - e.score AS change,
           l.theta - e.theta AS theta_change,
           abs(l.theta - e.theta) > %(reliable_z)s * sqrt(l.se ^ 2 + e.se ^ 2) AS reliable
    FROM latest l JOIN earliest e ON e.class_id = l.class_id AND e.student_id = l.student_id
)"""

# (student, assignment) pairs with a sitting, of students enrolled now and assignments already
# open, and whether one of the pair's sittings is finished. Pairs without a sitting are "not
# started": students x open assignments, minus these.
_PAIRS_CTE = """
pairs AS (
    SELECT asg.school_class_id AS class_id, s.assignment_id, s.student_id,
           bool_or(s.status = ANY(%(finished)s)) AS completed
    FROM assessments_examsession s
    JOIN assessments_assignment asg ON asg.id = s.assignment_id
    JOIN classes_enrollment en
      ON en.school_class_id = asg.school_class_id AND en.student_id = s.student_id
    WHERE asg.school_class_id = ANY(%(classes)s) AND asg.opens_at <= %(now)s
    GROUP BY asg.school_class_id, s.assignment_id, s.student_id
)"""


def _band_sql(column: str) -> str:
    parts = []
    for key, low, high, _label in BANDS:
        condition = " AND ".join(
            part
            for part in (
                f"{column} >= {low!r}" if low is not None else "",
                f"{column} < {high!r}" if high is not None else "",
            )
            if part
        )
        parts.append(f"count(*) FILTER (WHERE {condition}) AS band_{key}")
    return ",\n           ".join(parts)


def _params(class_ids, **extra) -> dict:
    return {
        "classes": list(class_ids),
        "finished": list(_FINISHED),
        "reliable_z": RELIABLE_Z,
        "now": timezone.now(),
        **extra,
    }


# --- Per class ------------------------------------------------------------------------------------


@dataclass
class ClassSummary:
    """A class's results at a glance. Counts of (student, test) pairs are over tests already open
    and students enrolled now."""

    class_id: int
    student_count: int = 0
    tests_assigned: int = 0
    pairs: int = 0
    started: int = 0
    completed: int = 0
    students_with_results: int = 0
    mean_theta: float | None = None
    median_theta: float | None = None
    mean_se: float | None = None
    # Scale scores are comparable only when every latest result is on the same scale.
    scale_count: int = 0
    scale_name: str = ""
    mean_score: float | None = None
    median_score: float | None = None
    mean_scale_se: float | None = None
    bands: list[tuple[str, str, int]] = field(default_factory=list)
    growth_count: int = 0
    mean_change: float | None = None
    grew: int = 0
    declined: int = 0
    latest_test: str = ""
    latest_at: datetime | None = None

    @property
    def not_started(self) -> int:
        return self.pairs - self.started

    @property
    def in_progress(self) -> int:
        return self.started - self.completed

    @property
    def has_results(self) -> bool:
        return self.students_with_results > 0

    @property
    def one_scale(self) -> bool:
        return self.scale_count == 1

    @property
    def band_max(self) -> int:
        return max((count for _key, _label, count in self.bands), default=0)


_SUMMARY_SQL = f"""
WITH {_FINISHED_CTE},
{_PAIRS_CTE},
students AS (
    SELECT school_class_id AS class_id, count(*) AS n
    FROM classes_enrollment WHERE school_class_id = ANY(%(classes)s) GROUP BY school_class_id
),
assigned AS (
    SELECT school_class_id AS class_id, count(*) AS n FROM assessments_assignment
    WHERE school_class_id = ANY(%(classes)s) AND opens_at <= %(now)s GROUP BY school_class_id
),
pair_counts AS (
    SELECT class_id, count(*) AS started, count(*) FILTER (WHERE completed) AS completed
    FROM pairs GROUP BY class_id
),
current AS (
    SELECT class_id, count(*) AS with_results, avg(theta) AS mean_theta,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY theta) AS median_theta,
           avg(se) AS mean_se,
           count(DISTINCT (scale_name, scale_intercept, scale_slope)) AS scale_count,
           min(scale_name) AS scale_name, avg(score) AS mean_score,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY score) AS median_score,
           avg(se * abs(scale_slope)) AS mean_scale_se,
           {_band_sql("theta")}
    FROM latest GROUP BY class_id
),
growth_counts AS (
    SELECT class_id, count(*) AS n, avg(change) AS mean_change,
           count(*) FILTER (WHERE reliable AND theta_change > 0) AS grew,
           count(*) FILTER (WHERE reliable AND theta_change < 0) AS declined
    FROM growth GROUP BY class_id
),
last_test AS (
    SELECT DISTINCT ON (class_id) class_id, assessment_name, ended_at
    FROM latest ORDER BY class_id, ended_at DESC, id DESC
)
SELECT cur.*, c.id AS class_id, COALESCE(st.n, 0) AS student_count,
       COALESCE(a.n, 0) AS tests_assigned, COALESCE(st.n, 0) * COALESCE(a.n, 0) AS pairs,
       COALESCE(p.started, 0) AS started, COALESCE(p.completed, 0) AS completed,
       g.n AS growth_count, g.mean_change, g.grew, g.declined,
       lt.assessment_name AS latest_test, lt.ended_at AS latest_at
FROM classes_class c
LEFT JOIN students st ON st.class_id = c.id
LEFT JOIN assigned a ON a.class_id = c.id
LEFT JOIN pair_counts p ON p.class_id = c.id
LEFT JOIN current cur ON cur.class_id = c.id
LEFT JOIN growth_counts g ON g.class_id = c.id
LEFT JOIN last_test lt ON lt.class_id = c.id
WHERE c.id = ANY(%(classes)s)
"""


def class_summaries(*, class_ids) -> dict[int, ClassSummary]:
    """The results summary of each class, in one statement for any number of classes."""
    class_ids = list(class_ids)
    if not class_ids:
        return {}
    summaries = {}
    for row in _rows(_SUMMARY_SQL, _params(class_ids)):
        summary = ClassSummary(
            class_id=row["class_id"],
            student_count=row["student_count"],
            tests_assigned=row["tests_assigned"],
            pairs=row["pairs"],
            started=row["started"],
            completed=row["completed"],
            students_with_results=row["with_results"] or 0,
            mean_theta=row["mean_theta"],
            median_theta=row["median_theta"],
            mean_se=row["mean_se"],
            scale_count=row["scale_count"] or 0,
            scale_name=row["scale_name"] or "",
            mean_score=row["mean_score"],
            median_score=row["median_score"],
            mean_scale_se=row["mean_scale_se"],
            growth_count=row["growth_count"] or 0,
            mean_change=row["mean_change"],
            grew=row["grew"] or 0,
            declined=row["declined"] or 0,
            latest_test=row["latest_test"] or "",
            latest_at=row["latest_at"],
        )
        if summary.has_results:
            summary.bands = [
                (key, str(label), row[f"band_{key}"]) for key, _low, _high, label in BANDS
            ]
        summaries[summary.class_id] = summary
    return summaries


def class_summary(*, school_class) -> ClassSummary:
    return class_summaries(class_ids=[school_class.pk])[school_class.pk]


@dataclass
class TestRow:
    """One assignment of the class: who started and finished, and the scores of the finished."""

    assignment_id: int
    assessment_name: str
    scale_name: str
    opens_at: datetime
    closes_at: datetime
    pairs: int
    started: int
    completed: int
    mean_score: float | None
    median_score: float | None
    mean_scale_se: float | None
    mean_theta: float | None

    @property
    def not_started(self) -> int:
        return self.pairs - self.started

    @property
    def in_progress(self) -> int:
        return self.started - self.completed

    @property
    def is_open(self) -> bool:
        return self.opens_at <= timezone.now() < self.closes_at


_TESTS_SQL = f"""
WITH {_FINISHED_CTE},
{_PAIRS_CTE},
per_test AS (
    SELECT DISTINCT ON (assignment_id, student_id) *
    FROM fin ORDER BY assignment_id, student_id, attempt_number DESC
),
scores AS (
    SELECT assignment_id, avg(score) AS mean_score,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY score) AS median_score,
           avg(se) AS mean_se, avg(theta) AS mean_theta
    FROM per_test GROUP BY assignment_id
),
pair_counts AS (
    SELECT assignment_id, count(*) AS started, count(*) FILTER (WHERE completed) AS completed
    FROM pairs GROUP BY assignment_id
),
students AS (
    SELECT count(*) AS n FROM classes_enrollment WHERE school_class_id = ANY(%(classes)s)
)
SELECT asg.id AS assignment_id, t.name AS assessment_name, t.scale_name, asg.opens_at,
       asg.closes_at, (SELECT n FROM students) AS pairs, COALESCE(p.started, 0) AS started,
       COALESCE(p.completed, 0) AS completed, sc.mean_score, sc.median_score,
       sc.mean_se * abs(t.scale_slope) AS mean_scale_se, sc.mean_theta
FROM assessments_assignment asg
JOIN assessments_assessment t ON t.id = asg.assessment_id
LEFT JOIN pair_counts p ON p.assignment_id = asg.id
LEFT JOIN scores sc ON sc.assignment_id = asg.id
WHERE asg.school_class_id = ANY(%(classes)s) AND asg.opens_at <= %(now)s
ORDER BY asg.opens_at DESC, asg.id DESC
"""


def class_tests(*, school_class) -> list[TestRow]:
    """Every test already open in the class, newest first (one statement)."""
    return [TestRow(**row) for row in _rows(_TESTS_SQL, _params([school_class.pk]))]


# --- Per student, within a class ------------------------------------------------------------------


@dataclass
class AreaResult:
    """Scored answers in one content area: observed against what the calibration expects at the
    answering student's final ability in that sitting."""

    area: str
    answers: int = 0
    correct: int = 0
    expected: float = 0.0

    @classmethod
    def from_row(cls, row: dict) -> "AreaResult":
        """From a row of the per-student or per-class areas query."""
        return cls(
            area=row["area"],
            answers=row["answers"],
            correct=row["correct"],
            expected=float(row["expected"] or 0.0),
        )

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.answers if self.answers else 0.0

    @property
    def expected_percent(self) -> float:
        return 100.0 * self.expected / self.answers if self.answers else 0.0

    @property
    def difference(self) -> float:
        return self.percent - self.expected_percent

    @property
    def judged(self) -> bool:
        return self.answers >= AREA_MIN_ANSWERS

    @property
    def strength(self) -> str:
        """ "strong", "weak", or "" (as expected, or too few answers to say)."""
        if not self.judged:
            return ""
        if self.difference >= AREA_MARGIN:
            return "strong"
        if self.difference <= -AREA_MARGIN:
            return "weak"
        return ""


# P(correct) of each scored answer at the sitting's final theta, with the parameters the answer was
# scored with (the bank's for rows from before parameter snapshots). exp() is clamped: PostgreSQL
# raises on overflow where numpy would return inf.
_EXPECTED_SQL = """
    COALESCE(at.c, i.c, 0) + (COALESCE(at.d, i.d, 1) - COALESCE(at.c, i.c, 0))
    / (1 + exp(LEAST(50, GREATEST(-50,
        -COALESCE(at.a, i.a, 1) * (f.theta - COALESCE(at.b, i.b, 0))))))"""

_AREAS_SQL = f"""
WITH {_FINISHED_CTE}
SELECT f.student_id, COALESCE(NULLIF(i.content_area, ''), '—') AS area,
       count(*) AS answers, count(*) FILTER (WHERE at.correct) AS correct,
       sum({_EXPECTED_SQL}) AS expected
FROM fin f
JOIN assessments_attempt at ON at.session_id = f.id AND NOT at.is_pilot
JOIN itembank_item i ON i.id = at.item_id
WHERE f.student_id = ANY(%(students)s)
GROUP BY f.student_id, area
ORDER BY f.student_id, area
"""


def student_areas(*, class_ids, student_ids=None) -> dict[int, list[AreaResult]]:
    """Content-area results per student, over their finished sittings in these classes."""
    params = _params(class_ids, students=list(student_ids or []))
    sql = _AREAS_SQL
    if student_ids is None:
        sql = sql.replace("WHERE f.student_id = ANY(%(students)s)", "")
    by_student: dict[int, list[AreaResult]] = defaultdict(list)
    for row in _rows(sql, params):
        by_student[row["student_id"]].append(AreaResult.from_row(row))
    return by_student


_CLASS_AREAS_SQL = f"""
WITH {_FINISHED_CTE}
SELECT f.class_id, COALESCE(NULLIF(i.content_area, ''), '—') AS area,
       count(*) AS answers, count(*) FILTER (WHERE at.correct) AS correct,
       sum({_EXPECTED_SQL}) AS expected
FROM fin f
JOIN assessments_attempt at ON at.session_id = f.id AND NOT at.is_pilot
JOIN itembank_item i ON i.id = at.item_id
GROUP BY f.class_id, area
ORDER BY f.class_id, area
"""


def class_areas(*, class_ids) -> dict[int, list[AreaResult]]:
    """Content-area results per class (the same sums as `area_totals` over its students), for
    every class in one statement: the school statistics page."""
    by_class: dict[int, list[AreaResult]] = defaultdict(list)
    for row in _rows(_CLASS_AREAS_SQL, _params(class_ids)):
        by_class[row["class_id"]].append(AreaResult.from_row(row))
    return by_class


def area_totals(areas_by_student: dict[int, list[AreaResult]]) -> list[AreaResult]:
    """Per-area totals over students (sums of answers, correct and expected)."""
    totals: dict[str, AreaResult] = {}
    for areas in areas_by_student.values():
        for row in areas:
            total = totals.setdefault(row.area, AreaResult(area=row.area))
            total.answers += row.answers
            total.correct += row.correct
            total.expected += row.expected
    return sorted(totals.values(), key=lambda row: row.area)


def weakest_area(areas: list[AreaResult]) -> AreaResult | None:
    weak = [row for row in areas if row.strength == "weak"]
    return min(weak, key=lambda row: (row.difference, row.area), default=None)


@dataclass
class StudentResult:
    """One enrolled student's results in a class."""

    student_id: int
    username: str
    first_name: str
    last_name: str
    grade: str
    finished: int
    in_progress: int
    theta: float | None
    se: float | None
    score: float | None
    scale_se: float | None
    scale_name: str
    latest_test: str
    latest_at: datetime | None
    latest_session_id: int | None
    change: float | None
    reliable: bool | None
    rank: int | None = None
    areas: list[AreaResult] = field(default_factory=list)

    @property
    def name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.username

    @property
    def sort_name(self) -> str:
        if self.last_name and self.first_name:
            return f"{self.last_name}, {self.first_name}"
        return self.name

    @property
    def band(self) -> str | None:
        return band_of(self.theta)

    @property
    def band_label(self) -> str:
        return str(BAND_LABELS[self.band]) if self.band else ""

    @property
    def weakest(self) -> AreaResult | None:
        return weakest_area(self.areas)

    @property
    def strong_areas(self) -> list[AreaResult]:
        return [row for row in self.areas if row.strength == "strong"]

    @property
    def weak_areas(self) -> list[AreaResult]:
        return [row for row in self.areas if row.strength == "weak"]

    @property
    def growth(self) -> str:
        """ "up", "down" (beyond measurement error), "same" (within it) or "" (one sitting)."""
        if self.change is None:
            return ""
        if not self.reliable:
            return "same"
        return "up" if self.change > 0 else "down"


_STUDENTS_SQL = f"""
WITH {_FINISHED_CTE},
counts AS (
    SELECT s.student_id, count(*) FILTER (WHERE s.status = ANY(%(finished)s)) AS finished,
           count(*) FILTER (WHERE NOT s.status = ANY(%(finished)s)) AS in_progress
    FROM assessments_examsession s
    JOIN assessments_assignment asg ON asg.id = s.assignment_id
    WHERE asg.school_class_id = ANY(%(classes)s)
    GROUP BY s.student_id
)
SELECT u.id AS student_id, u.username, u.first_name, u.last_name,
       COALESCE(p.grade, '') AS grade, COALESCE(c.finished, 0) AS finished,
       COALESCE(c.in_progress, 0) AS in_progress, l.theta, l.se, l.score,
       l.se * abs(l.scale_slope) AS scale_se, COALESCE(l.scale_name, '') AS scale_name,
       COALESCE(l.assessment_name, '') AS latest_test, l.ended_at AS latest_at,
       l.id AS latest_session_id, g.change, g.reliable
FROM classes_enrollment en
JOIN accounts_user u ON u.id = en.student_id
LEFT JOIN classes_studentprofile p ON p.user_id = u.id
LEFT JOIN counts c ON c.student_id = u.id
LEFT JOIN latest l ON l.student_id = u.id
LEFT JOIN growth g ON g.student_id = u.id
WHERE en.school_class_id = ANY(%(classes)s)
ORDER BY u.last_name, u.first_name, u.username, u.id
"""


def class_student_results(*, school_class, with_areas: bool = True) -> list[StudentResult]:
    """Every enrolled student with their current result, growth and (optionally) content areas:
    two statements. `rank` orders students by their latest theta (1 = highest; ties share)."""
    students = [StudentResult(**row) for row in _rows(_STUDENTS_SQL, _params([school_class.pk]))]
    if with_areas and any(student.finished for student in students):
        areas = student_areas(class_ids=[school_class.pk])
        for student in students:
            student.areas = areas.get(student.student_id, [])
    ranked = sorted((s for s in students if s.theta is not None), key=lambda s: -s.theta)
    previous, rank = None, 0
    for position, student in enumerate(ranked, start=1):
        if student.theta != previous:
            rank, previous = position, student.theta
        student.rank = rank
    return students


# --- Instructional groups -------------------------------------------------------------------------


@dataclass
class Group:
    key: str
    label: str
    students: list[StudentResult]
    description: str = ""


def groups_by_band(students: list[StudentResult]) -> list[Group]:
    """Students by the achievement band of their latest result, lowest band first; students
    without a result last. Empty bands are left out."""
    groups = []
    for key, low, high, label in BANDS:
        members = [s for s in students if s.band == key]
        if members:
            groups.append(Group(key=key, label=str(label), students=members,
                                description=_theta_range(low, high)))  # fmt: skip
    missing = [s for s in students if s.band is None]
    if missing:
        groups.append(Group(key="none", label=str(_("No result yet")), students=missing))
    return groups


def _theta_range(low, high) -> str:
    if low is None:
        return f"θ < {high:g}"
    if high is None:
        return f"θ ≥ {low:g}"
    return f"{low:g} ≤ θ < {high:g}"


def groups_by_weakest_area(students: list[StudentResult]) -> list[Group]:
    """Students by their weakest content area (one that is clearly below what their ability
    predicts); then those with no clearly weak area, then those without results."""
    by_area: dict[str, list[StudentResult]] = defaultdict(list)
    even, missing = [], []
    for student in students:
        weakest = student.weakest
        if student.theta is None:
            missing.append(student)
        elif weakest is None:
            even.append(student)
        else:
            by_area[weakest.area].append(student)
    groups = [
        Group(key=f"area:{area}", label=area, students=members)
        for area, members in sorted(by_area.items())
    ]
    if even:
        groups.append(Group(key="even", label=str(_("No clearly weak area")), students=even))
    if missing:
        groups.append(Group(key="none", label=str(_("No result yet")), students=missing))
    return groups


# --- One student's history ------------------------------------------------------------------------


@dataclass
class Sitting:
    """One sitting in a student's history, with its change from the previous finished sitting on
    the same scale (same scale name, intercept and slope)."""

    session: object  # ExamSession, with assignment__assessment and assignment__school_class
    visible: bool = True  # False: a student's own sitting of a test that hides results
    scale_se: float | None = None
    change: float | None = None
    reliable: bool | None = None

    @property
    def assessment(self):
        return self.session.assignment.assessment

    @property
    def band_low(self):
        return score_band(self.session.score, self.scale_se)[0]

    @property
    def band_high(self):
        return score_band(self.session.score, self.scale_se)[1]

    @property
    def growth(self) -> str:
        if self.change is None:
            return ""
        if not self.reliable:
            return "same"
        return "up" if self.change > 0 else "down"


@dataclass
class GrowthSeries:
    scale_name: str
    sittings: list[Sitting]
    chart: str = ""

    @property
    def first(self) -> Sitting:
        return self.sittings[0]

    @property
    def last(self) -> Sitting:
        return self.sittings[-1]

    @property
    def change(self) -> float | None:
        if len(self.sittings) < 2:
            return None
        return self.last.session.score - self.first.session.score

    @property
    def reliable(self) -> bool | None:
        if len(self.sittings) < 2:
            return None
        first, last = self.first.session, self.last.session
        return reliable_change(first.theta, first.standard_error, last.theta, last.standard_error)


def _scale_key(assessment) -> tuple:
    return (assessment.scale_name, assessment.scale_intercept, assessment.scale_slope)


def _ended(session):
    return session.ended_at or session.started_at


def student_history(*, sessions, for_student: bool = False) -> tuple[list[Sitting], list]:
    """A student's sittings (newest first) and one growth series per scale, from `sessions`
    (an ExamSession queryset with assignment__assessment and assignment__school_class).

    For the student themselves (`for_student`), a sitting of a test that does not show students
    their result keeps its date and status but no score, and stays out of growth."""
    from dreamseed.classes.charts import growth_chart

    sittings = [Sitting(session=session) for session in sessions]
    sittings.sort(key=lambda s: (_ended(s.session), s.session.pk))
    previous: dict[tuple, Sitting] = {}
    series: dict[tuple, list[Sitting]] = defaultdict(list)
    for sitting in sittings:
        session, assessment = sitting.session, sitting.session.assignment.assessment
        sitting.visible = not for_student or assessment.show_results_to_students
        sitting.scale_se = assessment.scale_se(session.standard_error)
        if not (session.is_finished and session.theta is not None and sitting.visible):
            continue
        key = _scale_key(assessment)
        before = previous.get(key)
        if before is not None and session.standard_error is not None:
            sitting.change = session.score - before.session.score
            sitting.reliable = reliable_change(
                before.session.theta,
                before.session.standard_error,
                session.theta,
                session.standard_error,
            )
        previous[key] = sitting
        series[key].append(sitting)
    growth = []
    for index, (key, members) in enumerate(series.items()):
        scale_name = key[0]
        entry = GrowthSeries(scale_name=scale_name, sittings=members)
        scores = [s.session.score for s in members]
        entry.chart = growth_chart(
            [_ended(s.session) for s in members],
            scores,
            [s.scale_se or 0.0 for s in members],
            reliable=[bool(s.reliable) for s in members],
            title=str(_("%(scale)s over time") % {"scale": scale_name}),
            description=str(
                _(
                    "%(count)s finished sittings, from %(first)s to %(last)s; each with a band "
                    "of one standard error. A ring marks a change beyond measurement error."
                )
                % {
                    "count": len(members),
                    "first": f"{scores[0]:.0f}",
                    "last": f"{scores[-1]:.0f}",
                }
            ),
            y_label=scale_name,
            x_label=str(_("Date finished")),
            chart_id=f"growth-{index}",
        )
        growth.append(entry)
    sittings.reverse()
    return sittings, growth


# --- Teacher home: what needs attention -----------------------------------------------------------

ATTENTION_LIMIT = 10

_NOT_STARTED_SQL = """
SELECT asg.id AS assignment_id, count(*) AS n,
       (array_agg(COALESCE(NULLIF(trim(u.first_name || ' ' || u.last_name), ''), u.username)
                  ORDER BY u.last_name, u.first_name, u.username))[1:%(limit)s] AS names
FROM assessments_assignment asg
JOIN classes_enrollment en ON en.school_class_id = asg.school_class_id
JOIN accounts_user u ON u.id = en.student_id AND u.is_active
WHERE asg.id = ANY(%(assignments)s)
  AND NOT EXISTS (SELECT 1 FROM assessments_examsession s
                  WHERE s.assignment_id = asg.id AND s.student_id = en.student_id)
GROUP BY asg.id
"""

_DECLINED_SQL = f"""
WITH {_FINISHED_CTE}
SELECT g.class_id, c.name AS class_name, g.student_id, g.change,
       COALESCE(NULLIF(trim(u.first_name || ' ' || u.last_name), ''), u.username) AS name
FROM growth g
JOIN accounts_user u ON u.id = g.student_id
JOIN classes_class c ON c.id = g.class_id
WHERE g.reliable AND g.theta_change < 0
ORDER BY g.change, name
LIMIT %(limit)s
"""


def teacher_attention(*, classes, since, now=None) -> dict:
    """For a teacher's home: tests open now and who has not started them, sittings finished
    since `since` (flagged when many answers were rapid guesses), and students whose latest
    result fell by more than the measurement error. At most five statements, whatever the number
    of classes."""
    from dreamseed.assessments.models import Assignment, ExamSession

    now = now or timezone.now()
    class_ids = list(classes.values_list("pk", flat=True))
    open_tests = list(
        Assignment.objects.filter(
            school_class_id__in=class_ids,
            opens_at__lte=now,
            closes_at__gt=now,
            assessment__archived_at__isnull=True,
        )
        .select_related("assessment", "school_class")
        .order_by("closes_at", "pk")
    )
    not_started = {}
    if open_tests:
        params = {"assignments": [a.pk for a in open_tests], "limit": ATTENTION_LIMIT}
        not_started = {row["assignment_id"]: row for row in _rows(_NOT_STARTED_SQL, params)}
    for assignment in open_tests:
        row = not_started.get(assignment.pk)
        assignment.not_started_count = row["n"] if row else 0
        assignment.not_started_names = row["names"] if row else []
    finished = ExamSession.objects.filter(
        assignment__school_class_id__in=class_ids,
        status__in=FINISHED_STATUSES,
        ended_at__gt=since,
    )
    recent = list(
        finished.select_related(
            "student", "assignment__assessment", "assignment__school_class"
        ).order_by("-ended_at")[:ATTENTION_LIMIT]
    )
    if recent:
        # Sittings with many rapid guesses (answers faster than the item's normative threshold)
        # measured effort more than ability: flag them (one statement, only when there are some).
        from dreamseed.assessments.engagement import LOW_EFFORT_SHARE, sessions_rapid_counts

        counts = sessions_rapid_counts(session_ids=[session.pk for session in recent])
        for session in recent:
            rapid, answered = counts.get(session.pk, (0, 0))
            session.rapid = rapid
            session.low_effort = answered > 0 and rapid / answered > LOW_EFFORT_SHARE
    declined = []
    if class_ids:
        declined = _rows(_DECLINED_SQL, _params(class_ids, limit=ATTENTION_LIMIT))
    return {
        "open_tests": open_tests,
        "recent": recent,
        # The count only when the list is cut short (one more statement, only then).
        "recent_count": finished.count() if len(recent) == ATTENTION_LIMIT else len(recent),
        "declined": declined,
        "since": since,
    }
