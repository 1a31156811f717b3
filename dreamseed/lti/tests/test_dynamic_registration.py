"""LTI Dynamic Registration: an admin pastes one URL into Moodle or Canvas, the LMS opens it with
its OpenID configuration and a registration token, DreamSeed registers itself, and the platform
waits for the school admin's approval before it takes launches."""

import re
from urllib.parse import urlencode, urlsplit

import pytest
from django.core import signing

from dreamseed.lti.keys import tool_jwks
from dreamseed.lti.models import LtiPlatform, Vendor
from dreamseed.lti.registration import REGISTRATION_SALT
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.lti.tests.platform import SCOPE_NRPS, SCOPE_SCORE


@pytest.fixture
def admin(client_for, alpha_admin, alpha_school):
    return client_for(alpha_admin)


def _registration_path(admin) -> str:
    page = admin.get("/lti/platforms/").content.decode()
    url = re.search(r'id="lti-v-register" readonly value="([^"]+)"', page).group(1)
    return urlsplit(url).path


def _open_from_lms(client, path, lms, token=None):
    """What the LMS does with the pasted URL: open it with its configuration and a token."""
    token = lms.start_registration() if token is None else token
    query = urlencode({"openid_configuration": lms.openid_configuration_url,
                       "registration_token": token})  # fmt: skip
    return client.get(f"{path}?{query}")


def _confirm(client, path, page):
    confirm = re.search(r'name="confirm" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(path, {"confirm": confirm})


@pytest.mark.parametrize("kind", ["moodle", "canvas"])
def test_an_lms_registers_dreamseed_from_one_pasted_url(
    kind, admin, lms_platform, client_for, alpha_school
):
    lms = lms_platform.lms(kind)
    path = _registration_path(admin)
    frame = client_for(host="alpha.localhost")  # the LMS admin, in the LMS's frame: no session

    page = _open_from_lms(frame, path, lms)
    assert page.status_code == 200
    assert lms.platform.base_url in page.content.decode()
    assert LtiPlatform.objects.count() == 0  # nothing happens on GET

    done = _confirm(frame, path, page)
    assert done.status_code == 200, done.content.decode()[:2000]
    assert "DreamSeed is registered" in done.content.decode()
    assert "js/lti-registration.js" in done.content.decode()  # posts org.imsglobal.lti.close

    platform = LtiPlatform.objects.get()
    assert not platform.approved and platform.registered_dynamically
    assert (platform.issuer, platform.client_id) == (lms.issuer, lms.client_id)
    assert platform.auth_login_url == lms.auth_login_url
    assert platform.auth_token_url == lms.token_url
    assert platform.key_set_url == lms.jwks_url
    assert platform.deployment_id_list == [lms.deployment_id]
    assert platform.vendor == (Vendor.CANVAS if kind == "canvas" else Vendor.MOODLE)
    assert lms.platform.base_url in platform.origins

    [request] = lms.registrations
    assert request["initiate_login_uri"] == "http://alpha.localhost/lti/login/"
    assert request["redirect_uris"] == ["http://alpha.localhost/lti/launch/"]
    assert request["jwks_uri"] == "http://alpha.localhost/lti/jwks/"
    assert {SCOPE_SCORE, SCOPE_NRPS} <= set(request["scope"].split())
    tool = request["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert tool["domain"] == "alpha.localhost"
    assert {"type": "LtiDeepLinkingRequest", "target_link_uri": "http://alpha.localhost/lti/launch/",
            "label": "DreamSeed"} in tool["messages"]  # fmt: skip
    assert lms.registration_tokens == set()  # the token was used, once


def test_a_pending_platform_takes_no_launch_until_an_admin_approves_it(
    admin, lms_platform, client_for, lti_client
):
    lms = lms_platform.moodle
    path = _registration_path(admin)
    frame = client_for(host="alpha.localhost")
    _confirm(frame, path, _open_from_lms(frame, path, lms))
    platform = LtiPlatform.objects.get()
    lms.registration = platform
    lms.tool_jwks = tool_jwks()

    refused = lti_client(lms).login(student("moodle"))
    assert refused.status_code == 403
    assert "waits for approval in DreamSeed" in refused.content.decode()

    listing = admin.get("/lti/platforms/").content.decode()
    assert "waits for your approval" in listing
    assert admin.post(f"/lti/platforms/{platform.pk}/approve/").status_code == 302
    platform.refresh_from_db()
    assert platform.approved

    tool = lti_client(lms)
    assert tool.follow(tool.launch(teacher("moodle"), None)) == "/"


def test_only_the_schools_admins_approve(admin, lms_platform, client_for, alpha_teacher,
                                         beta_admin):  # fmt: skip
    lms = lms_platform.canvas
    path = _registration_path(admin)
    frame = client_for(host="alpha.localhost")
    _confirm(frame, path, _open_from_lms(frame, path, lms))
    platform = LtiPlatform.objects.get()
    assert (
        client_for(alpha_teacher).post(f"/lti/platforms/{platform.pk}/approve/").status_code == 403
    )
    assert client_for(beta_admin).post(f"/lti/platforms/{platform.pk}/approve/").status_code == 404
    assert frame.post(f"/lti/platforms/{platform.pk}/approve/").status_code == 302  # to sign in
    platform.refresh_from_db()
    assert not platform.approved


def test_a_registration_link_works_only_at_its_school_and_while_fresh(
    admin, lms_platform, client_for, personas
):
    lms = lms_platform.moodle
    path = _registration_path(admin)
    at_beta = _open_from_lms(client_for(host=personas["beta_admin"].host), path, lms)
    assert at_beta.status_code == 403
    forged = signing.dumps({"schema": personas["alpha_admin"].schema_name}, salt="other")
    page = _open_from_lms(client_for(host="alpha.localhost"), f"/lti/register/{forged}/", lms)
    assert page.status_code == 403
    assert "Copy a fresh one" in page.content.decode()
    assert lms.registrations == []


def test_a_registration_url_is_signed_for_the_school(admin, personas):
    token = _registration_path(admin).split("/")[3]
    payload = signing.loads(token, salt=REGISTRATION_SALT)
    assert payload == {"schema": personas["alpha_admin"].schema_name}


def test_an_lms_that_refuses_the_token_saves_nothing(admin, lms_platform, client_for):
    lms = lms_platform.canvas
    path = _registration_path(admin)
    frame = client_for(host="alpha.localhost")
    page = _open_from_lms(frame, path, lms, token="not-issued")
    answer = _confirm(frame, path, page)
    assert answer.status_code == 400
    assert "could not read the LMS" in answer.content.decode()
    assert not LtiPlatform.objects.exists()


def test_registration_respects_the_outbound_policy(admin, lms_platform, client_for, settings):
    lms = lms_platform.moodle
    path = _registration_path(admin)
    frame = client_for(host="alpha.localhost")
    page = _open_from_lms(frame, path, lms)
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    lms_platform.requests.clear()
    answer = _confirm(frame, path, page)
    assert answer.status_code == 400
    assert "loopback" in answer.content.decode()
    assert lms_platform.requests == []
    assert not LtiPlatform.objects.exists()


def test_opening_the_registration_url_directly_explains_it(admin, client_for):
    path = _registration_path(admin)
    page = client_for(host="alpha.localhost").get(path)
    assert page.status_code == 400
    assert "Add LTI Advantage" in page.content.decode()
