"""Repair: the reconciliation command and the daily beat job re-read subscriptions from (fake)
Stripe and fix licences; the operator replays failed events."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dreamseed.billing import services, tasks
from dreamseed.billing.models import EventOutcome, StripeEvent
from dreamseed.billing.tests.conftest import (
    CUSTOMER_ID,
    DAY,
    SUBSCRIPTION_ID,
    YEAR,
    for_school,
    load,
    subscription,
)
from dreamseed.schools.licensing import licence_state, school_is_read_only
from dreamseed.schools.models import LicenceStatus, School

pytestmark = pytest.mark.django_db


def _reload(school: School) -> School:
    return School.objects.get(pk=school.pk)


@pytest.fixture
def renewal_lost(fake_stripe, deliver, alpha_school, settings):
    """Alpha paid a year that has ended; Stripe renewed it, but the renewal webhook was lost: the
    school's grace period has run out and it reads as expired."""
    settings.BILLING_GRACE_DAYS = 14
    now = int(time.time())
    last_year = now - YEAR - 20 * DAY
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        alpha_school, quantity=30, period_start=last_year, period_end=last_year + YEAR
    )
    deliver(for_school(load("customer_subscription_created"), alpha_school))
    school = _reload(alpha_school)
    assert licence_state(school) == LicenceStatus.EXPIRED
    # Stripe's truth now: renewed for another year (no event ever reached us).
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        alpha_school, quantity=30, period_start=now - 20 * DAY, period_end=now - 20 * DAY + YEAR
    )
    return school


def test_the_command_repairs_a_lost_renewal(renewal_lost, fake_stripe, beta_school):
    out = StringIO()

    call_command("billing_reconcile", stdout=out)

    school = _reload(renewal_lost)
    assert licence_state(school) == LicenceStatus.ACTIVE
    assert not school_is_read_only(school)
    assert school.licence_period_end > timezone.now() + timedelta(days=300)
    lines = out.getvalue().splitlines()
    assert lines == [
        f"alpha: processed: active, 30 seats, subscription {SUBSCRIPTION_ID}",
        "1 reconciled, 0 failed",
    ]  # beta has no Stripe customer: not read
    listed = fake_stripe.last("GET", "/v1/subscriptions")
    assert listed.query["customer"] == CUSTOMER_ID


def test_the_command_takes_one_school_and_reports_unknown_ones(renewal_lost):
    out = StringIO()
    call_command("billing_reconcile", "--school", "alpha", stdout=out)
    assert "alpha: processed" in out.getvalue()

    with pytest.raises(CommandError, match="No such school: nowhere"):
        call_command("billing_reconcile", "--school", "nowhere", stdout=StringIO())


def test_the_command_fails_loudly_when_stripe_cannot_be_read(renewal_lost, fake_stripe):
    for _ in range(3):
        fake_stripe.fail_next(status=500, message="Stripe is down", type="api_error")
    err = StringIO()

    with pytest.raises(CommandError, match="1 school"):
        call_command("billing_reconcile", stdout=StringIO(), stderr=err)

    assert "alpha: failed: Stripe is down" in err.getvalue()
    assert licence_state(_reload(renewal_lost)) == LicenceStatus.EXPIRED


def test_the_command_refuses_without_stripe_keys(no_stripe):
    with pytest.raises(CommandError, match="not configured"):
        call_command("billing_reconcile", stdout=StringIO())


def test_reconciliation_notices_seats_lowered_while_the_webhook_was_lost(
    fake_stripe, deliver, alpha_school, alpha_student, alpha_student2
):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=30)
    deliver(for_school(load("customer_subscription_created"), alpha_school))
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=1)

    call_command("billing_reconcile", stdout=(out := StringIO()))

    assert "alpha: processed: active, 1 seats" in out.getvalue()
    assert "OVER CAPACITY" in out.getvalue()
    assert _reload(alpha_school).licence_over_capacity_since is not None


