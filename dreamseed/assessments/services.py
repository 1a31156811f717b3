"""Running an adaptive test: start, answer, pause/resume/reset, and time-out.

The rule everything here keeps: a session's state is in the database and every change to it is
atomic. An answer records the Attempt, updates theta/SE, checks the stopping rule and stores
the next pending item in one statement, written only if the session row is still the version
the answer was judged against (otherwise it is judged again); the rarer changes (start, pause,
resume, reset, time-out) run in a transaction holding the session's row lock. Either way a
reload, a double submit or a second tab can never see half of a change, nor apply one twice.

What an answer request keeps in the process (never in Redis; each process has its own copy).
Every key starts with the school, so no school can be served another's entry:

- Host -> school (dreamseed/schools/middleware.py): key the request's host name; kept
  TENANT_HOST_CACHE_SECONDS (0, off, in tests); the whole map is cleared when a School or Domain
  is saved or deleted in this process; other processes see the change within the TTL.
- Item pool (pools.pool_for): key (schema, assessment id, assessment `updated`, bank revision);
  saving the assessment moves `updated` and any item parameter or status change bumps the
  BankRevision, so a stale pool becomes unreachable (no explicit invalidation); LRU of
  MAX_CACHED_POOLS.
- Assessment (pools.assessment_at): key (schema, assessment id, `updated`), the stamp read with
  the session row, so a teacher's edit is seen by the next answer; LRU of MAX_CACHED_ASSESSMENTS.
- Item version for display (pools.version_for_display): key (schema, version id); kept
  VERSION_CACHE_SECONDS, LRU of MAX_CACHED_VERSIONS; a version's content never changes once
  students can see it (editing an item in use makes a new version), so nothing invalidates it.
The question's HTML is rendered per request (caching it on the shared version measured no gain).

pools.pool_cache_clear() empties the pool, assessment and version caches at once (tests).
The SQL of dreamseed/core/hotpath.py is also built once per process (per model and field set,
schema-independent) and skips model save signals: ExamSession and Attempt must have no save
receiver that the answer path needs (also checked by test_answer_path_guards.py).
"""

import dataclasses
import functools
import math
import random
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dreamseed.assessments.models import (
    Accommodation,
    Assessment,
    Assignment,
    Attempt,
    ExamSession,
    SessionStatus,
)
from dreamseed.assessments.pools import (
    AssessmentPool,
    assessment_at,
    pool_for,
    version_for_display,
)
from dreamseed.assessments.signals import session_finished
from dreamseed.cat import StoppingRule, cat_step, estimate, estimate_poly, make_bank
from dreamseed.cat.exceptions import CatError
from dreamseed.classes.models import StudentProfile
from dreamseed.core import hotpath
from dreamseed.itembank.kinds import response_clean
from dreamseed.itembank.models import BankRevision, Item
from dreamseed.schools.licensing import school_can_start_tests

STOP_TIME_UP = "time_up"
STOP_WINDOW_CLOSED = "window_closed"
STOP_NO_ITEMS = "pool_exhausted"

# What an engine step changes on the session row (saving only these keeps the UPDATE small).
_STEP_FIELDS = (
    "theta", "standard_error", "score", "n_items", "last_activity_at", "excluded_item_ids",
    "history", "pending_item", "pending_version", "pending_is_pilot", "pending_information",
    "pending_candidates", "pending_since",
)  # fmt: skip
_FINISH_FIELDS = (*_STEP_FIELDS, "status", "stop_reason", "ended_at")


class SessionError(ValidationError):
    """A student action that cannot be done now; the message says why."""


