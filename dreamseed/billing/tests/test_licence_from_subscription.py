"""school_licence_apply_subscription: Stripe's subscription status and periods -> the licence."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from dreamseed.billing.services import money_format, school_licence_apply_subscription
from dreamseed.billing.tests.conftest import DAY, SUBSCRIPTION_ID, load, subscription
from dreamseed.schools.licensing import licence_state
from dreamseed.schools.models import LicenceStatus, School

pytestmark = pytest.mark.django_db


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


@pytest.fixture
def school(alpha_admin, stripe_keys) -> School:
    return School.objects.get(schema_name=alpha_admin.schema_name)


def _apply(school, sub, **kwargs) -> tuple[bool, School]:
    applied = school_licence_apply_subscription(school=school, subscription=sub, **kwargs)
    return applied, School.objects.get(pk=school.pk)


@pytest.mark.parametrize(
    "status,licence",
    [("trialing", LicenceStatus.TRIALING), ("active", LicenceStatus.ACTIVE),
     ("past_due", LicenceStatus.PAST_DUE), ("unpaid", LicenceStatus.PAST_DUE),
     ("canceled", LicenceStatus.CANCELED), ("incomplete_expired", LicenceStatus.CANCELED),
     ("paused", LicenceStatus.EXPIRED)],
)  # fmt: skip
def test_each_subscription_status_maps_to_a_licence_status(school, status, licence):
    applied, school = _apply(school, subscription(status=status))
    assert applied
    assert school.licence_status == licence
    assert school.stripe_subscription_status == status


def test_an_incomplete_subscription_changes_nothing_yet(school):
    applied, after = _apply(school, subscription(status="incomplete"))
    assert not applied
    assert (after.licence_status, after.seats, after.stripe_subscription_id) == (
        LicenceStatus.TRIALING,
        50,
        "",
    )


def test_a_stripe_trial_ends_at_its_trial_end_plus_grace(school, settings):
    trial_end = int(time.time()) + 10 * DAY
    _applied, school = _apply(school, subscription(status="trialing", trial_end=trial_end))
    assert school.licence_expires_at == _at(trial_end) + timedelta(days=settings.BILLING_GRACE_DAYS)


def test_a_licence_set_to_cancel_ends_exactly_at_the_period_end(school):
    sub = subscription(cancel_at_period_end=True)
    period_end = sub["items"]["data"][0]["current_period_end"]
    _applied, school = _apply(school, sub)
    assert school.licence_cancel_at_period_end
    assert school.licence_expires_at == school.licence_period_end == _at(period_end)


def test_a_cancel_at_date_before_the_period_end_is_the_end(school):
    cancel_at = int(time.time()) + 30 * DAY
    _applied, school = _apply(school, subscription(cancel_at=cancel_at))
    assert school.licence_expires_at == school.licence_period_end == _at(cancel_at)


def test_the_pre_basil_shape_with_periods_on_the_subscription_is_understood(school, settings):
    legacy = load("legacy_customer_subscription_updated")["data"]["object"]
    now = int(time.time())
    legacy["current_period_start"], legacy["current_period_end"] = now - DAY, now + 300 * DAY
    legacy["items"]["data"][0]["quantity"] = 27

    _applied, school = _apply(school, legacy)

    assert "current_period_end" not in legacy["items"]["data"][0]
    assert school.seats == 27
    assert school.licence_period_end == _at(now + 300 * DAY)
    assert licence_state(school) == LicenceStatus.ACTIVE


def test_an_older_read_never_overwrites_a_newer_one(school):
    now = timezone.now()
    assert _apply(school, subscription(quantity=40), fetched_at=now)[0]

    applied, school = _apply(
        school, subscription(status="past_due", quantity=10), fetched_at=now - timedelta(seconds=1)
    )

    assert not applied
    assert (school.licence_status, school.seats, school.licence_updated_at) == (
        LicenceStatus.ACTIVE,
        40,
        now,
    )


def test_seats_come_from_the_item_with_our_price(school):
    sub = subscription(quantity=30)
    other = dict(sub["items"]["data"][0], id="si_other", quantity=1)
    other["price"] = dict(other["price"], id="price_something_else")
    sub["items"]["data"].insert(0, other)

    _applied, school = _apply(school, sub)

    assert school.seats == 30
    assert school.stripe_subscription_id == SUBSCRIPTION_ID


@pytest.mark.parametrize(
    "amount,currency,shown",
    [(15000, "usd", "150.00 USD"), (123456, "eur", "1,234.56 EUR"), (55000, "krw", "55,000 KRW")],
)
def test_money_is_shown_in_major_units(amount, currency, shown):
    assert money_format(amount, currency) == shown


@pytest.mark.parametrize(
    "status,changes,label",
    [("trialing", {}, "Trial ends on"), ("active", {}, "Renews on"),
     ("active", {"cancel_at_period_end": True}, "Ends on"),
     ("past_due", {}, "Keeps working until"), ("unpaid", {}, "Keeps working until"),
     ("canceled", {"canceled_at": 1795132900, "ended_at": 1795132900}, "Ended on"),
     ("paused", {}, "Ended on")],
)  # fmt: skip
def test_the_page_names_the_date_that_matters_for_each_state(school, status, changes, label):
    from dreamseed.billing.services import licence_dates

    _applied, school = _apply(school, subscription(status=status, **changes))

    [shown] = licence_dates(school)
    assert shown.label == label
    if label == "Keeps working until":
        assert shown.date == school.licence_expires_at  # the grace deadline, not a renewal
    elif label == "Ended on":
        assert shown.date == school.licence_expires_at
    else:
        assert shown.date == school.licence_period_end


def test_a_licence_that_ran_out_shows_when_it_ended(school):
    ended = timezone.now() - timedelta(days=2)
    School.objects.filter(pk=school.pk).update(
        licence_status=LicenceStatus.ACTIVE,
        licence_expires_at=ended,
        licence_period_end=ended - timedelta(days=14),
    )
    from dreamseed.billing.services import licence_dates

    [shown] = licence_dates(School.objects.get(pk=school.pk))
    assert (shown.label, shown.date) == ("Ended on", ended)
