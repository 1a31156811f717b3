"""Redis is only a cache: while it refuses connections, people sign in, see their question and
answer it; sessions come from the database, and the outage is logged once, not per request."""

import logging

import pytest
from django.core.cache import cache
from django.db import connection

from dreamseed.assessments.models import Attempt, ExamSession
from dreamseed.core.cache import _outage_for, cache_outages_reset
from dreamseed.testing import PASSWORD, free_port, school_client


@pytest.fixture
def redis_down(settings):
    """The cache points at a loopback port where nothing listens (never the shared Redis)."""
    cache_outages_reset()
    location = f"redis://127.0.0.1:{free_port()}/6"
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": location},
    }
    yield location
    cache_outages_reset()


def test_a_student_signs_in_while_redis_refuses_connections(redis_down, alpha_student):
    client = school_client(alpha_student.host)
    response = client.post(
        "/accounts/login/", {"username": alpha_student.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert home.context["user"].username == alpha_student.username


def test_sign_out_while_redis_is_down_ends_the_session(redis_down, alpha_teacher):
    client = school_client(alpha_teacher.host, alpha_teacher)
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_student_sees_the_question_and_answers_while_redis_is_down(
    redis_down, alpha_student, world, caplog
):
    client = school_client(alpha_student.host)
    client.post("/accounts/login/", {"username": alpha_student.username, "password": PASSWORD})
    with caplog.at_level(logging.WARNING, logger="dreamseed.cache"):
        started = client.post(f"/tests/take/{world.assignment.pk}/")
        assert started.status_code == 302
        session_id = int(started["Location"].rstrip("/").split("/")[-1])
        page = client.get(f"/tests/session/{session_id}/")
        assert page.status_code == 200 and 'name="choice"' in page.text
        connection.set_tenant(world.school)
        item = ExamSession.objects.get(pk=session_id).pending_item_id
        answered = client.post(f"/tests/session/{session_id}/", {"item": item, "choice": "B"})
        assert answered.status_code == 302
        next_page = client.get(answered["Location"])
        assert next_page.status_code == 200
    connection.set_tenant(world.school)
    assert Attempt.objects.filter(session_id=session_id, item_id=item).count() == 1
    # Dozens of failed cache calls, one message for the interval.
    outage = [record for record in caplog.records if record.name == "dreamseed.cache"]
    assert len(outage) == 1
    assert "unavailable" in outage[0].getMessage()


def test_reads_miss_writes_drop_and_once_only_guards_refuse(redis_down, settings):
    settings.CACHE_RETRY_SECONDS = 0  # ask the dead server every time, not only once a second
    assert cache.get("anything", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    cache.set("key", 1)
    cache.set_many({"a": 1})
    cache.delete("key")
    assert "key" not in cache
    # A single-use token cannot be proven unused: refuse it rather than allow a replay.
    assert cache.add("nonce", 1) is False
    # A failure counter starts again from the delta instead of raising.
    assert cache.incr("counter", 3) == 3


def test_while_the_breaker_is_open_redis_is_not_asked(redis_down, settings):
    settings.CACHE_RETRY_SECONDS = 60
    cache.get("first")  # fails, opens the breaker
    outage = _outage_for(redis_down)
    assert outage.skipping()
    cache.set("while-open", 1)
    assert outage.failures == 1  # counted for the next message (the first one was logged)
    assert any("while-open" in key for key in outage.stale_keys)


def test_keys_written_during_an_outage_are_deleted_when_redis_answers_again(
    settings, alpha_teacher
):
    """A Redis that was only unreachable still holds the values from before the outage: a
    session ended meanwhile must not come back from the cache."""
    settings.CACHE_RETRY_SECONDS = 0
    cache_outages_reset()
    cache.set("session-before-outage", "still signed in")
    full_key = cache.make_key("session-before-outage")
    location = ",".join(cache._servers)
    outage = _outage_for(location)
    outage.failed("delete", ConnectionError("refused"), keys=[full_key])
    assert outage.down_since is not None
    try:
        # The first call that reaches Redis again cleans up before anything else reads it.
        assert cache.get("unrelated") is None
        assert outage.down_since is None
        assert cache.get("session-before-outage") is None
    finally:
        cache_outages_reset()
