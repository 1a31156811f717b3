"""What a school's licence allows right now. The billing app keeps the fields up to date from
Stripe; everything that must refuse work on an expired licence asks here."""

from django.db import connection
from django.utils import timezone

from dreamseed.schools.models import LicenceStatus, School

#: States in which the school is read-only: results and reports stay readable, no new tests.
READ_ONLY_STATES = (LicenceStatus.CANCELED, LicenceStatus.EXPIRED)


def licence_state(school: School | None = None, *, now=None) -> str:
    """The effective licence state: a trial or paid period past its end counts as expired."""
    school = school or connection.tenant
    now = now or timezone.now()
    status = school.licence_status
    if (
        status in (LicenceStatus.TRIALING, LicenceStatus.ACTIVE)
        and school.licence_expires_at is not None
        and school.licence_expires_at < now
    ):
        return LicenceStatus.EXPIRED
    return status


def school_can_start_tests(school: School | None = None) -> bool:
    return licence_state(school) not in READ_ONLY_STATES
