"""Reads for the LTI pages: registrations, the tool's URLs to paste into an LMS, a teacher's
LMS-linked courses and their grade passbacks."""

from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from dreamseed.accounts.models import STAFF_ROLES, Role, User
from dreamseed.lti.keys import key_grace_period, tool_key_active
from dreamseed.lti.models import (
    AGS_SCOPE_LINEITEM,
    AGS_SCOPE_LINEITEM_READONLY,
    AGS_SCOPE_RESULT_READONLY,
    AGS_SCOPE_SCORE,
    NRPS_SCOPE,
    GradePassback,
    LtiContext,
    LtiDeployment,
    LtiPlatform,
    LtiResourceLink,
    LtiToolKey,
    PassbackStatus,
)

TOOL_TITLE = "DreamSeed"
TOOL_SCOPES = [
    AGS_SCOPE_LINEITEM,
    AGS_SCOPE_LINEITEM_READONLY,
    AGS_SCOPE_RESULT_READONLY,
    AGS_SCOPE_SCORE,
    NRPS_SCOPE,
]


def platform_list() -> list[LtiPlatform]:
    return list(
        LtiPlatform.objects.prefetch_related(
            Prefetch("deployments", queryset=LtiDeployment.objects.order_by("pk"))
        ).annotate(
            people=Count("identities", distinct=True), courses=Count("contexts", distinct=True)
        )
    )


def platform_get(*, pk: int) -> LtiPlatform:
    platform = LtiPlatform.objects.prefetch_related("deployments").filter(pk=pk).first()
    if platform is None:
        raise Http404
    return platform


def tool_keys() -> dict:
    """The active key and the retired ones still published, for the admin page."""
    active = tool_key_active()
    since = timezone.now() - key_grace_period()
    retired = LtiToolKey.objects.filter(is_active=False, retired_at__gte=since)
    return {
        "active": active,
        "retired": [{"key": key, "until": key.retired_at + key_grace_period()} for key in retired],
    }


def tool_urls(request) -> dict:
    """Absolute URLs of the tool on this school's host, as the LMS must be told them."""

    def absolute(name: str) -> str:
        return request.build_absolute_uri(reverse(name))

    return {
        "host": request.get_host().split(":")[0],
        "login": absolute("lti:login"),
        "launch": absolute("lti:launch"),
        "jwks": absolute("lti:jwks"),
        "deep_link": absolute("lti:launch"),
        "canvas_json": absolute("lti:canvas_config"),
        "icon": request.build_absolute_uri(static("img/logo.svg")),
    }


def canvas_configuration(request) -> dict:
    """The developer-key JSON Canvas reads ("Enter URL" or "Paste JSON")."""
    urls = tool_urls(request)
    deep_link = {"message_type": "LtiDeepLinkingRequest", "target_link_uri": urls["launch"]}
    return {
        "title": TOOL_TITLE,
        "description": "Adaptive tests for every classroom: computerized adaptive testing with "
        "scores sent to the gradebook.",
        "oidc_initiation_url": urls["login"],
        "target_link_uri": urls["launch"],
        "scopes": TOOL_SCOPES,
        "extensions": [
            {
                "domain": urls["host"],
                "tool_id": "dreamseed",
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "text": TOOL_TITLE,
                    "icon_url": urls["icon"],
                    "selection_width": 900,
                    "selection_height": 700,
                    "placements": [
                        {"placement": "assignment_selection", **deep_link},
                        {"placement": "link_selection", **deep_link},
                        {
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": urls["launch"],
                            "text": TOOL_TITLE,
                            "default": "disabled",
                            "visibility": "admins",
                        },
                    ],
                },
            }
        ],
        "public_jwk_url": urls["jwks"],
        "custom_fields": {},
    }


def contexts_for(*, user: User):
    """LMS courses whose DreamSeed class the user teaches (admins: all), with passback counts."""
    if user.role not in STAFF_ROLES:
        return LtiContext.objects.none()
    contexts = LtiContext.objects.select_related("platform", "school_class").prefetch_related(
        Prefetch(
            "links",
            queryset=LtiResourceLink.objects.filter(assignment__isnull=False)
            .select_related("assignment__assessment")
            .order_by("title", "pk"),
            to_attr="linked_assignments",
        )
    )
    if user.role != Role.ADMIN:
        contexts = contexts.filter(school_class__teachers=user)
    counts = {
        status: Count(
            "links__grade_passbacks",
            filter=Q(links__grade_passbacks__status=status),
            distinct=True,
        )
        for status in PassbackStatus.values
    }
    return contexts.annotate(**{f"passbacks_{status}": c for status, c in counts.items()})


def context_get_for_staff(*, user: User, pk: int) -> LtiContext:
    context = contexts_for(user=user).filter(pk=pk).first()
    if context is None:
        raise Http404
    return context


def passbacks_needing_attention(*, contexts, limit: int = 50):
    return (
        GradePassback.objects.filter(
            resource_link__context__in=contexts,
            status__in=[
                PassbackStatus.FAILED,
                PassbackStatus.RETRYING,
                PassbackStatus.PENDING,
                PassbackStatus.SKIPPED,
            ],
        )
        .select_related("session__student", "session__assignment__assessment", "resource_link")
        .order_by("-updated")[:limit]
    )


def passback_get_for_staff(*, user: User, pk: int) -> GradePassback:
    passback = (
        GradePassback.objects.filter(pk=pk, resource_link__context__in=contexts_for(user=user))
        .select_related("session")
        .first()
    )
    if passback is None:
        raise Http404
    return passback