@dataclass(frozen=True)
class Answered:
    """One answer as the engine step needs it (a row of ExamSession.history)."""

    item_id: int
    correct: bool
    is_pilot: bool
    a: float | None
    b: float | None
    c: float | None
    d: float | None
    # A rapid guess left unscored by effort-moderated scoring (rows before it have 7 fields).
    rapid: bool = False
    # Partial credit (rows of right/wrong items have none of these): the points, None while a
    # teacher has to mark the answer; a GPCM/GRM item's model and steps when it was answered.
    score: int | None = None
    model: str = ""
    steps: tuple = ()
    partial: bool = False  # the row carries a score (11 fields)

    @classmethod
    def from_row(cls, row) -> "Answered":
        item_id, correct, is_pilot, a, b, c, d = row[:7]
        rapid = bool(row[7:8] and row[7])
        if len(row) <= 8:
            return cls(item_id, bool(correct), bool(is_pilot), a, b, c, d, rapid)
        score, model, steps = row[8:11]
        return cls(
            item_id, bool(correct), bool(is_pilot), a, b, c, d, rapid, score, model or "",
            tuple(steps or ()), True,
        )  # fmt: skip

    def as_row(self) -> list:
        row = [self.item_id, int(self.correct), int(self.is_pilot), self.a, self.b, self.c, self.d]
        if self.partial:
            return [*row, int(self.rapid), self.score, self.model, list(self.steps)]
        return [*row, 1] if self.rapid else row

    @property
    def waiting(self) -> bool:
        """A teacher has still to give this answer its points."""
        return self.partial and self.score is None

    @property
    def response(self) -> int:
        """The engine's response: points of a GPCM/GRM answer, else 1 or 0 (full credit or not:
        an item scored in points but answered under a right/wrong model counts as right only
        with every point)."""
        return int(self.score) if self.partial and self.steps else int(self.correct)


@dataclass(frozen=True)
class AnswerOutcome:
    session: ExamSession
    recorded: bool  # False: a repeat of an answer already recorded, or a stale item
    stale: bool = False  # the answered item was not the pending one


# --- Who may take what ---------------------------------------------------------------------------


def attempts_allowed(*, assignment: Assignment, student) -> int:
    extra = (
        Accommodation.objects.filter(assignment=assignment, student=student)
        .values_list("extra_attempts", flat=True)
        .first()
    )
    return assignment.attempts_allowed + (extra or 0)


def time_multiplier(*, assignment: Assignment, student) -> float:
    value = (
        Accommodation.objects.filter(assignment=assignment, student=student)
        .values_list("extra_time_multiplier", flat=True)
        .first()
    )
    return value or 1.0


def _check_may_start(*, assignment: Assignment, student, now) -> None:
    if not assignment.school_class.students.filter(pk=student.pk).exists():
        raise PermissionDenied
    if assignment.assessment.archived_at is not None:
        raise SessionError(_("This test is no longer available."))
    if now < assignment.opens_at:
        raise SessionError(_("This test has not opened yet."))
    if now >= assignment.closes_at:
        raise SessionError(_("This test is closed."))
    if not school_can_start_tests():
        raise SessionError(
            _("New tests cannot start because the school's licence has expired. Ask your teacher.")
        )


# --- Start ---------------------------------------------------------------------------------------


def session_start(*, assignment: Assignment, student, now=None) -> ExamSession:
    """Resume the student's unfinished session of `assignment`, or start the next attempt."""
    now = now or timezone.now()
    # One read for both: the unfinished session to resume, and the attempts used so far.
    sittings = ExamSession.objects.filter(assignment=assignment, student=student).aggregate(
        used=Count("pk"),
        unfinished=Max(
            "pk", filter=Q(status__in=[SessionStatus.IN_PROGRESS, SessionStatus.PAUSED])
        ),
    )
    if sittings["unfinished"] is not None:
        return session_refresh(session_id=sittings["unfinished"], now=now)
    _check_may_start(assignment=assignment, student=student, now=now)
    used = sittings["used"]
    if used >= attempts_allowed(assignment=assignment, student=student):
        raise SessionError(_("You have used all your attempts at this test."))
    assessment = assignment.assessment
    pool = pool_for(assessment)
    if pool.engine is None:
        raise SessionError(_("This test has no questions yet. Please tell your teacher."))
    deadline = None
    if assessment.time_limit_minutes:
        minutes = assessment.time_limit_minutes * time_multiplier(
            assignment=assignment, student=student
        )
        deadline = min(now + timedelta(minutes=minutes), assignment.closes_at)
    try:
        with transaction.atomic():
            session = ExamSession.objects.create(
                assignment=assignment,
                student=student,
                attempt_number=used + 1,
                started_at=now,
                last_activity_at=now,
                deadline_at=deadline,
                bank_revision=pool.revision,
            )
            _advance(session, pool=pool, answers=[], now=now)
    except IntegrityError:
        # Two tabs pressed Start at once: the other one won; use its session.
        return ExamSession.objects.get(
            assignment=assignment, student=student, attempt_number=used + 1
        )
    return session


