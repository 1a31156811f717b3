"""LTI endpoints on the school's host: login initiation, launch, JWKS, Canvas configuration, the
deep-linking picker; the admin's LMS registration pages; a teacher's LMS courses (roster sync,
grade passback status)."""

import logging
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.exception import LtiException, OIDCException

from dreamseed.accounts.models import STAFF_ROLES
from dreamseed.accounts.permissions import admin_required, staff_required
from dreamseed.assessments.models import Assessment
from dreamseed.lti import grades, roster, selectors, services
from dreamseed.lti.forms import DeepLinkForm, PlatformForm
from dreamseed.lti.framing import SESSION_FRAME_ORIGINS, SESSION_PARTITIONED, lti_frameable
from dreamseed.lti.keys import tool_jwks, tool_key_rotate
from dreamseed.lti.launch import (
    STORAGE_CHECKED_PARAM,
    LaunchRejected,
    SchoolMessageLaunch,
    SchoolOIDCLogin,
    SchoolToolConf,
    storage_state_get,
    storage_target_ok,
)
from dreamseed.lti.models import LtiIdentity, LtiPlatform, PassbackStatus, Vendor, origin_of
from dreamseed.lti.registration import (
    RegistrationFailed,
    confirm_read,
    confirm_sign,
    dynamic_register,
    registration_token_ok,
    registration_url,
)
from dreamseed.lti.tasks import grade_passback

log = logging.getLogger(__name__)

MODEL_BACKEND = "dreamseed.accounts.backends.AccountBackend"
NEW_WINDOW_PARAM = "lti1p3_new_window"
STORAGE_TARGET_PARAM = "lti_storage_target"
LOGIN_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "lti_deployment_id",
    "client_id",
)

