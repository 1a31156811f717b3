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
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from dreamseed.accounts.permissions import admin_required
from dreamseed.billing import services
from dreamseed.billing import stripe_gateway as gateway
from dreamseed.billing.forms import SeatsForm
from dreamseed.billing.models import EventOutcome
from dreamseed.core.jsonlimits import JSONLimitError, json_limits_check
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
    return {
        "billing_school": school,
        "summary": licence_summary(school),
        "seats_used": used,
        "seats_free": max(0, school.seats - used),
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
    context = _overview_context(school, used=seats_used())
    return render(request, "billing/overview.html", context)


@csp_update(STRIPE_FORM_TARGETS)
@admin_required
@require_POST
def checkout(request):
    school = _school(request)
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


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events. 400 for anything not signed by Stripe (or too old to trust); 200 once an
    event is recorded (handled, ignored, or for no school we know); 500 when handling failed, so
    that Stripe delivers it again later."""
    try:
        json_limits_check(request.body)  # before anything parses it (dreamseed/core/jsonlimits.py)
    except JSONLimitError as error:
        return HttpResponse(str(error), status=error.status, content_type="text/plain")
    try:
        event = gateway.webhook_event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except gateway.BillingNotConfigured:
        logger.error("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        return HttpResponse("Webhooks are not configured.", status=400, content_type="text/plain")
    except gateway.WebhookSignatureError as error:
        logger.warning("stripe webhook refused: bad signature", extra={"error": str(error)})
        return HttpResponseBadRequest("Invalid signature.", content_type="text/plain")
    except ValueError:
        return HttpResponseBadRequest("Invalid payload.", content_type="text/plain")
    try:
        row, duplicate = services.stripe_event_receive(event=event)
    except ValueError:
        return HttpResponseBadRequest("Not a Stripe event.", content_type="text/plain")
    body = {"received": True, "duplicate": duplicate, "outcome": row.outcome}
    return JsonResponse(body, status=500 if row.outcome == EventOutcome.FAILED else 200)