# --- Answer --------------------------------------------------------------------------------------


# How often an answer is judged afresh when the session changed between reading and writing it.
_ANSWER_TRIES = 5


def session_answer(
    *, session_id: int, student, item_id: int, choice: str, response_time_ms: int | None, now=None
) -> AnswerOutcome:
    """Record the answer to the pending item and move on, atomically.

    Answering anything but the pending item records nothing (a double submit of the previous
    item is recognised as already recorded). Raises SessionError for a choice that is not one
    of the item's options, PermissionDenied for someone else's session.

    No lock is held while the next item is chosen: the session is read with its row version,
    and one statement saves the session and the attempt only if the row is still that version.
    If anything changed the session in between (a second submit of the same answer, the teacher
    pausing the test), nothing is written and the answer is judged again against the new state.
    """
    now = now or timezone.now()
    for _try in range(_ANSWER_TRIES):
        outcome = _answer_once(
            session_id=session_id, student=student, item_id=item_id, choice=choice,
            response_time_ms=response_time_ms, now=now,
        )  # fmt: skip
        if outcome is not None:
            return outcome
    raise SessionError(
        _("The test changed while your answer was being saved. Please answer again.")
    )


def _answer_once(*, session_id, student, item_id, choice, response_time_ms, now):
    """One try of session_answer: its outcome, or None if the session changed meanwhile."""
    session = session_read(session_id)
    if session is None or session.student_id != student.pk:
        raise PermissionDenied
    if session.is_finished:
        return AnswerOutcome(session=session, recorded=False, stale=True)
    if session.status == SessionStatus.PAUSED:
        raise SessionError(_("Your teacher has paused this test. Please wait."))
    if _due_reason(session, now=now) is not None:
        session = session_refresh(session_id=session_id, now=now)  # locks, checks again, ends it
        if session.is_finished:
            return AnswerOutcome(session=session, recorded=False, stale=True)
        return None  # given more time meanwhile
    if session.pending_item_id != item_id:
        return AnswerOutcome(session=session, recorded=False, stale=True)
    version = version_for_display(session.pending_version_id)
    try:
        choice = response_clean(version, choice)
    except ValueError as problem:
        raise SessionError(str(problem)) from problem
    answers = [Answered.from_row(row) for row in session.history]
    pool = pool_for(session.assignment.assessment, revision=session.bank_revision_now)
    a, b, c, d = _current_parameters(pool, item_id)
    response_time_ms = _clean_response_time(response_time_ms, session, now)
    rapid = bool(
        session.assignment.assessment.effort_moderated
        and not session.pending_is_pilot
        and response_time_ms is not None
        and response_time_ms < pool.rapid_threshold(item_id)
    )
    answer = _answered(version, choice, item_id, session.pending_is_pilot, pool, a, b, c, d, rapid)
    attempt = Attempt(
        session=session,
        position=len(answers) + 1,
        item_id=item_id,
        item_version=version,
        is_pilot=answer.is_pilot,
        selected_choice=choice,
        correct=answer.correct,
        score=answer.score if answer.partial else int(answer.correct),
        response_time_ms=response_time_ms,
        a=a,
        b=b,
        c=c,
        d=d,
        theta_before=session.theta,
        information=session.pending_information,
        candidates=session.pending_candidates,
    )
    answers.append(answer)
    session.history = [row.as_row() for row in answers]
    changed = _advance(session, pool=pool, answers=answers, now=now, save=False)
    attempt.theta_after = session.theta
    attempt.se_after = session.standard_error
    # One statement saves the session and the attempt, if the row is still the version read.
    if not hotpath.update_and_insert(session, changed, attempt, row_version=session.row_version):
        return None
    if session.is_finished:
        _notify_finished(session.pk)
    session.answered = len(answers)  # spares the page a count query
    return AnswerOutcome(session=session, recorded=True)


