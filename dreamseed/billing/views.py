"""Billing pages for school administrators, and Stripe's webhook on the public host.

The pages only send people to Stripe and show what the webhook has recorded: coming back from a
payment page grants nothing (anyone can type that address); the licence changes when Stripe's
signed webhook says so.
"""

import logging
import time
from urllib.parse import urlencode

from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from dreamseed.accounts.permissions import admin_required
from dreamseed.billing import services, tasks
from dreamseed.billing import stripe_gateway as gateway
from dreamseed.billing.forms import SeatsForm
from dreamseed.billing.models import BillingNotice, NoticeKind, RejectionReason
from dreamseed.core.jsonlimits import JSONLimitError, json_limits_check
from dreamseed.schools.confirmation import school_require_confirmed_email
from dreamseed.schools.licensing import licence_summary, seats_used
from dreamseed.schools.models import School

logger = logging.getLogger(__name__)

# The billing page's forms are answered with a redirect to Stripe's hosted pages, and browsers
# hold a form's redirects to the page's CSP form-action as well.
STRIPE_FORM_TARGETS = {"form-action": ["https://checkout.stripe.com", "https://billing.stripe.com"]}
# The success page reloads itself every few seconds while Stripe's confirmation is on its way.
SUCCESS_REFRESH_SECONDS = 3
SUCCESS_MAX_REFRESHES = 40


def _school(request) -> School:
    # Fresh from the database: the tenant on the request may be a few seconds old (host cache),
    # and these pages exist to show what the last webhook changed.
    return School.objects.get(pk=request.tenant.pk)


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303  # after a POST, GET the payment page
    return response


def _overview_context(school: School, *, used: int, form: SeatsForm | None = None):
    configured = gateway.is_configured()
    invoices, invoices_failed = [], False
    if configured and school.stripe_customer_id:
        try:
            invoices = services.billing_invoices(school=school)
        except gateway.BillingError as error:
            logger.warning("stripe invoices unavailable", extra={"error": str(error)})
            invoices_failed = True
    if form is None:
        suggested = max(used, 1) if school.plan == "trial" else max(school.seats, used, 1)
        form = SeatsForm(initial={"seats": suggested}, seats_used=used)
    notices = BillingNotice.objects.filter(
        school=school,
        resolved_at__isnull=True,
        kind__in=[NoticeKind.PAYMENT_ACTION_REQUIRED, NoticeKind.DUPLICATE_SUBSCRIPTION],
    ).order_by("created")
    return {
        "billing_school": school,
        "summary": licence_summary(school),
        "dates": services.licence_dates(school),
        "seats_used": used,
        "seats_free": max(0, school.seats - used),
        "seats_missing": max(0, used - school.seats),
        "action_required": [n for n in notices if n.kind == NoticeKind.PAYMENT_ACTION_REQUIRED],
        "duplicate_subscription": any(n.kind == NoticeKind.DUPLICATE_SUBSCRIPTION for n in notices),
        "configured": configured,
        "has_subscription": services.school_has_live_subscription(school),
        "invoices": invoices,
        "invoices_failed": invoices_failed,
        "form": form,
    }


@csp_update(STRIPE_FORM_TARGETS)
@admin_required
@require_GET
def overview(request):
    school = _school(request)
    if request.GET.get("canceled"):
        messages.info(request, _("Payment canceled: nothing was charged and nothing changed."))
        return redirect("billing:overview")
    used = seats_used()
    if school.licence_over_capacity_since is not None or used > school.seats:
        # Students deactivated (or a licence read before they were counted): the page is where
        # an admin looks to see the over-capacity state cleared, so check it here.
        services.school_capacity_check(school=school, used=used)
        school.refresh_from_db()
    context = _overview_context(school, used=used)
    return render(request, "billing/overview.html", context)


@csp_update(STRIPE_FORM_TARGETS)
@admin_required
@require_POST
def checkout(request):
    school = _school(request)
    try:
        school_require_confirmed_email(school)  # anyone can sign up with anyone's address
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("billing:overview")
    if not gateway.is_configured():
        messages.error(request, _("Online billing is not set up on this server."))
        return redirect("billing:overview")
    used = seats_used()
    form = SeatsForm(request.POST, seats_used=used)
    if not form.is_valid():
        context = _overview_context(school, used=used, form=form)
        return render(request, "billing/overview.html", context, status=400)
    success_url = request.build_absolute_uri(reverse("billing:success"))
    success_url += "?" + urlencode({"started": int(time.time())})
    cancel_url = request.build_absolute_uri(reverse("billing:overview")) + "?canceled=1"
    try:
        url = services.billing_checkout_start(
            school=school,
            seats=form.cleaned_data["seats"],
            success_url=success_url,
            cancel_url=cancel_url,
            customer_email=request.user.email,
            min_seats=used,
        )
    except gateway.BillingError as error:
        logger.warning("stripe checkout failed", extra={"error": str(error)})
        messages.error(
            request,
            _("Stripe could not open the payment page just now. Please try again in a minute."),
        )
        return redirect("billing:overview")
    return _see_other(url)


