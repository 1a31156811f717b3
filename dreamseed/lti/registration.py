"""LTI Dynamic Registration (1EdTech LTI-DR 1.0): a school admin pastes one DreamSeed URL into the
LMS (Moodle 4.3+ "Add LTI Advantage", Canvas "LTI Registration"), the LMS opens it with its
`openid_configuration` URL and a single-use `registration_token`, and DreamSeed registers itself
with the LMS's registration endpoint. The platform is saved *pending*: it takes no launches
until a school admin approves it on DreamSeed's LMS platforms page.

The URL carries a signed, school-bound, expiring token: only someone who copied it from the
admin page can start a registration, and every URL the LMS names goes through the outbound
policy before DreamSeed fetches or posts to it.
"""

import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from dreamseed.core.outbound import OutboundBlocked, check_url
from dreamseed.lti.launch import http_session
from dreamseed.lti.models import LtiPlatform, Vendor, origin_of
from dreamseed.lti.selectors import TOOL_SCOPES, TOOL_TITLE, tool_urls
from dreamseed.lti.services import platform_save

log = logging.getLogger(__name__)

REGISTRATION_SALT = "dreamseed.lti.dynamic-registration"
REGISTRATION_URL_MAX_AGE_SECONDS = 14 * 24 * 60 * 60
CONFIRM_MAX_AGE_SECONDS = 60 * 60
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
LTI_CLAIMS = ["iss", "sub", "name", "given_name", "family_name", "email"]


class RegistrationFailed(Exception):
    """Registration cannot go on; the message says why, for the LMS administrator."""


def registration_url(request) -> str:
    """The URL to paste into the LMS (valid for two weeks, for this school only)."""
    token = signing.dumps({"schema": connection.schema_name}, salt=REGISTRATION_SALT)
    return request.build_absolute_uri(reverse("lti:register", kwargs={"token": token}))