PROBLEMS = {
    "login": (
        gettext_lazy("The LMS's sign-in request is incomplete"),
        gettext_lazy(
            "It did not say which LMS it comes from or who is signing in. Open "
            "DreamSeed again from your course."
        ),
    ),
    "registration": (
        gettext_lazy("This LMS is not registered at this school"),
        gettext_lazy(
            "DreamSeed at this school has no LMS registration with this issuer and "
            "client ID. Check that the LMS opens the right school's DreamSeed, or ask "
            "the school's DreamSeed administrator to add the LMS under “LMS "
            "platforms”."
        ),
    ),
    "deployment": (
        gettext_lazy("This LMS installation is not registered"),
        gettext_lazy(
            "The LMS sent a deployment ID this school has not registered. Ask the "
            "school's DreamSeed administrator to add it to the platform's deployment "
            "IDs."
        ),
    ),
    "token": (
        gettext_lazy("The launch message cannot be read"),
        gettext_lazy(
            "The LMS did not send a valid launch token. Open DreamSeed again from your course."
        ),
    ),
    "signature": (
        gettext_lazy("The launch could not be verified"),
        gettext_lazy(
            "Its signature, signing key or validity time did not check out, so "
            "DreamSeed cannot be sure it comes from your LMS. Open DreamSeed again "
            "from your course. If this keeps happening, ask your administrator to "
            "check the platform's key set URL."
        ),
    ),
    "message": (
        gettext_lazy("The launch message is incomplete"),
        gettext_lazy(
            "The LMS left out something DreamSeed needs: the LTI version, the message "
            "type, your roles, the link you followed, or an address on this school's "
            "site. Ask your administrator to check the tool's settings in the LMS."
        ),
    ),
    "replay": (
        gettext_lazy("This launch was already used"),
        gettext_lazy("Each launch from the LMS works once. Open DreamSeed again from your course."),
    ),
    "state": (
        gettext_lazy("The launch does not match its sign-in"),
        gettext_lazy("Open DreamSeed again from your course."),
    ),
    "cookies": (
        gettext_lazy("Your browser did not keep DreamSeed's cookie"),
        gettext_lazy(
            "Inside the LMS page your browser blocked the cookie DreamSeed needs to "
            "finish signing you in. Open DreamSeed again from your course and choose "
            "to continue in a new window, or allow cookies for this site."
        ),
    ),
    "expired": (
        gettext_lazy("This page has expired"),
        gettext_lazy("Open DreamSeed again from your course."),
    ),
    "inactive": (
        gettext_lazy("Your DreamSeed account is deactivated"),
        gettext_lazy("Ask your school's DreamSeed administrator to reactivate it."),
    ),
    "archived": (
        gettext_lazy("This class is archived"),
        gettext_lazy(
            "Your teacher archived this course's class in DreamSeed. Ask them to restore it."
        ),
    ),
    "teachers_only": (
        gettext_lazy("Only teachers can add DreamSeed activities"),
        gettext_lazy("Your LMS roles in this course do not make you one of its teachers."),
    ),
    "no_course": (
        gettext_lazy("Add DreamSeed activities from inside a course"),
        gettext_lazy(
            "DreamSeed makes a class for each LMS course; this request came from "
            "outside any course."
        ),
    ),
    "link_gone": (
        gettext_lazy("This activity's test is no longer in DreamSeed"),
        gettext_lazy("Ask your teacher to add the test to the course again."),
    ),
    "unsupported": (
        gettext_lazy("DreamSeed cannot open this kind of launch"),
        gettext_lazy(
            "DreamSeed opens links and lets teachers add activities; this LMS request "
            "is of another kind."
        ),
    ),
    "seats": (
        gettext_lazy("No free seat for you at this school"),
        gettext_lazy(
            "DreamSeed at your school has given out every student seat its licence has, so "
            "it cannot make your account yet. Tell your teacher: a school administrator can "
            "add seats on DreamSeed's Billing page. Nothing was saved; open DreamSeed again "
            "from your course once that is done."
        ),
    ),
    "read_only_new": (
        gettext_lazy("DreamSeed is read-only at this school"),
        gettext_lazy(
            "The school's DreamSeed licence has ended. People who used DreamSeed before can "
            "still open it and see their results, but no new accounts can be made. A school "
            "administrator can renew the licence on DreamSeed's Billing page."
        ),
    ),
    "read_only": (
        gettext_lazy("No new DreamSeed activities for now"),
        gettext_lazy(
            "The school's DreamSeed licence has ended, so DreamSeed is read-only: existing "
            "activities still open and show results, but new ones cannot be added. A school "
            "administrator can renew the licence on DreamSeed's Billing page."
        ),
    ),
    "pending": (
        gettext_lazy("This LMS waits for approval in DreamSeed"),
        gettext_lazy(
            "The LMS registered itself with DreamSeed, but a DreamSeed administrator of this "
            "school has not approved it yet. Ask them to approve it under “LMS platforms”."
        ),
    ),
    "forbidden": (
        gettext_lazy("This page belongs to another person's launch"),
        gettext_lazy("Open DreamSeed again from your course."),
    ),
}
FORBIDDEN_CODES = {
    "inactive",
    "teachers_only",
    "forbidden",
    "registration",
    "deployment",
    "seats",
    "read_only_new",
    "read_only",
    "pending",
}
NOTICES = {
    "course_not_ready": (
        gettext_lazy("Almost there"),
        gettext_lazy(
            "Your teacher has not opened DreamSeed in this course yet, so it has no "
            "class here. Try again once they have."
        ),
    ),
}


def _rejected(request, error: LaunchRejected):
    log.warning("LTI %s rejected: %s (%s)", request.path, error.code, error.detail)
    title, text = PROBLEMS.get(error.code, PROBLEMS["token"])
    status = 403 if error.code in FORBIDDEN_CODES else 400
    context = {"title": title, "text": text, "code": error.code, "detail": error.detail}
    return render(request, "lti/error.html", context, status=status)


# --- Login initiation, launch, hand-off -----------------------------------------------------------


