"""Letting the school's registered LMSs, and only them, show DreamSeed in a frame.

Every page is `X-Frame-Options: DENY` and `frame-ancestors 'self'`. Two exceptions:
- the LTI views themselves (login initiation, launch, deep-linking picker, their error pages),
  decorated with `lti_frameable`: frame-ancestors lists the origins of the school's registered
  platforms;
- every page of a session that began with an LTI launch (the test a student was sent to, for
  one): LtiFrameMiddleware lists that launch's platform origins. Over HTTPS it also re-issues the
  session and CSRF cookies `SameSite=None; Secure` whenever Django would set them, because in the
  LMS's frame DreamSeed is a third party and browsers drop `Lax` cookies there. After a launch
  whose state was kept in the LMS's storage (so the frame keeps no third-party cookie at all),
  LtiCookieMiddleware sends them `Partitioned` too, which browsers keep for that LMS page.
"""

from functools import wraps
from http.cookies import Morsel

from csp.constants import SELF
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage

from dreamseed.lti.models import LtiPlatform

SESSION_FRAME_ORIGINS = "lti_frame_origins"
# Set by a launch whose OIDC state was kept in the LMS's storage (the frame keeps no ordinary
# third-party cookie): the session's cookies go out `Partitioned` (CHIPS), kept for the LMS.
SESSION_PARTITIONED = "lti_partitioned"
MESSAGES_COOKIE_NAME = CookieStorage.cookie_name


def school_frame_origins() -> list[str]:
    origins: list[str] = []
    for platform in LtiPlatform.objects.only("issuer", "auth_login_url", "frame_origins"):
        origins.extend(origin for origin in platform.origins if origin not in origins)
    return origins


def allow_framing(response, origins) -> None:
    """Let `origins` frame this response (unless the view decided its framing itself)."""
    if not origins or response.has_header("X-Frame-Options"):
        return
    response.xframe_options_exempt = True
    replace = dict(getattr(response, "_csp_replace", None) or {})
    replace["frame-ancestors"] = [SELF, *origins]
    response._csp_replace = replace


def lti_frameable(view):
    """Frameable by the school's registered platforms (or by the ones the view names in
    `response.lti_frame_origins`)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        origins = getattr(response, "lti_frame_origins", None)
        if origins is None:
            origins = school_frame_origins()
        allow_framing(response, origins)
        # A window DreamSeed opens from the LMS's frame must keep its opener through the whole
        # login (LMS pages included) to hand the picker's choice back to the frame: COOP
        # same-origin on any page of the chain would cut it.
        response.setdefault("Cross-Origin-Opener-Policy", "unsafe-none")
        return response

    return wrapper


def reissue_cookies_for_frames(request, response) -> None:
    """Set the session and CSRF cookies now, `SameSite=None; Secure`, if Django was going to set
    them (later, in SessionMiddleware and CsrfViewMiddleware) with the site-wide SameSite."""
    session = getattr(request, "session", None)
    writing = session is not None and session.modified and not session.is_empty()
    if writing and response.status_code < 500:
        session.save()
        session.modified = False  # SessionMiddleware: nothing left to set
        max_age = None if session.get_expire_at_browser_close() else session.get_expiry_age()
        response.set_cookie(
            settings.SESSION_COOKIE_NAME,
            session.session_key,
            max_age=max_age,
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
            secure=True,
            httponly=settings.SESSION_COOKIE_HTTPONLY or None,
            samesite="None",
        )
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") and not settings.CSRF_USE_SESSIONS:
        response.set_cookie(
            settings.CSRF_COOKIE_NAME,
            request.META["CSRF_COOKIE"],
            max_age=settings.CSRF_COOKIE_AGE,
            domain=settings.CSRF_COOKIE_DOMAIN,
            path=settings.CSRF_COOKIE_PATH,
            secure=True,
            httponly=settings.CSRF_COOKIE_HTTPONLY,
            samesite="None",
        )
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False  # CsrfViewMiddleware: already done


def _in_lti_session(request) -> bool:
    session = getattr(request, "session", None)
    if session is None:
        return False
    # Don't load a session just to learn it has no LTI origins.
    if settings.SESSION_COOKIE_NAME not in request.COOKIES and not session.modified:
        return False
    return bool(session.get(SESSION_FRAME_ORIGINS))


class LtiCookieMiddleware:
    """Over HTTPS, in a session that began with an LTI launch, every cookie Django sets for the
    session (session, CSRF, messages) goes out `SameSite=None; Secure`, whichever middleware set
    it: in the LMS's frame a `Lax` cookie is dropped, and with it, say, the "Roster synced"
    message. Listed before SessionMiddleware, so its response hook runs after theirs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.cookies or not _in_lti_session(request):
            return response
        partitioned = bool(request.session.get(SESSION_PARTITIONED)) and _secure_context(request)
        if not request.is_secure() and not partitioned:
            return response
        names = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, MESSAGES_COOKIE_NAME)
        for name in names:
            morsel = response.cookies.get(name)
            if morsel is None:
                continue
            if partitioned:
                morsel = response.cookies[name] = PartitionedMorsel.copy_of(morsel)
                morsel["partitioned"] = True
            morsel["samesite"] = "None"
            morsel["secure"] = True
        return response


class PartitionedMorsel(Morsel):
    """A cookie with the `Partitioned` attribute (CHIPS; Python's own Morsel knows it from 3.14):
    kept by the browser in a third-party frame even when third-party cookies are blocked, for
    that top-level site (the LMS) only."""

    _reserved = {**Morsel._reserved, "partitioned": "Partitioned"}
    _flags = Morsel._flags | {"partitioned"}

    @classmethod
    def copy_of(cls, morsel: Morsel) -> "PartitionedMorsel":
        copy = cls()
        copy.set(morsel.key, morsel.value, morsel.coded_value)
        for key, value in morsel.items():
            copy[key] = value
        return copy


def _secure_context(request) -> bool:
    """HTTPS, or a localhost name (browsers keep Secure cookies there: development and tests)."""
    host = request.get_host().split(":")[0].lower()
    return request.is_secure() or host == "localhost" or host.endswith(".localhost")


class LtiFrameMiddleware:
    """Framing and cookies for sessions that began with an LTI launch. Must be listed after
    XFrameOptionsMiddleware and CSPMiddleware (its response hook runs before theirs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None:
            return response
        # Don't load a session just to learn it has no LTI origins.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES and not session.modified:
            return response
        origins = session.get(SESSION_FRAME_ORIGINS)
        if origins:
            allow_framing(response, origins)
            if request.is_secure():
                reissue_cookies_for_frames(request, response)
        return response