def session_read(session_id: int) -> ExamSession | None:
    """Load a session (no lock) in one round trip, for an answer or the question page: the row
    and its version (`xmin`), its assignment, the assessment's `updated` stamp and the bank's
    revision, and whether the student has the read-aloud accommodation. The assessment, the
    pending item version and the pool come from the process caches those two stamps keep
    current. None if there is no such session in this school.

    This is the hottest query of the product, so its SQL is built once from the models rather
    than compiled by the ORM on every answer.
    """
    sql, session_fields, assignment_fields = _answer_read_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [session_id])
        row = cursor.fetchone()
    if row is None:
        return None
    n, m = len(session_fields), len(assignment_fields)
    session = hotpath.from_row(ExamSession, session_fields, row[:n])
    assignment = hotpath.from_row(Assignment, assignment_fields, row[n : n + m])
    (
        assessment_updated,
        session.bank_revision_now,
        session.row_version,
        session.student_reads_aloud,
    ) = row[n + m :]
    assignment.assessment = assessment_at(assignment.assessment_id, assessment_updated)
    session.assignment = assignment
    return session


@functools.cache
def _answer_read_sql() -> tuple[str, list, list]:
    session_fields = list(ExamSession._meta.concrete_fields)
    assignment_fields = list(Assignment._meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = [f"s.{quote(f.column)}" for f in session_fields]
    columns += [f"g.{quote(f.column)}" for f in assignment_fields]
    columns += [
        "a.updated",
        f"COALESCE((SELECT r.revision FROM {quote(BankRevision._meta.db_table)} r "
        "ORDER BY r.id LIMIT 1), 0)",
        "s.xmin::text",
        # The student's read-aloud accommodation, for the question page (a primary-key probe).
        f"EXISTS (SELECT 1 FROM {quote(StudentProfile._meta.db_table)} p "
        "WHERE p.user_id = s.student_id AND p.read_aloud)",
    ]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ExamSession._meta.db_table)} s "
        f"JOIN {quote(Assignment._meta.db_table)} g ON g.id = s.assignment_id "
        f"JOIN {quote(Assessment._meta.db_table)} a ON a.id = g.assessment_id "
        "WHERE s.id = %s"
    )
    return sql, session_fields, assignment_fields


def _current_parameters(pool: AssessmentPool, item_id: int) -> tuple:
    """The item's parameters now (from the cached pool when it is there)."""
    index = pool.index_of.get(item_id)
    if index is not None:
        params = pool.engine.params if pool.engine.params is not None else pool.params
        return tuple(float(value) for value in params[index])
    return Item.objects.filter(pk=item_id).values_list("a", "b", "c", "d").get()


def _answered(version, choice, item_id, is_pilot, pool, a, b, c, d, rapid) -> Answered:
    """The answer as the engine step needs it: right/wrong as before for a right/wrong item
    in a dichotomous pool (same row, same work); points and the item's steps otherwise."""
    index = pool.index_of.get(item_id)
    polytomous = pool.polytomous.get(index) if index is not None else None
    right_wrong = version.max_score <= 1 and not version.is_teacher_marked
    if polytomous is None and not pool.polytomous and right_wrong:
        return Answered(item_id, version.is_correct(choice), is_pilot, a, b, c, d, rapid)
    score = version.score(choice)
    if polytomous is None and index is None and not is_pilot:
        polytomous = _item_steps(item_id)  # left the pool since it was chosen: its steps now
    model, steps = polytomous or ("", ())
    correct = score is not None and score >= version.max_score
    return Answered(item_id, correct, is_pilot, a, b, c, d, rapid, score, model, steps, True)


def _item_steps(item_id: int) -> tuple[str, tuple] | None:
    """(model, steps) of a GPCM/GRM item outside the pool (a pilot, or one refiltered)."""
    model, steps = Item.objects.filter(pk=item_id).values_list("model", "steps").get()
    return (model, tuple(steps)) if steps else None


def _clean_response_time(value, session: ExamSession, now) -> int | None:
    """Trust the browser's timer when it is plausible, else the server's."""
    server_ms = None
    if session.pending_since:
        server_ms = max(0, int((now - session.pending_since).total_seconds() * 1000))
    if isinstance(value, int) and value > 0 and (server_ms is None or value <= server_ms + 5000):
        return value
    return server_ms


