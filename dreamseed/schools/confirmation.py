"""The school administrator's e-mail address, confirmed before the school can invite anyone or buy
seats. Anyone can sign up, with anyone's address: invitations (e-mails to other people sent in
our name) and payments wait until the link we mail to the signup address has been followed.

The link is on the public host and carries a signed token naming the school and the address it
was sent to; it works for a week, and a changed address makes old links useless.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dreamseed.schools.models import School

logger = logging.getLogger(__name__)

CONFIRMATION_SALT = "dreamseed.schools.email-confirmation"
CONFIRMATION_MAX_AGE = timedelta(days=7)


def school_email_confirmation_link(*, school: School, base_url: str) -> str:
    token = signing.dumps(
        {"school": school.pk, "email": school.admin_email}, salt=CONFIRMATION_SALT
    )
    path = reverse("confirm_email", kwargs={"token": token}, urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return base_url.rstrip("/") + path


def school_email_confirmation_send(*, school: School, base_url: str) -> bool:
    """Mail the confirmation link to the school's administrator address; False if it could not
    be sent (logged; the administrator can ask for it again from any page of the school)."""
    if not school.admin_email or school.email_confirmed_at is not None:
        return False
    context = {
        "school": school,
        "link": school_email_confirmation_link(school=school, base_url=base_url),
    }
    subject = _("Confirm your e-mail address for %(school)s on DreamSeed") % {"school": school.name}
    body = render_to_string("emails/school_email_confirmation.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [school.admin_email])
    except OSError:
        logger.exception("school e-mail confirmation not sent", extra={"school": school.pk})
        return False
    return True


def school_email_confirm(*, token: str) -> School | None:
    """The school the token confirms (now confirmed), or None for a bad, old or stale token."""
    try:
        payload = signing.loads(
            token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE.total_seconds()
        )
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    school = School.objects.real().filter(pk=payload.get("school")).first()
    if school is None or not school.admin_email or payload.get("email") != school.admin_email:
        return None
    if school.email_confirmed_at is None:
        school.email_confirmed_at = timezone.now()
        School.objects.filter(pk=school.pk).update(email_confirmed_at=school.email_confirmed_at)
    return school


def school_require_confirmed_email(school: School) -> None:
    """Raise ValidationError, with what to do, unless the school's admin address is confirmed."""
    if school.email_confirmed_at is None:
        raise ValidationError(
            _(
                "Confirm your e-mail address first: follow the link we sent to %(email)s. Until "
                "then the school cannot invite anyone or buy seats."
            )
            % {"email": school.admin_email},
            code="email_unconfirmed",
        )
