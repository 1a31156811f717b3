"""The invitation email goes through a real Celery worker and Redis, inside the right school."""

import pytest
from django.conf import settings

from dreamseed.accounts.models import Role, User
from dreamseed.accounts.services import staff_add
from dreamseed.testing import in_schema, wait_for


@pytest.mark.worker
def test_invitation_is_sent_by_a_real_worker_in_the_schools_schema(
    committed_db, personas, celery_worker_process
):
    alpha_admin = personas["alpha_admin"]
    mail_dir = celery_worker_process.env()["EMAIL_FILE_PATH"]
    with in_schema(alpha_admin.schema_name):
        from django.db import connection

        connection.set_tenant(alpha_admin.school)
        user = staff_add(
            first_name="Wendy",
            last_name="Worker",
            email="wendy@alpha.example",
            role=Role.TEACHER,
            invited_by=alpha_admin.user,
            base_url="http://alpha.localhost:8000",
        )
    try:

        def sent():
            with in_schema(alpha_admin.schema_name):
                return User.objects.get(pk=user.pk).invitation_sent_at

        wait_for(sent, timeout=30, message="the worker never marked the invitation sent")
        from pathlib import Path

        mails = [path.read_text() for path in Path(mail_dir).glob("*.log")]
        assert any(
            "wendy@alpha.example" in mail
            and "http://alpha.localhost:8000/accounts/invitation/" in mail
            for mail in mails
        )
        # beta's schema has no such person: the task ran in alpha's.
        with in_schema(personas["beta_admin"].schema_name):
            assert not User.objects.filter(username="wendy@alpha.example").exists()
    finally:
        with in_schema(alpha_admin.schema_name):
            User.objects.filter(pk=user.pk).delete()
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