def _login_params(request) -> dict:
    params = {}
    for name in LOGIN_PARAMS:
        value = request.GET.get(name) or request.POST.get(name)
        if value:
            params[name] = value
    return params


def _on_this_host(request, url: str | None) -> bool:
    if not url:
        return True
    return (urlsplit(url).hostname or "").lower() == request.get_host().split(":")[0].lower()


def _cookies_checked(request) -> bool:
    # A top-level page keeps first-party cookies; only a frame needs the check.
    if request.GET.get(NEW_WINDOW_PARAM) or request.POST.get(NEW_WINDOW_PARAM):
        return True
    return request.headers.get("Sec-Fetch-Dest") == "document"


@csrf_exempt
@lti_frameable
def login(request):
    """OIDC third-party initiated login (LTI 1.3 step 1): the LMS sends us here, we send the
    browser to the LMS's authorization endpoint with a state cookie and a nonce."""
    if request.method not in ("GET", "POST"):
        return _rejected(request, LaunchRejected("login", request.method))
    oidc = SchoolOIDCLogin(request, SchoolToolConf())
    try:
        platform = oidc.check()
    except LaunchRejected as error:
        iss = request.GET.get("iss") or request.POST.get("iss")
        if (
            error.code == "registration"
            and LtiPlatform.objects.filter(issuer=str(iss or ""), approved=False).exists()
        ):
            error = LaunchRejected("pending", error.detail)
        return _rejected(request, error)
    params = _login_params(request)
    if not _on_this_host(request, params.get("target_link_uri")):
        return _rejected(request, LaunchRejected("message", "target_link_uri on another host"))
    if not _cookies_checked(request):
        # pylti1p3's cookie check, as a page of ours (its own one has inline script): if the
        # frame keeps cookies, go on in the frame; if not, and the LMS offers its storage, the
        # state and nonce go there and the login goes on in the frame; otherwise one click
        # continues in a new window.
        url = reverse("lti:login") + "?" + urlencode({**params, NEW_WINDOW_PARAM: "1"})
        context = {"continue_url": url, "secure": request.is_secure(), "platform": platform}
        target = request.GET.get(STORAGE_TARGET_PARAM) or request.POST.get(STORAGE_TARGET_PARAM)
        if storage_target_ok(target):
            storage_origin = origin_of(platform.auth_login_url)
            try:
                auth = oidc.prepare_for_platform_storage(
                    request.build_absolute_uri(reverse("lti:launch")),
                    origin=storage_origin,
                    target=target,
                )
            except (OIDCException, LtiException) as error:
                return _rejected(request, LaunchRejected("login", str(error)))
            context["storage"] = {"target": target, "origin": storage_origin, **auth}
        response = render(request, "lti/cookie_check.html", context)
        response.lti_frame_origins = platform.origins
        # This page may post a deep-linking response handed back by the new window.
        response._csp_update = {"form-action": platform.origins}
        return response
    try:
        response = oidc.redirect(request.build_absolute_uri(reverse("lti:launch")))
    except (OIDCException, LtiException) as error:
        return _rejected(request, LaunchRejected("login", str(error)))
    response.lti_frame_origins = platform.origins
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@lti_frameable
def launch(request):
    """The LMS posts the id_token here (LTI 1.3 step 3). Validate it all, then sign the person in
    and send them where the link points.

    A GET is no launch: Moodle fetches the URL when a teacher saves an activity, and people may
    open it by hand. They get a short explanation, not an error."""
    if request.method != "POST":
        return render(request, "lti/launch_info.html")
    state = request.POST.get("state", "")
    issued = storage_state_get(state)
    storage_checked = bool(request.POST.get(STORAGE_CHECKED_PARAM))
    if storage_checked and not _from_our_origin(request):
        return _rejected(request, LaunchRejected("state", "storage check not posted by DreamSeed"))
    if issued is not None and not storage_checked and f"lti1p3-{state}" not in request.COOKIES:
        return _storage_check_page(request, state=state, issued=issued)
    tool_conf = SchoolToolConf()
    try:
        message_launch = SchoolMessageLaunch.for_request(
            request, tool_conf, storage_checked=storage_checked
        )
        message_launch.validate()
        platform = message_launch.platform()
        outcome = services.launch_complete(
            platform=platform,
            claims=message_launch.get_launch_data(),
            launch_id=message_launch.get_launch_id(),
        )
    except LaunchRejected as error:
        return _rejected(request, error)
    auth_login(request, outcome.user, backend=MODEL_BACKEND)
    origins = platform.origins
    request.session[SESSION_FRAME_ORIGINS] = origins
    if storage_checked:
        request.session[SESSION_PARTITIONED] = True
    token = services.continue_token(user=outcome.user, next_url=outcome.next_url, origins=origins)
    response = redirect("lti:continue", token=token)
    response.lti_frame_origins = origins
    return response


