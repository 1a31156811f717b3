"""Sign-in, sign-out, passwords, the post-signup hand-off, and the school admin's staff page."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dreamseed.accounts import badges
from dreamseed.accounts.forms import LoginForm, StaffAddForm
from dreamseed.accounts.models import STAFF_ROLES, User
from dreamseed.accounts.permissions import admin_required
from dreamseed.accounts.services import (
    handoff_consume,
    staff_add,
    staff_invite,
    staff_set_active,
)
from dreamseed.schools.confirmation import school_require_confirmed_email

MODEL_BACKEND = "dreamseed.accounts.backends.AccountBackend"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/invitation_accept.html"
    post_reset_login = True
    post_reset_login_backend = MODEL_BACKEND
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Welcome! Your password is set."))
        return response


def handoff(request, token):
    user = handoff_consume(token=token)
    if user is None:
        messages.error(request, _("That sign-in link has expired. Please sign in."))
        return redirect("accounts:login")
    login(request, user, backend=MODEL_BACKEND)
    messages.success(request, _("Welcome to %(school)s!") % {"school": request.tenant.name})
    return redirect("dashboard")


@never_cache
def badge_sign_in(request, token):
    """The sign-in slip's QR code: a page with one button (so that a link preview or a scanner
    app fetching the address signs nobody in), whose POST signs the student in."""
    address = request.META.get("REMOTE_ADDR", "")
    if badges.badge_throttled(address=address):
        response = render(request, "accounts/badge.html", {"throttled": True}, status=429)
        response["Retry-After"] = str(badges.THROTTLE_SECONDS)
        return response
    student = badges.badge_student(token=token)
    if student is None:
        badges.badge_failure_record(address=address)
        return render(request, "accounts/badge.html", {"invalid": True}, status=404)
    if request.method == "POST":
        login(request, student, backend=MODEL_BACKEND)
        return redirect("dashboard")
    return render(request, "accounts/badge.html", {"student": student})


def _base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


@admin_required
def staff_list(request):
    form = StaffAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            school_require_confirmed_email(request.tenant)
            user = staff_add(
                **form.cleaned_data, invited_by=request.user, base_url=_base_url(request)
            )
        except ValidationError as error:
            # A dict-shaped error lands on its fields, a plain one on the form.
            form.add_error(None, error)
        else:
            messages.success(
                request, _("%(name)s was added and an invitation is on its way.") % {"name": user}
            )
            return redirect("accounts:staff_list")
    staff = User.objects.filter(role__in=STAFF_ROLES).order_by(
        "-is_active", "last_name", "first_name"
    )
    status = 400 if form.errors else 200
    return render(
        request, "accounts/staff_list.html", {"staff": staff, "form": form}, status=status
    )


def _get_staff_member(pk: int) -> User:
    return get_object_or_404(User, pk=pk, role__in=STAFF_ROLES)


@admin_required
@require_POST
def staff_set_active_view(request, pk: int):
    member = _get_staff_member(pk)
    active = request.POST.get("active") == "1"
    try:
        staff_set_active(user=member, active=active, changed_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if active:
            messages.success(request, _("%(name)s can sign in again.") % {"name": member})
        else:
            messages.success(request, _("%(name)s was deactivated.") % {"name": member})
    return redirect("accounts:staff_list")


@admin_required
@require_POST
def staff_resend_invitation(request, pk: int):
    member = _get_staff_member(pk)
    if member.has_usable_password():
        messages.info(request, _("%(name)s has already accepted.") % {"name": member})
    elif request.tenant.email_confirmed_at is None:
        messages.error(request, _("Confirm your e-mail address first (see the banner)."))
    else:
        staff_invite(user=member, base_url=_base_url(request))
        messages.success(
            request, _("A new invitation is on its way to %(email)s.") % {"email": member.email}
        )
    return redirect("accounts:staff_list")