# --- The engine step -----------------------------------------------------------------------------


def _advance(
    session: ExamSession, *, pool: AssessmentPool, answers: list[Answered], now, save: bool = True
) -> tuple[str, ...]:
    """Estimate from the scored answers, stop or choose the next item, and save the session
    (or, with save=False, leave saving it, and announcing that it finished, to the caller).
    Returns the names of the fields changed."""
    assessment: Assessment = session.assignment.assessment
    # Pilot items, under effort-moderated scoring rapid guesses, and answers waiting for a
    # teacher's points are not scored (yet).
    scored = [a for a in answers if not a.is_pilot and not a.rapid and not a.waiting]
    administered, responses, outside = [], [], []
    for attempt in scored:
        index = pool.index_of.get(attempt.item_id)
        if index is None:
            outside.append(attempt)  # retired or refiltered since: scored from its snapshot
        else:
            administered.append(index)
            responses.append(attempt.response)
    seen_indices = [pool.index_of[a.item_id] for a in answers if a.item_id in pool.index_of]
    excluded = [pool.index_of[pk] for pk in session.excluded_item_ids if pk in pool.index_of]
    excluded.extend(i for i in seen_indices if i not in administered)
    # Pilot items (and unscored rapid guesses) take places in the test: a student never sees
    # more than max_items in all.
    pilots_given = len(answers) - len(scored)
    scored_max = max(1, assessment.max_items - len(outside) - pilots_given)
    rules = StoppingRule(
        max_items=scored_max,
        min_items=min(assessment.min_items, scored_max),
        se_target=assessment.se_target,
    )
    rng = np.random.default_rng([session.pk, len(answers)])
    try:
        step = cat_step(
            pool.engine,
            administered,
            responses,
            rules=rules,
            estimator=assessment.estimator,
            selector=assessment.exposure_control,
            randomesque_k=max(1, assessment.randomesque_k),
            content_targets=_usable_targets(assessment.content_targets, pool),
            excluded=excluded or None,
            rng=rng,
        )
    except CatError as error:
        raise SessionError(_("This test is misconfigured: %(error)s") % {"error": error}) from error
    theta, se = step.theta, step.se
    if scored and (outside or pool.revision != session.bank_revision):
        # Items left the pool, or the bank was recalibrated since this session started: score
        # with the parameters each answer was given under, not today's.
        theta, se = _estimate_from_snapshots(assessment.estimator, scored)

    session.theta = theta
    session.standard_error = se
    session.score = assessment.scale_score(theta)
    session.n_items = len(scored)
    session.last_activity_at = now
    if step.skipped:
        session.excluded_item_ids = sorted(
            set(session.excluded_item_ids) | {int(pool.item_ids[i]) for i in step.skipped}
        )
    # No pilot once the test is over, nor where it would leave no room for a last scored item.
    room = not step.stop and len(administered) + 1 < scored_max
    pilot = _maybe_pilot(session, assessment, pool, answers) if room else None
    if step.stop:
        _finish(session, reason=step.reason or STOP_NO_ITEMS, now=now, save=save)
        return _FINISH_FIELDS
    if pilot is not None:
        session.pending_item_id, session.pending_version_id = pilot
        session.pending_is_pilot = True
        session.pending_information = None
        session.pending_candidates = len(pool.pilot_item_ids)
    else:
        session.pending_item_id = int(pool.item_ids[step.next_item])
        session.pending_version_id = int(pool.version_ids[step.next_item])
        session.pending_is_pilot = False
        session.pending_information = step.information
        session.pending_candidates = step.n_candidates
    session.pending_since = now
    if save:
        hotpath.update(session, _STEP_FIELDS)
    return _STEP_FIELDS


def _usable_targets(targets: dict, pool: AssessmentPool) -> dict | None:
    """Content targets restricted to areas the pool has, renormalised to sum to 1."""
    if not targets:
        return None
    labels = set(pool.engine.content_labels or [])
    kept = {area: float(share) for area, share in targets.items() if area in labels and share > 0}
    total = sum(kept.values())
    return {area: share / total for area, share in kept.items()} if total > 0 else None


