"""Tasks asked for while the broker is down are kept in the outbox and run once it is back."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from dreamseed.accounts.models import Role, User
from dreamseed.accounts.services import staff_add
from dreamseed.celery import app
from dreamseed.outbox.models import OutboxMessage
from dreamseed.outbox.services import broker, outbox_drain, outbox_enqueue, outbox_publish
from dreamseed.testing import free_port, in_schema, wait_for


def _reset_broker_connections():
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Celery publishes to a loopback port where nothing listens (never the shared Redis)."""
    real_url = app.conf.broker_url
    broker.reset()
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    _reset_broker_connections()

    def back():
        app.conf.broker_url = real_url
        _reset_broker_connections()
        broker.reset()

    yield back
    back()


def _invite(alpha_admin, email):
    with in_schema(alpha_admin.schema_name):
        connection.set_tenant(alpha_admin.school)
        return staff_add(
            first_name="Olive",
            last_name="Outbox",
            email=email,
            role=Role.TEACHER,
            invited_by=alpha_admin.user,
            base_url="http://alpha.localhost:8000",
        )


def test_a_task_asked_for_while_the_broker_is_down_is_kept(
    broker_down, personas, db, django_capture_on_commit_callbacks
):
    alpha_admin = personas["alpha_admin"]
    with django_capture_on_commit_callbacks(execute=True):
        user = _invite(alpha_admin, "olive@alpha.example")  # the admin's request succeeds
    message = OutboxMessage.objects.get(task_name="dreamseed.accounts.tasks.staff_invitation_send")
    assert message.schema_name == alpha_admin.schema_name
    assert message.args[0] == user.pk
    assert message.sent_at is None and message.publish_attempts == 1
    assert "OperationalError" in message.last_error
    # The next one does not wait for the broker again: it is left to the drain.
    assert broker.down()
    assert outbox_publish(message_id=message.pk) is False
    assert outbox_drain() == 0  # the drain stops at the first refusal, keeping everything
    message.refresh_from_db()
    assert message.sent_at is None


def test_a_task_is_written_in_the_callers_transaction(
    personas, db, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from dreamseed.accounts.tasks import staff_invitation_send

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        try:
            with transaction.atomic():
                outbox_enqueue(staff_invitation_send, 1, "http://x", "2026-01-01", "en")
                raise RuntimeError("the change is rolled back")
        except RuntimeError:
            pass
    assert not OutboxMessage.objects.exists()
    assert callbacks == []


@pytest.mark.worker
def test_kept_tasks_run_once_when_the_broker_is_back(
    committed_db, personas, celery_worker_process, broker_down
):
    alpha_admin = personas["alpha_admin"]
    mail_dir = Path(celery_worker_process.env()["EMAIL_FILE_PATH"])
    email = "kept@alpha.example"
    user = _invite(alpha_admin, email)  # committed: the on-commit publish fails
    connection.set_schema_to_public()
    try:
        message = OutboxMessage.objects.get(args__0=user.pk)
        assert message.sent_at is None
        broker_down()  # the broker is back

        assert outbox_drain() == 1

        def received():
            return OutboxMessage.objects.filter(pk=message.pk, received_at__isnull=False).exists()

        wait_for(received, timeout=30, message="the worker never started the kept task")

        def sent():
            with in_schema(alpha_admin.schema_name):
                return User.objects.get(pk=user.pk).invitation_sent_at

        wait_for(sent, timeout=30, message="the invitation was never sent")
        assert outbox_drain() == 0  # nothing left: it is not sent twice
        output = io.StringIO()
        call_command("outbox_drain", stdout=output)
        assert output.getvalue().startswith("published 0;")
        mails = [path.read_text() for path in mail_dir.glob("*.log")]
        assert sum(email in mail for mail in mails) == 1
    finally:
        connection.set_schema_to_public()
        OutboxMessage.objects.filter(args__0=user.pk).delete()
        with in_schema(alpha_admin.schema_name):
            User.objects.filter(pk=user.pk).delete()
