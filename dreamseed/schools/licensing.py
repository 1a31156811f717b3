"""What a school's licence allows right now. The billing app keeps the fields up to date from
Stripe; everything that must refuse work on a full or expired licence asks here.

The effective state is the stored status corrected by the clock: a trial, a paid period or a
payment grace period that has run out counts as expired even before anyone saves the row.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dreamseed.schools.models import LicenceStatus, School

#: States in which the school is read-only: results and reports stay readable, no new tests.
READ_ONLY_STATES = (LicenceStatus.CANCELED, LicenceStatus.EXPIRED)
#: States that run out at licence_expires_at (for past_due: the end of the grace period).
TIMED_STATES = (LicenceStatus.TRIALING, LicenceStatus.ACTIVE, LicenceStatus.PAST_DUE)
#: How early admins are warned that a trial or a licence that will not renew is ending.
ENDING_SOON = timedelta(days=7)


def _school(school: School | None) -> School:
    """The given school, else the current one (schema_context() only sets a stand-in tenant)."""
    if school is not None:
        return school
    if isinstance(connection.tenant, School):
        return connection.tenant
    return School.objects.get(schema_name=connection.schema_name)


def licence_state(school: School | None = None, *, now=None) -> str:
    """The effective licence state: a trial, paid period or grace period past its end counts as
    expired."""
    school = _school(school)
    now = now or timezone.now()
    status = school.licence_status
    if (
        status in TIMED_STATES
        and school.licence_expires_at is not None
        and school.licence_expires_at < now
    ):
        return LicenceStatus.EXPIRED
    return status


def school_is_read_only(school: School | None = None, *, now=None) -> bool:
    """Expired or canceled: people can sign in and read everything, but change nothing."""
    return licence_state(school, now=now) in READ_ONLY_STATES


def school_can_start_tests(school: School | None = None) -> bool:
    return not school_is_read_only(school)


# --- Seats ---------------------------------------------------------------------------------------


def seats_used() -> int:
    """Active students in the current school's schema: each one takes a seat."""
    from dreamseed.accounts.models import Role, User

    return User.objects.filter(role=Role.STUDENT, is_active=True).count()


def seats_available(school: School | None = None, *, used: int | None = None) -> int:
    school = _school(school)
    used = seats_used() if used is None else used
    return max(0, school.seats - used)


class LicenceReadOnly(ValidationError):
    """The school's licence has expired or was canceled: nothing may be added."""


class SeatLimitReached(ValidationError):
    """Adding these students would use more seats than the licence has."""

    def __init__(self, message: str, *, seats: int, used: int, requested: int):
        super().__init__(message, code="seat_limit")
        self.seats = seats
        self.used = used
        self.requested = requested

    @property
    def available(self) -> int:
        return max(0, self.seats - self.used)


def assert_can_add_students(count: int = 1, *, school: School | None = None) -> None:
    """Raise a ValidationError that says why (and what to do) if `count` more active students
    cannot be added to the current school.

    Call it inside the transaction that creates (or reactivates) the students: it then locks the
    school's row, so two teachers adding the last free seat at the same moment cannot both get
    it. Raises LicenceReadOnly (expired or canceled) or SeatLimitReached (seats full).
    """
    if count <= 0:
        return
    school = _school(school)
    if connection.in_atomic_block:
        # Re-read under a row lock: the tenant object may come from a per-process cache.
        school = School.objects.select_for_update().get(pk=school.pk)
    if school_is_read_only(school):
        raise LicenceReadOnly(
            _(
                "Your school's licence has expired, so the school is read-only: no students "
                "can be added. A school administrator can renew the licence on the Billing page."
            ),
            code="licence_read_only",
        )
    used = seats_used()
    if used + count <= school.seats:
        return
    available = max(0, school.seats - used)
    numbers = {"count": count, "available": available, "used": used, "seats": school.seats}
    if used > school.seats:
        why = _(
            "Your school has more active students (%(used)s) than its licence has seats "
            "(%(seats)s), so no students can be added until that is resolved."
        )
    elif available == 0:
        why = _("All student seats on your school's licence are in use (%(used)s of %(seats)s).")
    else:
        why = ngettext(
            "This would add %(count)s student, but your school's licence has only "
            "%(available)s free (%(used)s of %(seats)s seats in use).",
            "This would add %(count)s students, but your school's licence has only "
            "%(available)s free (%(used)s of %(seats)s seats in use).",
            count,
        )
    why = why % numbers
    upgrade = _(
        "To add more, a school administrator can buy more seats on the Billing page, or "
        "deactivate students who have left."
    )
    raise SeatLimitReached(f"{why} {upgrade}", seats=school.seats, used=used, requested=count)


# --- For pages and banners -----------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceSummary:
    state: str  # the effective LicenceStatus value
    label: str
    expires_at: datetime | None
    days_left: int | None  # whole days until expires_at, rounded up; None without an end
    read_only: bool
    past_due: bool
    trialing: bool
    ending_soon: bool  # a trial, or a licence that will not renew, ends within ENDING_SOON
    # More active students than seats (recorded by billing when Stripe lowered the seats).
    over_capacity: bool = False


def licence_summary(school: School | None = None, *, now=None) -> LicenceSummary:
    school = _school(school)
    now = now or timezone.now()
    state = licence_state(school, now=now)
    expires_at = school.licence_expires_at
    days_left = None
    if expires_at is not None and expires_at >= now:
        days_left = math.ceil((expires_at - now).total_seconds() / 86400)
    ends_without_renewal = state == LicenceStatus.TRIALING or (
        state == LicenceStatus.ACTIVE and school.licence_cancel_at_period_end
    )
    return LicenceSummary(
        state=state,
        label=str(LicenceStatus(state).label),
        expires_at=expires_at,
        days_left=days_left,
        read_only=state in READ_ONLY_STATES,
        past_due=state == LicenceStatus.PAST_DUE,
        trialing=state == LicenceStatus.TRIALING,
        ending_soon=bool(
            ends_without_renewal and expires_at is not None and expires_at - now <= ENDING_SOON
        ),
        over_capacity=bool(school.licence_over_capacity_since and state not in READ_ONLY_STATES),
    )
