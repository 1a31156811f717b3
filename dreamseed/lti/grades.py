"""Grade passback over LTI Assignment and Grade Services (AGS): a finished test's score, posted
to the LMS line item of the link the student came through.

The score an LMS gradebook gets
-------------------------------
A CAT result is an ability estimate theta on the IRT logit scale, not a count of right answers,
so "percent correct" means nothing (everyone gets about half right by design). Gradebooks want
0..scoreMaximum. We send

    scoreGiven = 100 * Phi(theta),  scoreMaximum = 100,

where Phi is the standard normal CDF. The item bank is calibrated with abilities fixed to
N(0, 1) (marginal maximum likelihood), so 100 * Phi(theta) is the student's percentile rank in
the calibration population: 50 is average, 84 is one SD above. It is monotone in theta, bounded
without clipping, and does not depend on a test's reporting scale (intercept and slope are
arbitrary per test, and a min-max mapping would need bounds a CAT does not have). A session that
ended before any scored answer has no theta and gets 0. The scale score and its standard error
go in the comment, for the teacher.

Delivery
--------
One GradePassback row per (finished session, resource link). A row that was sent is never sent
again; 5xx, 401/408/429 and network errors are retried with exponential backoff (base
LTI_PASSBACK_BACKOFF_SECONDS, doubling, +-25% jitter, at most an hour) up to
LTI_PASSBACK_MAX_ATTEMPTS; other 4xx fail at once. Every attempt is recorded. The scopes the LMS
granted are respected: without the score scope nothing is posted, and a missing line item is
created only with the lineitem scope.
"""

import logging
import math
import random
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem

from dreamseed.assessments.models import ExamSession
from dreamseed.core.outbound import OutboundBlocked
from dreamseed.lti.launch import CachedTokenConnector, registration_for
from dreamseed.lti.models import (
    AGS_SCOPE_LINEITEM,
    AGS_SCOPE_SCORE,
    GradePassback,
    GradePassbackAttempt,
    LtiIdentity,
    LtiResourceLink,
    PassbackStatus,
)

log = logging.getLogger(__name__)

SCORE_MAXIMUM = 100
MAX_BACKOFF_SECONDS = 60 * 60
RETRYABLE_STATUSES = {401, 408, 429}  # 401: our cached token may have expired
STALE_AFTER = timedelta(minutes=15)
GRADE_SYNC_OFF = _(
    "Grade sync is off for this activity in the LMS: its latest launch offered no grade "
    "service. In the LMS's DreamSeed tool settings switch on grade sync (Moodle: “Use this "
    "service for grade sync and column management”; Canvas: the developer key's score scope), "
    "open the activity once from the LMS, then send the grade again."
)
NO_SCORE_SCOPE = _(
    "The LMS does not let DreamSeed send scores for this activity (it did not grant the score "
    "scope). In the LMS's DreamSeed tool settings allow grade sync (Canvas: the developer key's "
    "score scope), open the activity once from the LMS, then send the grade again."
)
NO_LINE_ITEM = _(
    "The LMS gave this activity no gradebook column and did not let DreamSeed make one. In "
    "the LMS's DreamSeed tool settings allow column management (Moodle: “Use this service for "
    "grade sync and column management”; Canvas: the developer key's line item scope), open the "
    "activity once from the LMS, then send the grade again."
)


def score_given(theta: float | None) -> float:
    """100 * Phi(theta), to one decimal (see the module docstring)."""
    if theta is None or math.isnan(theta):
        return 0.0
    return round(100 * 0.5 * (1 + math.erf(theta / math.sqrt(2))), 1)


def grade_payload(*, session: ExamSession, user_sub: str) -> dict:
    assessment = session.assignment.assessment
    payload = {
        "scoreGiven": score_given(session.theta),
        "scoreMaximum": SCORE_MAXIMUM,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": (session.ended_at or timezone.now()).isoformat(timespec="milliseconds"),
        "userId": user_sub,
    }
    score = assessment.scale_score(session.theta)
    if score is not None:
        se = assessment.scale_se(session.standard_error)
        comment = f"{assessment.scale_name}: {score:.0f}"
        if se is not None:
            comment += f" (± {se:.0f})"
        payload["comment"] = comment
    return payload


def passback_wanted(*, session_id: int) -> bool:
    """Whether the session's assignment came from an LMS link and the student from that LMS
    (one query: it runs at the end of every test)."""
    return LtiResourceLink.objects.filter(
        assignment__sessions__pk=session_id,
        platform__identities__user_id=F("assignment__sessions__student_id"),
    ).exists()


def passbacks_prepare(*, session_id: int) -> list[GradePassback]:
    """One row per LMS link of the session's assignment (made once; later calls find them)."""
    session = ExamSession.objects.select_related("assignment").filter(pk=session_id).first()
    if session is None or not session.is_finished:
        return []
    rows = []
    links = LtiResourceLink.objects.filter(assignment_id=session.assignment_id).select_related(
        "platform"
    )
    for link in links:
        identity = LtiIdentity.objects.filter(
            platform_id=link.platform_id, user_id=session.student_id
        ).first()
        if identity is None:
            continue
        row, _created = GradePassback.objects.get_or_create(
            session=session,
            resource_link=link,
            defaults={"user_sub": identity.sub, "lineitem_url": link.lineitem_url},
        )
        rows.append(row)
    return rows


def grade_passback_send(*, session_id: int) -> int | None:
    """Send the session's scores not sent yet. Returns seconds until a retry is due, or None."""
    retry_in = None
    for row in passbacks_prepare(session_id=session_id):
        delay = passback_attempt(passback_id=row.pk)
        if delay is not None:
            retry_in = max(retry_in or 0, delay)
    return retry_in