def registration_token_ok(token: str) -> bool:
    try:
        payload = signing.loads(
            token, salt=REGISTRATION_SALT, max_age=REGISTRATION_URL_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return False
    return payload.get("schema") == connection.schema_name


def confirm_sign(*, openid_configuration: str, registration_token: str) -> str:
    """What the confirmation form posts back (the LMS frame may keep no CSRF cookie: the
    signature, bound to this school, is the proof that DreamSeed showed this page)."""
    return signing.dumps(
        {
            "schema": connection.schema_name,
            "openid_configuration": openid_configuration,
            "registration_token": registration_token,
        },
        salt=REGISTRATION_SALT + ".confirm",
    )


def confirm_read(value: str) -> dict | None:
    try:
        payload = signing.loads(
            value, salt=REGISTRATION_SALT + ".confirm", max_age=CONFIRM_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return None
    if payload.get("schema") != connection.schema_name:
        return None
    return payload


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product: str
    name: str


def _string(config: dict, name: str) -> str:
    value = config.get(name)
    if not isinstance(value, str) or not value.strip():
        raise RegistrationFailed(_("The LMS's configuration has no “%(name)s”.") % {"name": name})
    return value.strip()


def _headers(registration_token: str) -> dict:
    return {"Authorization": f"Bearer {registration_token}"} if registration_token else {}


def platform_configuration_fetch(
    *, openid_configuration: str, registration_token: str
) -> PlatformConfiguration:
    """The LMS's OpenID configuration, checked: every endpoint on an address DreamSeed may use."""
    try:
        check_url(openid_configuration)
        response = http_session().get(openid_configuration, headers=_headers(registration_token))
        response.raise_for_status()
        config = response.json()
    except OutboundBlocked as error:
        raise RegistrationFailed(error.reason) from error
    except (requests.RequestException, ValueError) as error:
        raise RegistrationFailed(
            _("DreamSeed could not read the LMS's configuration (%(error)s). Start the "
              "registration again from the LMS.") % {"error": str(error)[:200]}
        ) from error  # fmt: skip
    if not isinstance(config, dict):
        raise RegistrationFailed(_("The LMS's configuration is not a JSON object."))
    found = {
        name: _string(config, name)
        for name in (
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "registration_endpoint",
        )
    }
    for name in ("token_endpoint", "jwks_uri", "registration_endpoint", "authorization_endpoint"):
        try:
            check_url(found[name])
        except OutboundBlocked as error:
            raise RegistrationFailed(f"{name}: {error.reason}") from error
    platform_info = config.get(PLATFORM_CONFIGURATION)
    platform_info = platform_info if isinstance(platform_info, dict) else {}
    product = str(platform_info.get("product_family_code") or "").lower()
    host = urlsplit(found["issuer"]).hostname or found["issuer"]
    label = {"moodle": "Moodle", "canvas": "Canvas"}.get(product, product.title() or "LMS")
    return PlatformConfiguration(**found, product=product, name=f"{label} · {host}"[:120])


def tool_registration_request(request) -> dict:
    """The client registration DreamSeed asks for (OpenID Connect Dynamic Client Registration
    with the LTI tool configuration)."""
    urls = tool_urls(request)
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls["login"],
        "redirect_uris": [urls["launch"]],
        "client_name": TOOL_TITLE,
        "jwks_uri": urls["jwks"],
        "logo_uri": urls["icon"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(TOOL_SCOPES),
        TOOL_CONFIGURATION: {
            "domain": urls["host"],
            "target_link_uri": urls["launch"],
            "claims": LTI_CLAIMS,
            "messages": [
                {"type": "LtiResourceLinkRequest", "target_link_uri": urls["launch"]},
                {
                    "type": "LtiDeepLinkingRequest",
                    "target_link_uri": urls["launch"],
                    "label": TOOL_TITLE,
                },
            ],
        },
    }


def _vendor(product: str) -> str:
    if product == "moodle":
        return Vendor.MOODLE
    if product == "canvas":
        return Vendor.CANVAS
    return Vendor.OTHER


def dynamic_register(*, request, openid_configuration: str, registration_token: str) -> LtiPlatform:
    """Register DreamSeed with the LMS and save the platform, pending approval."""
    config = platform_configuration_fetch(
        openid_configuration=openid_configuration, registration_token=registration_token
    )
    body = tool_registration_request(request)
    try:
        response = http_session().post(
            config.registration_endpoint,
            data=json.dumps(body),
            headers={**_headers(registration_token), "Content-Type": "application/json"},
        )
        response.raise_for_status()
        answer = response.json()
    except OutboundBlocked as error:
        raise RegistrationFailed(error.reason) from error
    except (requests.RequestException, ValueError) as error:
        raise RegistrationFailed(
            _("The LMS refused the registration (%(error)s). Start it again from the LMS; its "
              "registration link works once.") % {"error": str(error)[:200]}
        ) from error  # fmt: skip
    if not isinstance(answer, dict) or not isinstance(answer.get("client_id"), str):
        raise RegistrationFailed(_("The LMS's answer has no client ID."))
    tool_config = answer.get(TOOL_CONFIGURATION)
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    deployments = [str(deployment_id)] if deployment_id not in (None, "") else []
    # Canvas pages live on the school's Canvas host, not on its issuer: that host may frame us.
    frame_origins = origin_of(openid_configuration)
    fields = {
        "name": config.name,
        "vendor": _vendor(config.product),
        "issuer": config.issuer,
        "client_id": answer["client_id"],
        "auth_login_url": config.authorization_endpoint,
        "auth_token_url": config.token_endpoint,
        "key_set_url": config.jwks_uri,
        "frame_origins": frame_origins,
        "approved": False,
        "registered_dynamically": True,
    }
    try:
        with transaction.atomic():
            platform = platform_save(fields=fields, deployment_ids=deployments)
    except ValidationError as error:
        raise RegistrationFailed(" ".join(error.messages)) from error
    log.info("LTI dynamic registration: %s (%s) pending approval", platform.issuer, platform.pk)
    return platform