def _from_our_origin(request) -> bool:
    """The browser says this POST comes from a page of this very origin (our storage check
    page), not from a form on another site: browsers send Origin with every POST."""
    scheme = "https" if request.is_secure() else "http"
    return request.headers.get("Origin") == f"{scheme}://{request.get_host()}"


def _storage_check_page(request, *, state: str, issued: dict):
    """The launch came without the state cookie, for a login that kept its state in the LMS's
    storage: read it back there (lti.get_data), then post the launch again from here."""
    target = request.POST.get(STORAGE_TARGET_PARAM, "")
    if not storage_target_ok(target):
        target = issued.get("target", "")  # the one the login named
    if not storage_target_ok(target):
        return _rejected(request, LaunchRejected("cookies", "no storage target at the launch"))
    context = {
        "id_token": request.POST.get("id_token", ""),
        "state": state,
        "nonce": issued["nonce"],
        "origin": issued["origin"],
        "target": target,
        "checked_param": STORAGE_CHECKED_PARAM,
        "title": PROBLEMS["state"][0],
        "text": PROBLEMS["state"][1],
    }
    # Framed by any of the school's registered LMSs (lti_frameable's default).
    return render(request, "lti/storage_check.html", context)


@require_GET
@lti_frameable
def launch_continue(request, token):
    """After a launch: on to the page, if the session cookie stuck (it does unless the browser
    blocks cookies in the LMS's frame); otherwise one click finishes in a new window."""
    payload = services.continue_read(token=token)
    if payload is None:
        return _rejected(request, LaunchRejected("expired", "continue token"))
    if request.user.is_authenticated and request.user.pk == payload["user"]:
        services.continue_consume(payload=payload)  # the ticket is spent either way
        response = redirect(payload["next"])
    elif request.GET.get("window") == "new":
        user = services.continue_consume(payload=payload)
        if user is None:
            return _rejected(request, LaunchRejected("expired", "continue token used"))
        auth_login(request, user, backend=MODEL_BACKEND)
        request.session[SESSION_FRAME_ORIGINS] = payload["origins"]
        response = redirect(payload["next"])
    else:
        new_window = reverse("lti:continue", kwargs={"token": token}) + "?window=new"
        response = render(request, "lti/continue.html", {"new_window_url": new_window})
        response._csp_update = {"form-action": list(payload["origins"])}
    response.lti_frame_origins = payload["origins"]
    return response


@require_GET
@lti_frameable
def notice(request, code):
    if code not in NOTICES:
        raise Http404
    title, text = NOTICES[code]
    return render(request, "lti/notice.html", {"title": title, "text": text})