def _backoff(attempts: int) -> int:
    base = settings.LTI_PASSBACK_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
    return max(1, int(min(base, MAX_BACKOFF_SECONDS) * random.uniform(0.75, 1.25)))


def _finish(row: GradePassback, outcome: str, *, http_status=None, error="") -> None:
    row.status = outcome
    row.last_http_status = http_status
    row.last_error = error[:2000]
    if outcome == PassbackStatus.SENT:
        row.sent_at = timezone.now()
    row.save()
    GradePassbackAttempt.objects.create(
        passback=row,
        number=row.attempts,
        http_status=http_status,
        outcome=outcome,
        error=error[:2000],
    )


def passback_attempt(*, passback_id: int) -> int | None:
    """One try at one row, holding its lock so two workers never post it at the same time."""
    with transaction.atomic():
        row = (
            GradePassback.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("resource_link__platform", "session__assignment__assessment")
            .filter(pk=passback_id)
            .first()
        )
        if row is None or row.is_done:
            return None
        link = row.resource_link
        row.payload = grade_payload(session=row.session, user_sub=row.user_sub)
        if not link.may(AGS_SCOPE_SCORE):
            why = NO_SCORE_SCOPE if link.ags_scopes else GRADE_SYNC_OFF
            _finish(row, PassbackStatus.SKIPPED, error=str(why))
            return None
        row.attempts += 1
        connector = CachedTokenConnector(registration_for(link.platform), link.platform)
        service = AssignmentsGradesService(
            connector,
            {
                "scope": list(link.ags_scopes),
                "lineitem": row.lineitem_url or link.lineitem_url,
                "lineitems": link.lineitems_url,
            },
        )
        try:
            if not (row.lineitem_url or link.lineitem_url):
                if not (link.lineitems_url and link.may(AGS_SCOPE_LINEITEM)):
                    row.attempts -= 1
                    _finish(row, PassbackStatus.SKIPPED, error=str(NO_LINE_ITEM))
                    return None
                row.lineitem_url = _line_item_for(service, link)
            elif not row.lineitem_url:
                row.lineitem_url = link.lineitem_url
            grade = (
                Grade()
                .set_score_given(row.payload["scoreGiven"])
                .set_score_maximum(row.payload["scoreMaximum"])
                .set_activity_progress(row.payload["activityProgress"])
                .set_grading_progress(row.payload["gradingProgress"])
                .set_timestamp(row.payload["timestamp"])
                .set_user_id(row.payload["userId"])
            )
            if "comment" in row.payload:
                grade.set_comment(row.payload["comment"])
            service.put_grade(grade, LineItem({"id": row.lineitem_url}))
        except LtiServiceException as error:
            status = error.response.status_code
            if status == 401:
                connector.forget_token(link.ags_scopes)
            return _failed(row, str(error), http_status=status, retryable=_retryable(status))
        except OutboundBlocked as error:
            # A URL the outbound policy refuses stays refused: no point in retrying.
            return _failed(row, str(error), retryable=False)
        except requests.RequestException as error:
            return _failed(row, f"{type(error).__name__}: {error}", retryable=True)
        except LtiException as error:
            return _failed(row, str(error), http_status=connector.last_status, retryable=False)
        _finish(row, PassbackStatus.SENT, http_status=connector.last_status)
        log.info("grade passback %s sent to %s", row.pk, row.lineitem_url)
        return None


def _retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUSES


def _failed(row: GradePassback, error: str, *, http_status=None, retryable: bool) -> int | None:
    if retryable and row.attempts < settings.LTI_PASSBACK_MAX_ATTEMPTS:
        _finish(row, PassbackStatus.RETRYING, http_status=http_status, error=error)
        log.warning("grade passback %s: attempt %s failed: %s", row.pk, row.attempts, error)
        return _backoff(row.attempts)
    _finish(row, PassbackStatus.FAILED, http_status=http_status, error=error)
    log.error("grade passback %s failed for good: %s", row.pk, error)
    return None


def _line_item_for(service: AssignmentsGradesService, link: LtiResourceLink) -> str:
    """Find the link's line item, or create it (only called with the lineitem scope)."""
    wanted = (
        LineItem()
        .set_label(link.title or (link.assignment.assessment.name if link.assignment else ""))
        .set_score_maximum(SCORE_MAXIMUM)
        .set_resource_link_id(link.resource_link_id)
        .set_resource_id(f"dreamseed-assignment-{link.assignment_id}")
        .set_tag("dreamseed")
    )
    line_item = service.find_or_create_lineitem(wanted, find_by="resource_link_id")
    url = line_item.get_id()
    if not url:
        raise LtiException("The LMS returned a line item without an id")
    LtiResourceLink.objects.filter(pk=link.pk).update(lineitem_url=url)
    return url


def passbacks_stale(*, now=None) -> list[int]:
    """Sessions with scores waiting longer than they should (their task was lost)."""
    now = now or timezone.now()
    return list(
        GradePassback.objects.filter(
            status__in=[PassbackStatus.PENDING, PassbackStatus.RETRYING],
            updated__lt=now - STALE_AFTER,
        )
        .values_list("session_id", flat=True)
        .distinct()
    )


def passbacks_requeue_stale(*, now=None) -> int:
    """Queue again this school's passbacks whose task was lost (the 15-minute sweep)."""
    from dreamseed.lti.tasks import grade_passback

    stale = passbacks_stale(now=now)
    for session_id in stale:
        grade_passback.delay(session_id)
    return len(stale)


def passback_retry(*, passback: GradePassback) -> None:
    """Give a failed row a fresh set of attempts (a teacher asked)."""
    passback.status = PassbackStatus.PENDING
    passback.attempts = 0
    passback.save(update_fields=["status", "attempts", "updated"])
