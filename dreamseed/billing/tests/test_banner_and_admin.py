"""The licence banner (context processor + partial) and the operator's view of licences and
Stripe events in the public Django admin."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from dreamseed.billing.context_processors import licence
from dreamseed.billing.models import EventOutcome, StripeEvent
from dreamseed.billing.tests.conftest import load
from dreamseed.schools.models import LicenceStatus, School
from dreamseed.testing import in_schema, school_client

pytestmark = pytest.mark.django_db


def _banner(persona, **licence_fields) -> str:
    School.objects.filter(schema_name=persona.schema_name).update(**licence_fields)
    school = School.objects.get(schema_name=persona.schema_name)
    request = RequestFactory().get("/", HTTP_HOST=persona.host)
    request.tenant = school
    request.user = persona.user
    with in_schema(persona.schema_name):
        context = licence(request)
        return render_to_string(
            "billing/_licence_banner.html", {**context, "user": request.user}, request=request
        )


def test_admins_see_a_read_only_banner_with_the_way_out(alpha_admin):
    page = _banner(alpha_admin, licence_status=LicenceStatus.CANCELED)
    assert 'role="alert"' in page
    assert "Read-only mode." in page
    assert 'href="/billing/"' in page


def test_teachers_see_the_read_only_banner_without_billing(alpha_teacher):
    page = _banner(
        alpha_teacher,
        licence_status=LicenceStatus.ACTIVE,
        licence_expires_at=timezone.now() - timedelta(days=1),
    )
    assert "Read-only mode." in page
    assert "Your school administrator can renew it." in page
    assert "/billing/" not in page


def test_admins_are_warned_of_an_overdue_payment_and_teachers_are_not(alpha_admin, alpha_teacher):
    fields = {
        "licence_status": LicenceStatus.PAST_DUE,
        "licence_expires_at": timezone.now() + timedelta(days=5),
    }
    assert "Payment overdue." in _banner(alpha_admin, **fields)
    assert _banner(alpha_teacher, **fields).strip() == ""


def test_admins_are_told_a_trial_ends_soon(alpha_admin):
    page = _banner(
        alpha_admin,
        licence_status=LicenceStatus.TRIALING,
        licence_expires_at=timezone.now() + timedelta(days=2),
    )
    assert "Your free trial ends on" in page


def test_no_banner_for_a_healthy_licence_or_for_students(alpha_admin, alpha_student):
    assert _banner(alpha_admin).strip() == ""  # a fresh trial, weeks left
    assert licence(_request_for(alpha_student)) == {}


def _request_for(persona):
    request = RequestFactory().get("/", HTTP_HOST=persona.host)
    request.tenant = School.objects.get(schema_name=persona.schema_name)
    request.user = persona.user
    return request


# --- The operator's admin (public host) ----------------------------------------------------------


def test_the_operator_sees_every_schools_licence(operator_client, alpha_admin, beta_admin):
    School.objects.filter(schema_name="beta").update(
        licence_status=LicenceStatus.PAST_DUE,
        licence_expires_at=timezone.now() - timedelta(days=1),
        stripe_subscription_id="sub_beta",
        stripe_subscription_status="past_due",
    )

    page = operator_client.get("/operator/schools/school/").content.decode()
    assert "Alpha School" in page and "Beta School" in page
    assert "licence now" in page.lower()

    ran_out = operator_client.get("/operator/schools/school/?licence_now=ran_out").content.decode()
    assert "Beta School" in ran_out and "Alpha School" not in ran_out
    paying = operator_client.get("/operator/schools/school/?subscription=yes").content.decode()
    assert "Beta School" in paying and "Alpha School" not in paying
    working = operator_client.get("/operator/schools/school/?licence_now=working").content.decode()
    assert "Alpha School" in working and "Beta School" not in working
    for query in (
        "licence_now=read_only",
        "licence_status=trialing",
        "stripe_subscription_status=past_due",
    ):
        assert operator_client.get(f"/operator/schools/school/?{query}").status_code == 200

    beta = School.objects.get(schema_name="beta")
    detail = operator_client.get(f"/operator/schools/school/{beta.pk}/change/").content.decode()
    assert "sub_beta" in detail and "Expired" in detail


def test_the_operator_reads_stripe_events_but_cannot_change_them(operator_client, alpha_admin):
    event = load("invoice_paid")
    row = StripeEvent.objects.create(
        event_id=event["id"],
        type=event["type"],
        payload=event,
        outcome=EventOutcome.PROCESSED,
        school=alpha_admin.school,
    )

    listing = operator_client.get("/operator/billing/stripeevent/")
    assert listing.status_code == 200
    assert event["id"] in listing.content.decode()
    detail = operator_client.get(f"/operator/billing/stripeevent/{row.pk}/change/")
    assert detail.status_code == 200
    assert "subscription_details" in detail.content.decode()
    assert operator_client.get("/operator/billing/stripeevent/add/").status_code == 403
    assert (
        operator_client.post(f"/operator/billing/stripeevent/{row.pk}/delete/", {"post": "yes"})
    ).status_code == 403
    assert StripeEvent.objects.filter(pk=row.pk).exists()


def test_school_staff_cannot_reach_the_operator_admin(alpha_admin):
    client = school_client(alpha_admin.host, alpha_admin)
    assert client.get("/operator/billing/stripeevent/").status_code == 404