@require_GET
def jwks(request):
    response = JsonResponse(tool_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def canvas_config(request):
    return JsonResponse(selectors.canvas_configuration(request), json_dumps_params={"indent": 2})


# --- Deep linking ---------------------------------------------------------------------------------


@lti_frameable
def deep_link(request, launch_id):
    """The teacher picks a test; DreamSeed assigns it to the course's class and posts the signed
    deep-linking response back to the LMS."""
    if not request.user.is_authenticated:
        return _rejected(request, LaunchRejected("cookies", "no session at the picker"))
    if request.user.role not in STAFF_ROLES:
        return _rejected(request, LaunchRejected("teachers_only", "picker"))
    try:
        launch = SchoolMessageLaunch.restore(request, SchoolToolConf(), launch_id)
    except LaunchRejected as error:
        return _rejected(request, error)
    claims = launch.get_launch_data()
    platform = launch.platform()
    if (
        not services.deep_link_claims_ok(claims)
        or not LtiIdentity.objects.filter(
            platform=platform, sub=str(claims.get("sub")), user=request.user
        ).exists()
    ):
        return _rejected(request, LaunchRejected("forbidden", "launch of another user"))
    assessments = Assessment.objects.filter(archived_at__isnull=True).order_by("name")
    form = DeepLinkForm(request.POST or None, assessments=assessments)
    if request.method == "POST" and form.is_valid():
        try:
            answer = services.deep_link_respond(
                launch=launch,
                user=request.user,
                assessment=form.cleaned_data["assessment"],
                opens_at=form.cleaned_data["opens_at"],
                closes_at=form.cleaned_data["closes_at"],
                attempts_allowed=form.cleaned_data["attempts_allowed"],
                launch_url=request.build_absolute_uri(reverse("lti:launch")),
            )
        except LaunchRejected as error:
            return _rejected(request, error)
        response = render(
            request,
            "lti/deep_link_return.html",
            {"return_url": answer.return_url, "jwt": answer.jwt},
        )
        # The form posts to the LMS: allow its origin as a form target on this page only.
        response._csp_update = {"form-action": [origin_of(answer.return_url)]}
        response.lti_frame_origins = platform.origins
        return response
    settings_claim = claims.get(
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    )
    context = {
        "form": form,
        "platform": platform,
        "course": (claims.get("https://purl.imsglobal.org/spec/lti/claim/context") or {}),
        "prompt": (settings_claim or {}).get("title") or "",
    }
    response = render(request, "lti/deep_link.html", context, status=400 if form.errors else 200)
    response.lti_frame_origins = platform.origins
    return response


# --- Registrations (school admins) ----------------------------------------------------------------


@admin_required
def platform_list(request):
    context = {
        "platforms": selectors.platform_list(),
        "urls": {**selectors.tool_urls(request), "register": registration_url(request)},
        "keys": selectors.tool_keys(),
    }
    return render(request, "lti/platform_list.html", context)


def _platform_form_page(request, *, platform=None):
    form = PlatformForm(request.POST or None, instance=platform)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.platform_save(
                platform=platform,
                fields=form.platform_fields(),
                deployment_ids=form.cleaned_data["deployment_ids"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved})
            return redirect("lti:platform_edit", pk=saved.pk)
    vendor = (form["vendor"].value() or (platform.vendor if platform else "")) or Vendor.OTHER
    context = {
        "form": form,
        "platform": platform,
        "vendor": vendor,
        "urls": selectors.tool_urls(request),
        "scopes": selectors.TOOL_SCOPES,
    }
    status = 400 if form.errors else 200
    return render(request, "lti/platform_form.html", context, status=status)


@admin_required
def platform_create(request):
    return _platform_form_page(request)


@admin_required
def platform_edit(request, pk):
    return _platform_form_page(request, platform=selectors.platform_get(pk=pk))


@admin_required
@require_POST
def platform_delete(request, pk):
    platform = selectors.platform_get(pk=pk)
    services.platform_delete(platform=platform)
    messages.success(request, _("“%(name)s” was removed.") % {"name": platform})
    return redirect("lti:platforms")


@admin_required
@require_POST
def platform_approve(request, pk):
    platform = selectors.platform_get(pk=pk)
    if not platform.approved:
        platform.approved = True
        platform.save(update_fields=["approved", "updated"])
        messages.success(
            request,
            _("“%(name)s” is approved: launches from it work now.") % {"name": platform},
        )
    return redirect("lti:platform_edit", pk=platform.pk)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@lti_frameable
def register(request, token):
    """LTI Dynamic Registration, opened by the LMS (in its frame or a window) with its OpenID
    configuration URL and a registration token. GET: what will happen, and a button; POST:
    register with the LMS, save the platform pending approval, and tell the LMS to close."""
    if not registration_token_ok(token):
        return _registration_page(
            request,
            state="error",
            error=_("This registration link has expired or is not this school's. Copy a fresh "
                    "one from DreamSeed's “LMS platforms” page."),
            status=403,
        )  # fmt: skip
    if request.method == "GET":
        openid_configuration = request.GET.get("openid_configuration", "")
        if not openid_configuration:
            return _registration_page(
                request,
                state="error",
                error=_("Paste this address into your LMS's LTI 1.3 dynamic registration "
                        "(Moodle: “Add LTI Advantage”; Canvas: “LTI Registration”); opening "
                        "it directly does nothing."),
                status=400,
            )  # fmt: skip
        confirm = confirm_sign(
            openid_configuration=openid_configuration,
            registration_token=request.GET.get("registration_token", ""),
        )
        return _registration_page(
            request, state="confirm", confirm=confirm, lms=origin_of(openid_configuration)
        )
    payload = confirm_read(request.POST.get("confirm", ""))
    lms = origin_of(payload["openid_configuration"]) if payload else None
    if payload is None:
        return _registration_page(
            request,
            state="error",
            error=_("This page has expired. Start the registration again from the LMS."),
            status=400,
        )
    try:
        platform = dynamic_register(
            request=request,
            openid_configuration=payload["openid_configuration"],
            registration_token=payload["registration_token"],
        )
    except RegistrationFailed as error:
        return _registration_page(request, state="error", error=str(error), status=400, lms=lms)
    return _registration_page(request, state="done", platform=platform, lms=lms)


def _registration_page(request, *, state, status=200, **context):
    response = render(request, "lti/register.html", {"state": state, **context}, status=status)
    lms = context.get("lms")
    if lms:  # the confirmation form posts to DreamSeed itself; the LMS may frame the page
        response.lti_frame_origins = [lms]
    return response


@admin_required
@require_POST
def key_rotate(request):
    key = tool_key_rotate()
    messages.success(
        request,
        _("A new key (%(kid)s…) signs from now on. The old one stays published for a while, so "
          "LMSs that cached it keep working.") % {"kid": key.kid[:10]},
    )  # fmt: skip
    return redirect("lti:platforms")


# --- A teacher's LMS courses ----------------------------------------------------------------------


@staff_required
def courses(request):
    contexts = list(selectors.contexts_for(user=request.user))
    context = {
        "contexts": contexts,
        "passbacks": selectors.passbacks_needing_attention(contexts=contexts),
    }
    return render(request, "lti/courses.html", context)


@staff_required
@require_POST
def course_roster_sync(request, pk):
    lti_context = selectors.context_get_for_staff(user=request.user, pk=pk)
    try:
        result = roster.roster_sync(context=lti_context)
    except roster.RosterSyncError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Roster of “%(course)s” synced: %(summary)s.")
            % {"course": lti_context, "summary": result.summary()},
        )
    return redirect("lti:courses")


@staff_required
@require_POST
def passback_retry(request, pk):
    passback = selectors.passback_get_for_staff(user=request.user, pk=pk)
    if passback.status != PassbackStatus.SENT:
        grades.passback_retry(passback=passback)
        services.enqueue(grade_passback, passback.session_id)
        messages.success(request, _("The score will be sent again."))
    return redirect("lti:courses")