@admin_required
@require_POST
def portal(request):
    school = _school(request)
    if not gateway.is_configured():
        messages.error(request, _("Online billing is not set up on this server."))
        return redirect("billing:overview")
    if not school.stripe_customer_id:
        messages.error(request, _("Your school has no billing account yet: buy a licence first."))
        return redirect("billing:overview")
    try:
        url = services.billing_portal_url(
            school=school, return_url=request.build_absolute_uri(reverse("billing:overview"))
        )
    except gateway.BillingError as error:
        logger.warning("stripe portal failed", extra={"error": str(error)})
        messages.error(
            request,
            _("Stripe's billing portal did not open just now. Please try again in a minute."),
        )
        return redirect("billing:overview")
    return _see_other(url)


def _int_param(request, name: str) -> int:
    try:
        return max(0, int(request.GET.get(name, "0")))
    except ValueError:
        return 0


@admin_required
@require_GET
def success(request):
    """Back from Stripe: say the payment is being confirmed until the webhook has applied it.

    Reads only. `started` (when the admin left for Stripe) tells a licence update made since
    then from an older one.
    """
    school = _school(request)
    started = _int_param(request, "started")
    tries = _int_param(request, "tries")
    confirmed = bool(
        started
        and school.licence_updated_at is not None
        and school.licence_updated_at.timestamp() >= started
    )
    refresh_url = None
    if not confirmed and tries < SUCCESS_MAX_REFRESHES:
        refresh_url = "?" + urlencode({"started": started, "tries": tries + 1})
    context = {
        "billing_school": school,
        "summary": licence_summary(school),
        "confirmed": confirmed,
        "refresh_url": refresh_url,
        "refresh_seconds": SUCCESS_REFRESH_SECONDS,
    }
    return render(request, "billing/success.html", context)


# --- Webhook (public host) -----------------------------------------------------------------------


def _refuse(
    request, *, reason: str, detail: str, message: str, event_id: str = "", status: int = 400
):
    services.rejected_delivery_record(
        remote_address=request.META.get("REMOTE_ADDR", ""),
        reason=reason,
        detail=detail,
        body_bytes=len(request.body),
        event_id=event_id,
    )
    return HttpResponse(message, status=status, content_type="text/plain")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events: verify, record, answer; a worker task does the rest.

    400 (permanent: Stripe stops retrying) for anything not signed by Stripe, too old to trust,
    or signed but never processable (not JSON, not shaped like an event); each refusal is
    recorded with the sender's address and the reason. 200 as soon as a signed event is recorded,
    with no call to Stripe on the way: handling happens in `stripe_event_process`.
    """
    try:
        json_limits_check(request.body)  # before anything parses it (dreamseed/core/jsonlimits.py)
    except JSONLimitError as error:
        return _refuse(
            request,
            reason=RejectionReason.NOT_JSON,
            detail=str(error),
            message=str(error),
            status=error.status,
        )
    try:
        event = gateway.webhook_event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except gateway.BillingNotConfigured:
        logger.error("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        return _refuse(
            request,
            reason=RejectionReason.NOT_CONFIGURED,
            detail="STRIPE_WEBHOOK_SECRET is not set",
            message="Webhooks are not configured.",
        )
    except gateway.WebhookSignatureError as error:
        logger.warning("stripe webhook refused: bad signature", extra={"error": str(error)})
        return _refuse(
            request,
            reason=RejectionReason.BAD_SIGNATURE,
            detail=str(error),
            message="Invalid signature.",
        )
    except gateway.WebhookPayloadError as error:
        logger.error(
            "stripe webhook refused: signed but not an event",
            extra={"error": str(error), "event_id": error.event_id},
        )
        return _refuse(
            request,
            reason=error.reason,
            detail=str(error),
            message="Invalid payload: not a Stripe event.",
            event_id=error.event_id,
        )
    with transaction.atomic():
        row, duplicate, enqueue = services.stripe_event_record(event=event)
        if enqueue:
            tasks.stripe_event_enqueue(row.pk)
    return JsonResponse({"received": True, "duplicate": duplicate})
