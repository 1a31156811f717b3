"""Answers racing each other and the teacher, with real commits and separate connections.

The answer path holds no lock: it reads the session with its row version and saves the session
and the attempt in one statement only if the row is still that version. These tests make the
interleavings happen for real (no wrapping test transaction, one connection per thread).
"""

import threading

import pytest
from django.db import connection

from dreamseed.assessments import services
from dreamseed.assessments.models import Attempt, ExamSession, SessionStatus
from dreamseed.assessments.services import SessionError, session_answer, session_start
from dreamseed.assessments.signals import session_finished
from dreamseed.assessments.tests.conftest import World
from dreamseed.itembank.models import Item
from dreamseed.testing import in_schema

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def committed_world(personas, committed_db):
    world = World(personas, max_items=6, min_items=6)
    yield world
    with in_schema(world.school.schema_name):
        connection.set_tenant(world.school)
        ExamSession.objects.filter(assignment=world.assignment).delete()
        world.assignment.delete()
        world.assessment.delete()
        world.school_class.delete()
        Item.objects.filter(pk__in=[item.pk for item in world.items]).update(current_version=None)
        for item in world.items:
            item.versions.all().delete()
            item.delete()


def _in_school(world):
    connection.set_tenant(world.school)


def _started(world) -> ExamSession:
    _in_school(world)
    return session_start(assignment=world.assignment, student=world.students[0])


def _answer(world, session_id, item_id, choice="B"):
    return session_answer(
        session_id=session_id, student=world.students[0], item_id=item_id, choice=choice,
        response_time_ms=900,
    )  # fmt: skip


def test_two_submits_of_the_same_answer_at_once_record_it_once(committed_world, monkeypatch):
    """Both requests read the same version of the session before either writes (a barrier holds
    them there). One saves; the other's write matches no row, it reads again, finds the item
    already answered and reports it as already saved."""
    world = committed_world
    session = _started(world)
    pending = session.pending_item_id
    both_read = threading.Barrier(2, timeout=20)
    read = services.session_read
    reads = []

    def read_then_wait(session_id):
        found = read(session_id)
        reads.append(found.row_version)
        if len(reads) <= 2:
            both_read.wait()
        return found

    monkeypatch.setattr(services, "session_read", read_then_wait)
    outcomes, errors = [], []

    def submit():
        try:
            _in_school(world)
            outcomes.append(_answer(world, session.pk, pending))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert reads[0] == reads[1]  # both judged the same version of the session
    assert len(reads) == 3  # the loser read once more
    assert sorted(outcome.recorded for outcome in outcomes) == [False, True]
    loser = next(outcome for outcome in outcomes if not outcome.recorded)
    assert loser.stale and loser.session.pending_item_id != pending
    _in_school(world)
    attempts = Attempt.objects.filter(session_id=session.pk)
    assert [(a.position, a.item_id) for a in attempts] == [(1, pending)]
    saved = ExamSession.objects.get(pk=session.pk)
    assert len(saved.history) == 1 and saved.pending_item_id == loser.session.pending_item_id


def test_a_pause_between_reading_and_saving_an_answer_wins(committed_world, monkeypatch):
    """The teacher pauses the test after the answer was read but before it was saved: the
    answer is not recorded and the student is told the test is paused."""
    world = committed_world
    session = _started(world)
    read = services.session_read
    calls = []

    def read_then_pause(session_id):
        found = read(session_id)
        calls.append(found.status)
        if len(calls) == 1:
            ExamSession.objects.filter(pk=session_id).update(status=SessionStatus.PAUSED)
        return found

    monkeypatch.setattr(services, "session_read", read_then_pause)
    with pytest.raises(SessionError, match="paused"):
        _answer(world, session.pk, session.pending_item_id)
    assert calls == [SessionStatus.IN_PROGRESS, SessionStatus.PAUSED]
    saved = ExamSession.objects.get(pk=session.pk)
    assert saved.history == [] and saved.pending_item_id == session.pending_item_id
    assert not Attempt.objects.filter(session_id=session.pk).exists()


def test_an_answer_gives_up_cleanly_if_the_session_keeps_changing(committed_world, monkeypatch):
    world = committed_world
    session = _started(world)
    read = services.session_read

    def read_then_touch(session_id):
        found = read(session_id)
        ExamSession.objects.filter(pk=session_id).update(last_activity_at=found.last_activity_at)
        return found

    monkeypatch.setattr(services, "session_read", read_then_touch)
    with pytest.raises(SessionError, match="changed while your answer was being saved"):
        _answer(world, session.pk, session.pending_item_id)
    assert not Attempt.objects.filter(session_id=session.pk).exists()
    assert ExamSession.objects.get(pk=session.pk).history == []


def test_the_last_answer_announces_the_finish_once_it_is_saved(committed_world):
    """The LTI grade passback listens for session_finished: it must fire once, after the
    finished session and its last attempt are in the database."""
    world = committed_world
    session = _started(world)
    seen = []

    def receiver(sender, session_id, **kwargs):
        stored = ExamSession.objects.get(pk=session_id)
        seen.append((stored.status, Attempt.objects.filter(session_id=session_id).count()))

    session_finished.connect(receiver, dispatch_uid="race-test")
    try:
        pending, answered = session.pending_item_id, 0
        while True:
            outcome = _answer(world, session.pk, pending)
            answered += 1
            if outcome.session.is_finished:
                break
            pending = outcome.session.pending_item_id
    finally:
        session_finished.disconnect(dispatch_uid="race-test")
    assert answered == 6
    assert seen == [(SessionStatus.COMPLETED, 6)]
