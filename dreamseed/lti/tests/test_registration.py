"""The school admin's LMS registration pages, the Canvas developer-key JSON, the JWKS and the
tool key's rotation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dreamseed.lti.keys import tool_key_active
from dreamseed.lti.launch import registration_for
from dreamseed.lti.models import LtiPlatform, LtiToolKey

CANVAS_FORM = {
    "name": "Springfield Canvas",
    "vendor": "canvas",
    "issuer": "https://canvas.instructure.com",
    "client_id": "10000000000042",
    "deployment_ids": "42:abc\n43:def\n42:abc",
    "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
    "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks",
    "auth_audience": "",
    "frame_origins": "https://springfield.instructure.com/",
}
MOODLE_FORM = {
    "name": "Springfield Moodle",
    "vendor": "moodle",
    "issuer": "https://moodle.springfield.example",
    "client_id": "aB3dE5fG7hI9jK1",
    "deployment_ids": "1",
    "auth_login_url": "https://moodle.springfield.example/mod/lti/auth.php",
    "auth_token_url": "https://moodle.springfield.example/mod/lti/token.php",
    "key_set_url": "https://moodle.springfield.example/mod/lti/certs.php",
    "auth_audience": "",
    "frame_origins": "",
}


@pytest.fixture
def admin(client_for, alpha_admin, alpha_school):
    return client_for(alpha_admin)


def test_the_platforms_page_shows_the_values_to_paste_into_the_lms(admin):
    page = admin.get("/lti/platforms/")
    assert page.status_code == 200
    html = page.content.decode()
    for url in (
        "http://alpha.localhost/lti/login/",
        "http://alpha.localhost/lti/launch/",
        "http://alpha.localhost/lti/jwks/",
        "http://alpha.localhost/lti/canvas.json",
    ):
        assert f'value="{url}"' in html
    assert tool_key_active().kid in html
    assert "js/lti-platform-form.js" in html and "<script>" not in html


@pytest.mark.parametrize("persona", ["alpha_teacher", "alpha_student"])
def test_only_school_admins_manage_platforms(persona, request, client_for, alpha_school):
    client = client_for(request.getfixturevalue(persona))
    for url in ("/lti/platforms/", "/lti/platforms/new/"):
        assert client.get(url).status_code == 403
    assert client.post("/lti/keys/rotate/").status_code == 403
    anonymous = client_for(host="alpha.localhost")
    assert anonymous.get("/lti/platforms/").status_code == 302


def test_an_admin_registers_canvas(admin):
    response = admin.post("/lti/platforms/new/", CANVAS_FORM)
    platform = LtiPlatform.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/lti/platforms/{platform.pk}/"
    assert platform.deployment_id_list == ["42:abc", "43:def"]
    assert platform.frame_origins == "https://springfield.instructure.com"
    assert platform.origins == [
        "https://springfield.instructure.com",
        "https://canvas.instructure.com",
        "https://sso.canvaslms.com",
    ]
    page = admin.get(response["Location"]).content.decode()
    assert "Developer Keys" in page  # the Canvas instructions
    assert 'value="http://alpha.localhost/lti/canvas.json"' in page


def test_canvas_needs_its_web_address(admin):
    response = admin.post("/lti/platforms/new/", {**CANVAS_FORM, "frame_origins": ""})
    assert response.status_code == 400
    assert "Give your Canvas address" in response.content.decode()
    assert not LtiPlatform.objects.exists()


def test_an_admin_registers_moodle_and_edits_its_deployments(admin):
    admin.post("/lti/platforms/new/", MOODLE_FORM)
    platform = LtiPlatform.objects.get()
    assert platform.origins == ["https://moodle.springfield.example"]
    response = admin.post(
        f"/lti/platforms/{platform.pk}/", {**MOODLE_FORM, "deployment_ids": "2\n3"}
    )
    assert response.status_code == 302
    platform.refresh_from_db()
    assert platform.deployment_id_list == ["2", "3"]
    page = admin.get(f"/lti/platforms/{platform.pk}/").content.decode()
    assert "Site administration" in page  # the Moodle instructions


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deployment_ids": " \n "}, "This field is required."),
        ({"issuer": "moodle"}, "The issuer is a web address"),
        ({"key_set_url": "not a url"}, "Enter a valid URL."),
        ({"frame_origins": "javascript:alert(1)"}, "is not a web address"),
        ({"client_id": ""}, "This field is required."),
    ],
)
def test_registration_errors_are_shown_on_the_form(admin, change, message):
    response = admin.post("/lti/platforms/new/", {**MOODLE_FORM, **change})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not LtiPlatform.objects.exists()


def test_the_same_issuer_and_client_id_cannot_be_registered_twice(admin):
    admin.post("/lti/platforms/new/", MOODLE_FORM)
    response = admin.post("/lti/platforms/new/", {**MOODLE_FORM, "name": "Again"})
    assert response.status_code == 400
    assert "with this Issuer and Client ID already exists" in response.content.decode()
    assert LtiPlatform.objects.count() == 1


def test_an_admin_removes_a_platform(admin):
    admin.post("/lti/platforms/new/", MOODLE_FORM)
    platform = LtiPlatform.objects.get()
    assert admin.get(f"/lti/platforms/{platform.pk}/delete/").status_code == 405
    assert admin.post(f"/lti/platforms/{platform.pk}/delete/").status_code == 302
    assert not LtiPlatform.objects.exists()


def test_canvas_reads_its_developer_key_configuration_from_a_url(client_for, alpha_school):
    response = client_for(host="alpha.localhost").get("/lti/canvas.json")  # no sign-in
    assert response.status_code == 200
    config = response.json()
    assert config["oidc_initiation_url"] == "http://alpha.localhost/lti/login/"
    assert config["target_link_uri"] == "http://alpha.localhost/lti/launch/"
    assert config["public_jwk_url"] == "http://alpha.localhost/lti/jwks/"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in config["scopes"]
    assert (
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
        in config["scopes"]
    )
    [extension] = config["extensions"]
    assert extension["platform"] == "canvas.instructure.com"
    assert extension["domain"] == "alpha.localhost"
    assert extension["privacy_level"] == "public"
    placements = {p["placement"]: p for p in extension["settings"]["placements"]}
    assert placements["assignment_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert placements["link_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert placements["course_navigation"]["message_type"] == "LtiResourceLinkRequest"


def test_rotating_the_key_keeps_the_old_one_published_for_the_grace_period(admin, settings):
    old = tool_key_active()
    assert admin.post("/lti/keys/rotate/").status_code == 302
    new = tool_key_active()
    assert new.kid != old.kid
    kids = [key["kid"] for key in admin.get("/lti/jwks/").json()["keys"]]
    assert sorted(kids) == sorted([old.kid, new.kid])
    page = admin.get("/lti/platforms/").content.decode()
    assert "still published until" in page

    LtiToolKey.objects.filter(pk=old.pk).update(
        retired_at=timezone.now() - timedelta(days=settings.LTI_KEY_GRACE_DAYS, seconds=1)
    )
    kids = [key["kid"] for key in admin.get("/lti/jwks/").json()["keys"]]
    assert kids == [new.kid]


def test_what_dreamseed_signs_names_the_active_key(admin):
    admin.post("/lti/platforms/new/", MOODLE_FORM)
    platform = LtiPlatform.objects.get()
    assert registration_for(platform).get_kid() == tool_key_active().kid
    admin.post("/lti/keys/rotate/")
    assert registration_for(platform).get_kid() == tool_key_active().kid


def test_a_malformed_frame_address_is_a_form_error_not_a_crash(admin):
    """Found by the form fuzzer: an unclosed IPv6 host made urlsplit raise (a 500)."""
    from dreamseed.lti.models import origin_of

    assert origin_of("http://[::1") == "" and origin_of("https://[") == ""
    before = LtiPlatform.objects.count()
    response = admin.post("/lti/platforms/new/", {**CANVAS_FORM, "frame_origins": "http://[::1"})
    assert response.status_code == 400  # the form again, with the error
    assert "is not a web address like" in response.text
    assert LtiPlatform.objects.count() == before