def test_the_daily_job_reconciles_replays_and_prunes(
    renewal_lost, fake_stripe, post_event, django_capture_on_commit_callbacks, settings
):
    settings.BILLING_EVENT_RETENTION_DAYS = 30
    # An event recorded long ago whose task never ran (broker lost), and an old payload.
    post_event(for_school(load("invoice_paid"), renewal_lost))
    StripeEvent.objects.filter(event_id="evt_1SVq8dreamSeedInvPaid").update(
        received=timezone.now() - timedelta(minutes=20)
    )
    StripeEvent.objects.filter(event_id="evt_1SVq8dreamSeedSubCreated").update(
        received=timezone.now() - timedelta(days=40)
    )

    with django_capture_on_commit_callbacks() as enqueued:
        result = tasks.billing_reconcile_all_schools()

    assert result == {"processed": 1, "payloads_pruned": 1, "rejected_deleted": 0}
    assert len(enqueued) == 1  # the stuck event, sent to the worker again
    assert licence_state(_reload(renewal_lost)) == LicenceStatus.ACTIVE
    assert StripeEvent.objects.get(event_id="evt_1SVq8dreamSeedSubCreated").payload == {}


def test_one_school_failing_does_not_stop_the_pass(renewal_lost, fake_stripe, beta_school):
    School.objects.filter(pk=beta_school.pk).update(stripe_customer_id="cus_BetaGone")
    fake_stripe.subscriptions[SUBSCRIPTION_ID]["customer"] = CUSTOMER_ID
    for _ in range(3):  # alpha comes first (lower pk) and fails
        fake_stripe.fail_next(status=500, message="Stripe is down", type="api_error")

    counts = services.billing_reconcile_all()

    assert counts == {"failed": 1, "ignored": 1}


def test_the_operator_replays_failed_events(
    fake_stripe,
    deliver,
    alpha_school,
    operator_client,
    django_capture_on_commit_callbacks,
):
    _response, done = deliver(for_school(load("customer_created"), alpha_school))
    for _ in range(3):
        fake_stripe.fail_next(status=500, message="Stripe is down", type="api_error")
    _response, failed = deliver(for_school(load("invoice_paid"), alpha_school))
    assert failed.outcome == EventOutcome.FAILED
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=17)

    with django_capture_on_commit_callbacks() as enqueued:
        response = operator_client.post(
            "/operator/billing/stripeevent/",
            {"action": "replay", "_selected_action": [failed.pk, done.pk]},
            follow=True,
        )

    assert "1 event sent to the worker again." in response.text
    assert "1 event skipped" in response.text
    assert len(enqueued) == 1
    # What the worker then does with it:
    services.stripe_event_process(event_pk=failed.pk)
    failed.refresh_from_db()
    assert (failed.outcome, failed.attempts) == (EventOutcome.PROCESSED, 2)
    assert _reload(alpha_school).seats == 17


def test_the_operator_rechecks_a_school_from_its_notice(
    fake_stripe,
    deliver,
    alpha_school,
    operator_client,
    alpha_student,
    alpha_student2,
):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=1)
    deliver(for_school(load("customer_subscription_created"), alpha_school))
    notice = alpha_school.billing_notices.get()
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=10)

    response = operator_client.post(
        "/operator/billing/billingnotice/",
        {"action": "recheck", "_selected_action": [notice.pk]},
        follow=True,
    )

    assert "Re-checked 1 school(s): processed 1" in response.text
    notice.refresh_from_db()
    assert not notice.is_open
    assert _reload(alpha_school).seats == 10


def test_the_task_retries_with_backoff_and_then_leaves_it_to_the_operator(
    fake_stripe, post_event, alpha_school
):
    post_event(for_school(load("invoice_paid"), alpha_school))
    row = StripeEvent.objects.get()
    for _ in range(3):
        fake_stripe.fail_next(status=500, message="Stripe is down", type="api_error")

    with pytest.raises(Exception) as retried:
        tasks.stripe_event_process.apply(args=[row.pk], throw=True, retries=0)
    assert type(retried.value).__name__ == "Retry"
    assert retried.value.when == tasks.RETRY_BASE_SECONDS

    for _ in range(3):
        fake_stripe.fail_next(status=500, message="Stripe is down", type="api_error")
    tasks.stripe_event_process.apply(args=[row.pk], throw=True, retries=tasks.MAX_RETRIES)
    row.refresh_from_db()
    assert (row.outcome, row.attempts) == (EventOutcome.FAILED, 2)