def _estimate_from_snapshots(estimator: str, scored: list[Answered]) -> tuple[float, float]:
    if any(answer.steps for answer in scored):
        bank = make_bank(
            [answer.a for answer in scored],
            [list(answer.steps) or [answer.b] for answer in scored],
            [answer.model if answer.steps else "4PL" for answer in scored],
            c=[answer.c for answer in scored],
            d=[answer.d for answer in scored],
        )
        return estimate_poly(estimator, bank, [answer.response for answer in scored])
    params = np.array([[a.a, a.b, a.c, a.d] for a in scored], dtype=float)
    responses = np.array([a.response for a in scored])
    return estimate(estimator, params, responses)


def _maybe_pilot(session, assessment, pool: AssessmentPool, answers) -> tuple[int, int] | None:
    """Now and then, an unscored pilot item. It takes the place of a scored one, so the test
    never exceeds its stated maximum length."""
    if assessment.pilot_rate <= 0 or not pool.pilot_item_ids:
        return None
    given = sum(1 for answer in answers if answer.is_pilot)
    cap = math.ceil(assessment.pilot_rate * assessment.max_items)
    if given >= cap or not answers:  # never as the first item
        return None
    chooser = random.Random(f"{session.pk}:{len(answers)}")
    if chooser.random() >= assessment.pilot_rate:
        return None
    seen = {answer.item_id for answer in answers}
    fresh = [pk for pk in pool.pilot_item_ids if pk not in seen]
    if not fresh:
        return None
    item_id = chooser.choice(fresh)
    return item_id, pool.pilot_version_ids[item_id]


def _finish(session: ExamSession, *, reason: str, now, save: bool = True) -> None:
    timed_out = reason in (STOP_TIME_UP, STOP_WINDOW_CLOSED)
    session.status = SessionStatus.TIMED_OUT if timed_out else SessionStatus.COMPLETED
    session.stop_reason = reason
    session.ended_at = now
    session.pending_item = None
    session.pending_version = None
    session.pending_is_pilot = False
    session.pending_since = None
    if save:
        hotpath.update(session, _FINISH_FIELDS)
        _notify_finished(session.pk)


def _notify_finished(session_id: int) -> None:
    """Tell the rest of the product (LTI grade passback) once the finished session is saved."""
    transaction.on_commit(lambda: session_finished.send(sender=ExamSession, session_id=session_id))


# --- Time ----------------------------------------------------------------------------------------


def _due_reason(session: ExamSession, *, now) -> str | None:
    """Why a running session must end now (its time, or its assignment's window), if it must."""
    if session.is_finished or session.status == SessionStatus.PAUSED:
        return None
    if session.deadline_at is not None and now >= session.deadline_at:
        return STOP_TIME_UP
    if now >= session.assignment.closes_at:
        return STOP_WINDOW_CLOSED
    return None


def _expire_if_due(session: ExamSession, *, now) -> bool:
    """End the session if its time or its assignment's window is over. Returns True if ended."""
    reason = _due_reason(session, now=now)
    if reason is not None:
        _finish(session, reason=reason, now=now)
    return reason is not None


def session_refresh(*, session_id: int, now=None) -> ExamSession:
    """Load a session for display, ending it first if its time is up."""
    now = now or timezone.now()
    with transaction.atomic():
        session = (
            ExamSession.objects.select_for_update(of=("self",))
            .select_related("assignment__assessment", "assignment__school_class", "pending_version")
            .get(pk=session_id)
        )
        _expire_if_due(session, now=now)
    return session


def session_refresh_if_due(session: ExamSession, *, now=None) -> ExamSession:
    """A session already loaded for display, ended first (locked and read again) only if its
    time or window is over; most page views need no second read."""
    now = now or timezone.now()
    if _due_reason(session, now=now) is not None:
        return session_refresh(session_id=session.pk, now=now)
    return session


def sessions_expire_due(*, now=None) -> int:
    """Close every session whose time or window ran out (for the periodic job)."""
    now = now or timezone.now()
    due = ExamSession.objects.filter(status=SessionStatus.IN_PROGRESS).filter(
        Q(deadline_at__lte=now) | Q(assignment__closes_at__lte=now)
    )
    count = 0
    for session_id in list(due.values_list("pk", flat=True)):
        count += session_refresh(session_id=session_id, now=now).is_finished
    return count


