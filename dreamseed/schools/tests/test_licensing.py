"""Licence rules: the effective state (trial end, past_due grace, expiry), seats, and the check
every way of adding students must pass."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from dreamseed.accounts.models import Role, User
from dreamseed.schools.licensing import (
    LicenceReadOnly,
    SeatLimitReached,
    assert_can_add_students,
    licence_state,
    licence_summary,
    school_can_start_tests,
    school_is_read_only,
    seats_available,
    seats_used,
)
from dreamseed.schools.models import LicenceStatus, School
from dreamseed.testing import in_schema

pytestmark = pytest.mark.django_db


def _school(**fields) -> School:
    now = timezone.now()
    defaults = {
        "name": "Somewhere",
        "schema_name": "nowhere",
        "licence_status": LicenceStatus.ACTIVE,
        "licence_expires_at": now + timedelta(days=30),
        "seats": 10,
    }
    return School(**{**defaults, **fields})  # unsaved: the rules read fields only


def _alpha(persona, **fields) -> School:
    School.objects.filter(schema_name=persona.schema_name).update(**fields)
    return School.objects.get(schema_name=persona.schema_name)


# --- The effective state -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,days_left,expected",
    [
        (LicenceStatus.TRIALING, 3, LicenceStatus.TRIALING),
        (LicenceStatus.TRIALING, -1, LicenceStatus.EXPIRED),
        (LicenceStatus.ACTIVE, 200, LicenceStatus.ACTIVE),
        (LicenceStatus.ACTIVE, -1, LicenceStatus.EXPIRED),
        (LicenceStatus.PAST_DUE, 5, LicenceStatus.PAST_DUE),  # in the grace period
        (LicenceStatus.PAST_DUE, -1, LicenceStatus.EXPIRED),  # grace period over
        (LicenceStatus.CANCELED, 5, LicenceStatus.CANCELED),
        (LicenceStatus.EXPIRED, 5, LicenceStatus.EXPIRED),
    ],
)
def test_the_licence_state_counts_the_clock(status, days_left, expected):
    school = _school(
        licence_status=status, licence_expires_at=timezone.now() + timedelta(days=days_left)
    )
    assert licence_state(school) == expected
    read_only = expected in (LicenceStatus.CANCELED, LicenceStatus.EXPIRED)
    assert school_is_read_only(school) is read_only
    assert school_can_start_tests(school) is not read_only


def test_a_licence_without_an_end_date_does_not_expire():
    assert licence_state(_school(licence_expires_at=None)) == LicenceStatus.ACTIVE


def test_the_current_school_is_the_default(alpha_admin):
    school = _alpha(alpha_admin, licence_status=LicenceStatus.CANCELED)
    with tenant_context(school):
        assert licence_state() == LicenceStatus.CANCELED
        assert not school_can_start_tests()


def test_the_summary_warns_when_a_trial_is_ending():
    now = timezone.now()
    soon = licence_summary(
        _school(licence_status=LicenceStatus.TRIALING, licence_expires_at=now + timedelta(days=3)),
        now=now,
    )
    assert (soon.trialing, soon.ending_soon, soon.days_left, soon.read_only) == (
        True,
        True,
        3,
        False,
    )
    later = licence_summary(
        _school(licence_status=LicenceStatus.TRIALING, licence_expires_at=now + timedelta(days=20))
    )
    assert not later.ending_soon
    renewing = licence_summary(_school(licence_expires_at=now + timedelta(days=3)), now=now)
    assert not renewing.ending_soon  # an active licence renews by itself
    ending = licence_summary(
        _school(licence_expires_at=now + timedelta(days=3), licence_cancel_at_period_end=True),
        now=now,
    )
    assert ending.ending_soon
    over = licence_summary(_school(licence_expires_at=now - timedelta(days=1)), now=now)
    assert (over.state, over.label, over.read_only, over.days_left) == (
        LicenceStatus.EXPIRED,
        "Expired",
        True,
        None,
    )


# --- Seats ---------------------------------------------------------------------------------------


def test_seats_used_counts_the_active_students_of_the_current_school(alpha_admin, beta_admin):
    with in_schema(alpha_admin.schema_name):
        before = seats_used()
        User.objects.create_user(username="gone", role=Role.STUDENT, is_active=False)
        User.objects.create_user(username="teach", role=Role.TEACHER)
        assert seats_used() == before  # neither takes a seat
        User.objects.create_user(username="new-student", role=Role.STUDENT)
        assert seats_used() == before + 1
    with in_schema(beta_admin.schema_name):
        assert seats_used() == 1  # beta's own student only


def test_seats_available_never_goes_below_zero(alpha_admin):
    with in_schema(alpha_admin.schema_name):
        used = seats_used()
        assert seats_available(_school(seats=used + 3)) == 3
        assert seats_available(_school(seats=0)) == 0


def test_adding_students_within_the_seats_is_allowed(alpha_admin):
    with in_schema(alpha_admin.schema_name):
        school = _alpha(alpha_admin, seats=seats_used() + 2)
        assert_can_add_students(2, school=school)
        assert_can_add_students(0, school=school)


def test_adding_more_students_than_free_seats_says_why_and_how_to_upgrade(alpha_admin):
    with in_schema(alpha_admin.schema_name):
        used = seats_used()
        school = _alpha(alpha_admin, seats=used + 1)

        with pytest.raises(SeatLimitReached) as caught:
            assert_can_add_students(3, school=school)

    error = caught.value
    assert isinstance(error, ValidationError)
    assert error.code == "seat_limit"
    assert (error.seats, error.used, error.requested, error.available) == (used + 1, used, 3, 1)
    message = error.messages[0]
    assert "This would add 3 students, but your school's licence has only 1 free" in message
    assert f"({used} of {used + 1} seats in use)" in message
    assert "buy more seats on the Billing page" in message


def test_a_full_school_says_all_seats_are_in_use(alpha_admin):
    with in_schema(alpha_admin.schema_name):
        used = seats_used()
        school = _alpha(alpha_admin, seats=used)
        with pytest.raises(SeatLimitReached) as caught:
            assert_can_add_students(1, school=school)
    assert (
        f"All student seats on your school's licence are in use ({used} of {used})"
        in (caught.value.messages[0])
    )


def test_an_expired_school_cannot_add_students_whatever_its_seats(alpha_admin):
    with in_schema(alpha_admin.schema_name):
        school = _alpha(
            alpha_admin, seats=1000, licence_expires_at=timezone.now() - timedelta(minutes=1)
        )
        with pytest.raises(LicenceReadOnly) as caught:
            assert_can_add_students(1, school=school)
    assert caught.value.code == "licence_read_only"
    assert "renew the licence on the Billing page" in caught.value.messages[0]


def test_the_check_works_in_any_schema_context(alpha_admin):
    # schema_context() (tasks, shells) sets a stand-in tenant without licence fields.
    _alpha(alpha_admin, seats=0)
    with in_schema(alpha_admin.schema_name), pytest.raises(SeatLimitReached):
        assert_can_add_students(1)


def test_inside_a_transaction_the_check_reads_the_seats_fresh_under_a_lock(alpha_admin):
    with in_schema(alpha_admin.schema_name):
        used = seats_used()
        stale = _alpha(alpha_admin, seats=used + 5)  # what a cached tenant would still say
        School.objects.filter(pk=stale.pk).update(seats=used)
        with transaction.atomic(), pytest.raises(SeatLimitReached):
            assert_can_add_students(1, school=stale)


# --- New schools ---------------------------------------------------------------------------------


def test_a_new_school_gets_the_trial_from_settings(public_client, settings):
    from dreamseed.schools.services import school_create

    settings.BILLING_TRIAL_SEATS = 12
    settings.BILLING_TRIAL_DAYS = 10
    created = school_create(
        name="Trial School",
        subdomain="trial-school",
        admin_email="admin@trial.example",
        admin_first_name="Tia",
        admin_last_name="Trial",
        admin_password="a-long-and-unusual-passphrase",
    )
    school = created.school
    assert (school.plan, school.seats, school.licence_status) == (
        "trial",
        12,
        LicenceStatus.TRIALING,
    )
    remaining = school.licence_expires_at - timezone.now()
    assert timedelta(days=9, hours=23) < remaining <= timedelta(days=10)
