"""Engagement: rapid guesses from response times, and person fit, for results and the live
dashboard.

A rapid guess is an answer given faster than the item's normative threshold (Wise & Ma's NT10):
10 % of the item's mean response time, capped at 10 seconds, or 3 seconds for an item whose
mean time is not known yet. Such answers carry little information about ability; a sitting
with many of them (more than 10 %, i.e. response-time effort below 0.9) is flagged so the
teacher can talk to the student, pause the test, or discount the score.
"""

from dataclasses import dataclass

import numpy as np
from django.db.models import Case, Count, F, FloatField, Q, Value, When
from django.db.models.functions import Least

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.cat.personfit import LZ_FLAG, lz_star

RAPID_GUESS_FRACTION = 0.10
RAPID_GUESS_CAP_MS = 10_000
RAPID_GUESS_DEFAULT_MS = 3_000
#: A sitting with a larger share of rapid guesses is flagged as low effort.
LOW_EFFORT_SHARE = 0.10


def rapid_guess_threshold(mean_response_time_ms: float | None) -> float:
    """The threshold (ms) of an item with this mean response time (None: not known yet)."""
    if mean_response_time_ms is None:
        return float(RAPID_GUESS_DEFAULT_MS)
    return min(RAPID_GUESS_FRACTION * mean_response_time_ms, float(RAPID_GUESS_CAP_MS))


def _threshold_expression():
    """The item's rapid-guess threshold in ms, in SQL (PostgreSQL's LEAST skips NULLs, so the
    item without a mean time is handled first)."""
    mean = F("item__statistics__mean_response_time_ms")
    return Case(
        When(
            item__statistics__mean_response_time_ms__isnull=True,
            then=Value(RAPID_GUESS_DEFAULT_MS * 1.0),
        ),
        default=Least(mean * RAPID_GUESS_FRACTION, Value(RAPID_GUESS_CAP_MS * 1.0)),
        output_field=FloatField(),
    )


@dataclass(frozen=True)
class SessionEngagement:
    answered: int
    rapid: int
    rapid_attempt_ids: frozenset
    lz: float | None

    @property
    def share(self) -> float:
        return self.rapid / self.answered if self.answered else 0.0

    @property
    def low_effort(self) -> bool:
        return self.answered > 0 and self.share > LOW_EFFORT_SHARE

    @property
    def misfit(self) -> bool:
        return self.lz is not None and self.lz < LZ_FLAG


def session_engagement(*, session: ExamSession) -> SessionEngagement:
    """Rapid guesses of one sitting and the person fit (lz*) of its scored answers."""
    rows = list(
        Attempt.objects.filter(session=session)
        .annotate(threshold=_threshold_expression())
        .values_list(
            "pk", "response_time_ms", "threshold", "is_pilot", "correct", "a", "b", "c", "d"
        )
    )
    rapid = frozenset(
        pk for pk, time_ms, threshold, *_ in rows if time_ms is not None and time_ms < threshold
    )
    scored = [row for row in rows if not row[3] and row[6] is not None]
    lz = None
    if scored:
        params = np.array([row[5:9] for row in scored], dtype=float)
        lz = lz_star(params, [int(row[4]) for row in scored])
    return SessionEngagement(answered=len(rows), rapid=len(rapid), rapid_attempt_ids=rapid, lz=lz)


def sessions_rapid_counts(*, session_ids) -> dict[int, tuple[int, int]]:
    """{session id: (rapid guesses, answers)} for many sittings, in one query."""
    threshold = _threshold_expression()
    rows = (
        Attempt.objects.filter(session_id__in=list(session_ids))
        .values("session_id")
        .annotate(
            answered=Count("pk"),
            rapid=Count("pk", filter=Q(response_time_ms__lt=threshold)),
        )
    )
    return {row["session_id"]: (row["rapid"], row["answered"]) for row in rows}


def progress_with_engagement(rows):
    """Add ``rapid``, ``answered`` and ``low_effort`` to live-progress rows (one query)."""
    counts = sessions_rapid_counts(session_ids=[row.session.pk for row in rows if row.session])
    for row in rows:
        rapid, answered = counts.get(row.session.pk, (0, 0)) if row.session else (0, 0)
        row.rapid, row.answered = rapid, answered
        row.low_effort = answered > 0 and rapid / answered > LOW_EFFORT_SHARE
    return rows
