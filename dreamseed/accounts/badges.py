"""Sign-in badges: the QR code on a student's sign-in slip signs them in without typing (as
Clever badges do), for students too young to type a username and password.

The code holds a signed token naming the school's schema, the student and a tag of the student's
current password hash. Printing new slips gives the student a new password, which revokes every
badge printed before (as does any password change, and deactivating the student). A token from
one school is worthless at another. Attempts are throttled per client address, counting the
failures, so nobody can guess codes faster than a few a minute.
"""

import segno
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.utils.crypto import constant_time_compare, salted_hmac

from dreamseed.accounts.models import Role, User

SALT = "dreamseed.accounts.badge"
#: A printed slip works for a school year at most.
MAX_AGE_SECONDS = 366 * 24 * 3600
#: Failed attempts a client address may make in THROTTLE_SECONDS before it must wait.
THROTTLE_FAILURES = getattr(settings, "BADGE_THROTTLE_FAILURES", 10)
THROTTLE_SECONDS = 10 * 60


def _password_tag(user: User) -> str:
    return salted_hmac(SALT, user.password, algorithm="sha256").hexdigest()[:20]


def badge_token(*, student: User) -> str:
    """The token a slip's QR code carries (after the student's password was set)."""
    payload = {"s": connection.schema_name, "u": student.pk, "p": _password_tag(student)}
    return signing.dumps(payload, salt=SALT, compress=True)


def badge_student(*, token: str) -> User | None:
    """The active student the token names in this school, or None if it is not (or no longer)
    valid."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("s") != connection.schema_name:
        return None
    student = User.objects.filter(pk=payload.get("u"), is_active=True, role=Role.STUDENT).first()
    if student is None or not constant_time_compare(payload.get("p", ""), _password_tag(student)):
        return None
    return student


def badge_svg(url: str, *, title: str) -> str:
    """The QR code of `url` as inline SVG (server-made; no script, no style attribute), with a
    <title> that screen readers announce."""
    return segno.make(url, error="m").svg_inline(scale=3, border=2, title=title)


def _throttle_key(address: str) -> str:
    return f"badge-failures:{address}"  # the cache prefixes the school's schema


def badge_throttled(*, address: str) -> bool:
    return (cache.get(_throttle_key(address)) or 0) >= THROTTLE_FAILURES


def badge_failure_record(*, address: str) -> None:
    key = _throttle_key(address)
    if not cache.add(key, 1, timeout=THROTTLE_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired in between
            cache.add(key, 1, timeout=THROTTLE_SECONDS)
