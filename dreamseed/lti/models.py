"""LTI 1.3: the LMS platforms a school registered, the tool's own signing keys, and what launches
tie together (LMS people, courses and links to DreamSeed users, classes and assignments), plus
the record of every grade sent back.

Everything here lives in the school's schema: a registration made at school A does not exist at
school B's host, so a launch meant for A fails there as an unknown issuer.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

AGS_SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
AGS_SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
AGS_SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, or "" if it has none (or is not a URL at all)."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 host)
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


class Vendor(models.TextChoices):
    CANVAS = "canvas", _("Canvas")
    MOODLE = "moodle", _("Moodle")
    OTHER = "other", _("Other LMS")


class LtiPlatform(models.Model):
    """One LMS registration (an issuer and the client id it gave DreamSeed)."""

    name = models.CharField(_("name"), max_length=120)
    vendor = models.CharField(_("LMS"), max_length=10, choices=Vendor.choices)
    issuer = models.CharField(_("issuer"), max_length=255)
    client_id = models.CharField(_("client ID"), max_length=255)
    auth_login_url = models.URLField(_("OIDC authorization URL"), max_length=500)
    auth_token_url = models.URLField(_("access token URL"), max_length=500)
    auth_audience = models.CharField(
        _("token audience"), max_length=500, blank=True,
        help_text=_("Only if the LMS asks for one; empty means the access token URL."),
    )  # fmt: skip
    key_set_url = models.URLField(_("public key set (JWKS) URL"), max_length=500)
    # The addresses people open the LMS at. Canvas's issuer and login URLs are not where its
    # pages are (school.instructure.com), so the admin says which origins may frame DreamSeed.
    frame_origins = models.TextField(_("LMS web addresses"), blank=True)
    # Registrations made by LTI Dynamic Registration wait for a school admin's approval before
    # they take launches; those an admin typed in are approved as they are saved.
    approved = models.BooleanField(_("approved"), default=True)
    registered_dynamically = models.BooleanField(default=False, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("LMS platform")
        verbose_name_plural = _("LMS platforms")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_platform_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        """Origins allowed to frame DreamSeed for this platform, de-duplicated, in order."""
        candidates = [*self.frame_origins.split(), self.issuer, self.auth_login_url]
        found: list[str] = []
        for candidate in candidates:
            origin = origin_of(candidate)
            if origin and origin not in found:
                found.append(origin)
        return found

    @property
    def deployment_id_list(self) -> list[str]:
        return [deployment.deployment_id for deployment in self.deployments.all()]


class LtiDeployment(models.Model):
    """A deployment id the LMS sends in launches (Canvas: one per account or course install)."""

    # No index of its own: lti_deployment_unique starts with this column.
    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="deployments", db_index=False
    )
    deployment_id = models.CharField(_("deployment ID"), max_length=255)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "deployment_id"], name="lti_deployment_unique"
            )
        ]

    def __str__(self) -> str:
        return self.deployment_id


class LtiToolKey(models.Model):
    """The school's RSA key pair that signs what DreamSeed sends to an LMS.

    One key is active; a rotated-out key is kept (retired_at set) and stays in the JWKS for
    LTI_KEY_GRACE_DAYS, because LMSs cache key sets and may still verify with the old one.
    """

    kid = models.CharField(max_length=64, unique=True)  # RFC 7638 thumbprint of the public key
    private_pem = models.TextField()
    public_pem = models.TextField()
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="lti_one_active_tool_key",
            )
        ]

    def __str__(self) -> str:
        return self.kid


class LtiIdentity(models.Model):
    """An LMS person (issuer's `sub`) and the one DreamSeed user they are here."""

    # No index of its own: lti_identity_unique starts with this column.
    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    sub = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities"
    )
    created = models.DateTimeField(auto_now_add=True)
    last_launch_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "sub"], name="lti_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.platform} · {self.sub}"


class LtiContext(models.Model):
    """An LMS course and the DreamSeed class it is."""

    # No index of its own: lti_context_unique starts with this column.
    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="contexts", db_index=False
    )
    context_id = models.CharField(max_length=255)
    school_class = models.ForeignKey(
        "classes.Class", on_delete=models.CASCADE, related_name="lti_contexts"
    )
    title = models.CharField(max_length=255, blank=True)
    label = models.CharField(max_length=255, blank=True)
    # Names and Role Provisioning: the course's membership URL, from the latest launch.
    memberships_url = models.URLField(max_length=1000, blank=True)
    roster_synced_at = models.DateTimeField(null=True, blank=True)
    roster_sync_summary = models.CharField(max_length=255, blank=True)
    # Why the latest sync (a background one, after a launch) failed; empty once one succeeds.
    roster_sync_error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "context_id"], name="lti_context_unique")
        ]

    def __str__(self) -> str:
        return self.title or self.label or self.context_id


class LtiResourceLink(models.Model):
    """A link placed in an LMS course, and what it opens (an assignment of a DreamSeed test).

    The Assignment and Grade Services endpoint claim of the latest launch is kept here: grade
    passback happens later, in a worker, with no launch at hand.
    """

    # No index of its own: lti_resource_link_unique starts with this column.
    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="resource_links", db_index=False
    )
    resource_link_id = models.CharField(max_length=255)
    context = models.ForeignKey(
        LtiContext, on_delete=models.SET_NULL, null=True, blank=True, related_name="links"
    )
    assignment = models.ForeignKey(
        "assessments.Assignment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lti_links",
    )
    title = models.CharField(max_length=255, blank=True)
    lineitem_url = models.URLField(max_length=1000, blank=True)
    lineitems_url = models.URLField(max_length=1000, blank=True)
    ags_scopes = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "resource_link_id"], name="lti_resource_link_unique"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.resource_link_id

    def may(self, scope: str) -> bool:
        return scope in (self.ags_scopes or [])


class PassbackStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    RETRYING = "retrying", _("Retrying")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")


class GradePassback(models.Model):
    """Sending one finished session's score to one LMS line item."""

    # No index of its own: lti_one_passback_per_link starts with this column.
    session = models.ForeignKey(
        "assessments.ExamSession",
        on_delete=models.CASCADE,
        related_name="grade_passbacks",
        db_index=False,
    )
    resource_link = models.ForeignKey(
        LtiResourceLink, on_delete=models.CASCADE, related_name="grade_passbacks"
    )
    user_sub = models.CharField(max_length=255)
    lineitem_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(
        max_length=10, choices=PassbackStatus.choices, default=PassbackStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "resource_link"], name="lti_one_passback_per_link"
            )
        ]
        indexes = [models.Index(fields=["status", "updated"])]

    def __str__(self) -> str:
        return f"{self.session_id} → {self.lineitem_url or self.resource_link_id}"

    @property
    def is_done(self) -> bool:
        return self.status in (PassbackStatus.SENT, PassbackStatus.SKIPPED, PassbackStatus.FAILED)


class GradePassbackAttempt(models.Model):
    """One try at posting a score, and what came of it."""

    passback = models.ForeignKey(
        GradePassback, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=PassbackStatus.choices)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["passback", "number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome} {self.http_status or ''}".strip()
