from datetime import datetime

from django.utils import translation

from dreamseed.accounts.models import User
from dreamseed.accounts.services import staff_invitation_deliver
from dreamseed.celery import app


@app.task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def staff_invitation_send(user_id: int, base_url: str, requested_at: str, language: str = "en"):
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    with translation.override(language):
        return staff_invitation_deliver(
            user=user, base_url=base_url, requested_at=datetime.fromisoformat(requested_at)
        )
