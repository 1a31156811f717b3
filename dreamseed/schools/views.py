"""Public-site pages: landing, school signup, and finding your school's address."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dreamseed.accounts.permissions import admin_required
from dreamseed.accounts.services import handoff_url
from dreamseed.core.hosts import url_on_host
from dreamseed.schools.confirmation import school_email_confirm, school_email_confirmation_send
from dreamseed.schools.forms import FindSchoolForm, SchoolSignupForm
from dreamseed.schools.models import Domain
from dreamseed.schools.services import school_create, school_host, school_normalise_subdomain
from dreamseed.schools.throttle import signup_throttle_take


def landing(request):
    return render(request, "schools/landing.html", {"find_form": FindSchoolForm()})


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SchoolSignupForm(request.POST or None)
    refusal = None
    if request.method == "POST" and form.is_valid():
        refusal = signup_throttle_take(request)
    if refusal is not None:
        form.add_error(None, refusal.message)
        response = render(request, "schools/signup.html", {"form": form}, status=429)
        response["Retry-After"] = str(refusal.retry_after)
        return response
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = school_create(
                name=data["name"],
                subdomain=data["subdomain"],
                admin_email=data["email"],
                admin_first_name=data["first_name"],
                admin_last_name=data["last_name"],
                admin_password=data["password1"],
            )
        except ValidationError as error:
            # Lost a race for the same address between validation and creation.
            form.add_error("subdomain", error)
        else:
            school, public_url = created.school, url_on_host(request, settings.BASE_DOMAIN, "/")
            transaction.on_commit(
                lambda: school_email_confirmation_send(school=school, base_url=public_url)
            )
            return redirect(handoff_url(request, school=created.school, user=created.admin))
    status = 400 if form.errors else 200
    return render(request, "schools/signup.html", {"form": form}, status=status)


@require_http_methods(["POST"])
def find_school(request):
    form = FindSchoolForm(request.POST)
    if form.is_valid():
        host = school_host(school_normalise_subdomain(form.cleaned_data["subdomain"]))
        if Domain.objects.filter(domain=host, tenant__is_template=False).exists():
            return redirect(url_on_host(request, host, "/accounts/login/"))
        form.add_error("subdomain", _("We could not find a school at that address."))
    return render(request, "schools/landing.html", {"find_form": form}, status=400)


@require_http_methods(["GET"])
def confirm_email(request, token):
    """The link mailed at signup (public host): confirms the school's administrator address."""
    school = school_email_confirm(token=token)
    context = {"school": school}
    if school is not None:
        context["school_url"] = url_on_host(request, school.primary_host, "/")
    return render(request, "schools/email_confirmed.html", context, status=200 if school else 400)


@admin_required
@require_http_methods(["POST"])
def email_confirmation_resend(request):
    """The banner's button (school host): mail the confirmation link again."""
    public_url = url_on_host(request, settings.BASE_DOMAIN, "/")
    if school_email_confirmation_send(school=request.tenant, base_url=public_url):
        messages.success(
            request,
            _("We sent the link again to %(email)s.") % {"email": request.tenant.admin_email},
        )
    else:
        messages.error(request, _("The e-mail could not be sent. Please try again later."))
    return redirect("dashboard")
