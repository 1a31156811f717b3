"""End to end through a real Celery worker: a student launched from the LMS finishes their test;
the worker posts the score to the LMS, retrying after the LMS's 503."""

import pytest
from django.db import connection

from dreamseed.assessments.services import session_answer, session_start
from dreamseed.lti.models import GradePassback, LtiIdentity, PassbackStatus
from dreamseed.lti.tests.conftest import CommittedCourse, LtiClient, student
from dreamseed.testing import in_schema, school_client, wait_for


@pytest.mark.worker
def test_the_worker_posts_the_score_after_a_503(
    committed_db, personas, celery_worker_process, lms_platform
):
    canvas = lms_platform.canvas
    setup = CommittedCourse(personas, canvas, tool_base="http://alpha.localhost")
    try:
        tool = LtiClient(school_client("alpha.localhost"), canvas)
        landing = tool.follow(
            tool.launch(student(), setup.course, resource_link_id="rl-w", custom=setup.custom)
        )
        assert landing == f"/tests/take/{setup.assignment.pk}/"
        canvas.score_failures = [503]

        with in_schema(setup.schema):
            connection.set_tenant(personas["alpha_admin"].school)
            learner = LtiIdentity.objects.get(platform=setup.registration, sub="s-200").user
            # The real test flow: the finishing answer commits and sends session_finished.
            session = session_start(assignment=setup.assignment, student=learner)
            while not session.is_finished:
                session = session_answer(
                    session_id=session.pk,
                    student=learner,
                    item_id=session.pending_item_id,
                    choice="B",
                    response_time_ms=1500,
                ).session

        wait_for(lambda: canvas.scores, timeout=60, message="the worker never posted the score")
        [posted] = canvas.scores
        assert posted["payload"]["userId"] == "s-200"
        assert posted["payload"]["scoreMaximum"] == 100
        assert posted["payload"]["activityProgress"] == "Completed"
        assert posted["payload"]["gradingProgress"] == "FullyGraded"

        def sent():
            with in_schema(setup.schema):
                row = GradePassback.objects.filter(session=session).first()
                return row if row and row.status == PassbackStatus.SENT else None

        row = wait_for(sent, timeout=30, message="the passback was never marked sent")
        with in_schema(setup.schema):
            outcomes = [(a.outcome, a.http_status) for a in row.attempt_log.all()]
        assert outcomes == [(PassbackStatus.RETRYING, 503), (PassbackStatus.SENT, 200)]
        assert row.attempts == 2
    finally:
        setup.cleanup()
