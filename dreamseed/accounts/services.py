"""Account services: staff management, invitations, and the signed hand-off that signs a new
school's admin in at the school's own host after signup on the public site."""

import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from dreamseed.accounts.models import STAFF_ROLES, Role, User
from dreamseed.core.hosts import url_on_host

HANDOFF_SALT = "dreamseed.accounts.handoff"
HANDOFF_MAX_AGE_SECONDS = 120


# --- Sign-in hand-off from the public site to a school's host ------------------------------------


def handoff_url(request, *, school, user) -> str:
    """A short-lived, single-use link that signs `user` in at `school`'s host."""
    token = signing.dumps(
        {"schema": school.schema_name, "user": user.pk, "nonce": secrets.token_urlsafe(16)},
        salt=HANDOFF_SALT,
    )
    path = reverse("accounts:handoff", kwargs={"token": token}, urlconf=settings.ROOT_URLCONF)
    return url_on_host(request, school.primary_host, path)


def handoff_consume(*, token: str) -> User | None:
    """Return the user the token names in the current schema, once; None if unusable."""
    try:
        payload = signing.loads(token, salt=HANDOFF_SALT, max_age=HANDOFF_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if payload.get("schema") != connection.schema_name:
        return None
    # The cache key is schema-prefixed; add() is atomic in Redis, so a replay finds it taken.
    if not cache.add(f"handoff:{payload['nonce']}", 1, timeout=HANDOFF_MAX_AGE_SECONDS * 2):
        return None
    return User.objects.filter(pk=payload["user"], is_active=True).first()


# --- Staff ---------------------------------------------------------------------------------------


def staff_add(
    *, first_name: str, last_name: str, email: str, role: str, invited_by: User, base_url: str
) -> User:
    """Create a staff account with no usable password and email them an invitation."""
    if role not in STAFF_ROLES:
        raise ValidationError({"role": _("Staff must be a teacher or a school administrator.")})
    email = email.strip().lower()
    if User.objects.filter(username__iexact=email).exists():
        raise ValidationError({"email": _("Someone at this school already uses that email.")})
    user = User(
        username=email,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        invited_by=(invited_by.get_full_name() or invited_by.username)[:150],
    )
    user.set_unusable_password()
    user.save()
    staff_invite(user=user, base_url=base_url)
    return user


def staff_invite(*, user: User, base_url: str) -> None:
    """Queue the invitation email once the surrounding transaction has committed (through the
    outbox: kept and sent later if the broker is down)."""
    from dreamseed.accounts.tasks import staff_invitation_send
    from dreamseed.outbox.services import outbox_enqueue

    requested_at = timezone.now().isoformat()
    language = translation.get_language()
    outbox_enqueue(staff_invitation_send, user.pk, base_url, requested_at, language)


def staff_invitation_deliver(*, user: User, base_url: str, requested_at: datetime) -> bool:
    """Send the invitation email; return False if one was already sent for this request."""
    if user.invitation_sent_at and user.invitation_sent_at >= requested_at:
        return False
    if user.has_usable_password():
        return False  # they accepted already; nothing to invite to
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = base_url.rstrip("/") + reverse(
        "accounts:invitation_accept",
        kwargs={"uidb64": uid, "token": token},
        urlconf=settings.ROOT_URLCONF,
    )
    context = {"user": user, "link": link, "school": connection.tenant}
    subject = _("You are invited to %(school)s on DreamSeed") % {"school": connection.tenant.name}
    body = render_to_string("emails/staff_invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    User.objects.filter(pk=user.pk).update(invitation_sent_at=timezone.now())
    return True


def staff_set_active(*, user: User, active: bool, changed_by: User) -> None:
    """Deactivate or reactivate a staff account, keeping at least one active admin."""
    if user.role not in STAFF_ROLES:
        raise ValidationError(_("Only staff accounts are managed here."))
    if not active and user.pk == changed_by.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if not active and user.role == Role.ADMIN:
        other_admins = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
        if not other_admins.exists():
            raise ValidationError(_("A school needs at least one active administrator."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        _end_sessions_of(user)


def _end_sessions_of(user: User) -> None:
    """Sign a deactivated person out everywhere (sessions live in this school's schema)."""
    from django.contrib.sessions.models import Session

    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