def sessions_next_due(*, now=None):
    """When the next session of this school in progress runs out of time or window (None: no
    session in progress). The periodic sweep visits the school again then."""
    times = ExamSession.objects.filter(status=SessionStatus.IN_PROGRESS).aggregate(
        deadline=Min("deadline_at"), closes=Min("assignment__closes_at")
    )
    known = [moment for moment in times.values() if moment is not None]
    return min(known) if known else None


# --- Teacher actions ---------------------------------------------------------------------------


def attempt_mark(*, assignment: Assignment, attempt_id: int, points: int, marked_by, now=None):
    """Give a rubric-marked answer its points (0..the item's maximum) and score the session
    again with it. Returns the session. Attempt.DoesNotExist for an attempt outside
    `assignment`; SessionError for an answer marked automatically or points out of range.

    The session row is locked and rewritten, so an answer in flight for the same session is
    judged again against the new history (its row version changed)."""
    now = now or timezone.now()
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_related("item_version")
            .select_for_update(of=("self",))
            .get(pk=attempt_id, session__assignment=assignment)
        )
        version = attempt.item_version
        if not version.is_teacher_marked:
            raise SessionError(_("This answer is marked automatically; it has no rubric points."))
        if not 0 <= points <= version.max_score:
            raise SessionError(_("Give between 0 and %(max)s points.") % {"max": version.max_score})
        session = (
            ExamSession.objects.select_related("assignment__assessment", "student")
            .select_for_update(of=("self",))
            .get(pk=attempt.session_id)
        )
        attempt.score = points
        attempt.correct = points >= version.max_score
        attempt.marked_by = marked_by
        attempt.marked_at = now
        attempt.save(update_fields=["score", "correct", "marked_by", "marked_at"])
        answers = [Answered.from_row(row) for row in session.history]
        for position, answer in enumerate(answers):
            if answer.item_id == attempt.item_id:
                answers[position] = dataclasses.replace(
                    answer, score=points, correct=attempt.correct, partial=True
                )
        session.history = [answer.as_row() for answer in answers]
        session_rescore(session, answers)
        session.save(update_fields=["history", "theta", "standard_error", "score", "n_items"])
    if session.is_finished:
        _notify_finished(session.pk)  # the grade sent to the LMS changes with the marks
    return session


def session_rescore(session: ExamSession, answers: list[Answered]) -> None:
    """Estimate theta again from the scored answers, with the parameters each was given under
    (after a teacher marked an answer); a session with no scored answer keeps its estimate."""
    assessment = session.assignment.assessment
    scored = [a for a in answers if not a.is_pilot and not a.rapid and not a.waiting]
    session.n_items = len(scored)
    if not scored:
        return
    session.theta, session.standard_error = _estimate_from_snapshots(assessment.estimator, scored)
    session.score = assessment.scale_score(session.theta)


def session_pause(*, session: ExamSession, now=None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        session = ExamSession.objects.select_for_update().get(pk=session.pk)
        if session.status != SessionStatus.IN_PROGRESS:
            raise SessionError(_("Only a test in progress can be paused."))
        session.status = SessionStatus.PAUSED
        session.paused_at = now
        session.save(update_fields=["status", "paused_at"])


def session_resume(*, session: ExamSession, now=None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        session = ExamSession.objects.select_for_update().get(pk=session.pk)
        if session.status != SessionStatus.PAUSED:
            raise SessionError(_("Only a paused test can be resumed."))
        if session.deadline_at is not None and session.paused_at is not None:
            # The pause does not eat the student's time.
            session.deadline_at += now - session.paused_at
        session.status = SessionStatus.IN_PROGRESS
        session.paused_at = None
        session.pending_since = now
        session.save(update_fields=["status", "paused_at", "deadline_at", "pending_since"])


def session_reset(*, session: ExamSession) -> None:
    """Discard a student's sitting entirely so they can start again (it does not use up an
    attempt)."""
    with transaction.atomic():
        ExamSession.objects.filter(pk=session.pk).delete()
