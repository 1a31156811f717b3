"""Launches DreamSeed must refuse: each gets a clear error page, and nothing is created (no
user, identity, class, course link or resource link) and nobody is signed in."""

import base64
import json
import time

import pytest

from dreamseed.accounts.models import User
from dreamseed.classes.models import Class
from dreamseed.lti.models import LtiContext, LtiIdentity, LtiResourceLink
from dreamseed.lti.tests.conftest import student, teacher
from dreamseed.lti.tests.platform import CLAIM, SigningKey

VERIFY = "The launch could not be verified"
INCOMPLETE = "The launch message is incomplete"
NOT_REGISTERED = "This LMS is not registered at this school"


def _counts():
    return (
        User.objects.count(),
        LtiIdentity.objects.count(),
        Class.objects.count(),
        LtiContext.objects.count(),
        LtiResourceLink.objects.count(),
    )


def _assert_refused(tool, response, title, status=400):
    assert response.status_code == status, response.content.decode()[:2000]
    page = response.content.decode()
    assert title in page
    assert "Details for your administrator" in page
    # Shown inside the LMS's frame, so it is framed like the launch.
    assert (
        "frame-ancestors 'self' " + tool.lms.platform.base_url
        in response["Content-Security-Policy"]
    )
    assert tool.client.get("/").status_code == 302  # still signed out


def _drop(*names):
    def edit(lms, claims):
        for name in names:
            claims.pop(name, None)

    return edit


def _set(name, value):
    def edit(lms, claims):
        claims[name] = value

    return edit


def _sign_with_unknown_key(lms, claims):
    return lms.sign(claims, key=SigningKey.new())


def _bad_signature(lms, claims):
    # A key the LMS does not have, under the kid of one it does.
    impostor = SigningKey.new(kid=lms.keys[0].kid)
    return lms.sign(claims, key=impostor)


def _no_kid(lms, claims):
    return lms.sign(claims, headers={"kid": None})


def _tampered(lms, claims):
    token = lms.sign(claims)
    header, _body, signature = token.split(".")
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _alg_none(lms, claims):
    header = {"alg": "none", "kid": lms.keys[0].kid, "typ": "JWT"}
    encode = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode(header)}.{encode(claims)}."


def _not_lti(lms, claims):
    plain = {key: claims[key] for key in ("iss", "aud", "sub", "exp", "iat", "nonce")}
    claims.clear()
    claims.update(plain)


def _times(exp_offset, iat_offset):
    def edit(lms, claims):
        now = int(time.time())
        claims["exp"] = now + exp_offset
        claims["iat"] = now + iat_offset

    return edit


def _several_audiences(lms, claims):
    claims["aud"] = [lms.client_id, "another-tool"]
    claims.pop("azp")


def _other_host(lms, claims):
    claims[CLAIM + "target_link_uri"] = "https://phishing.example/lti/launch/"


CASES = [
    ("missing-kid", _no_kid, VERIFY, 400),
    ("unknown-kid", _sign_with_unknown_key, VERIFY, 400),
    ("bad-signature", _bad_signature, VERIFY, 400),
    ("tampered-claims", _tampered, VERIFY, 400),
    ("alg-none", _alg_none, VERIFY, 400),
    ("wrong-lti-version", _set(CLAIM + "version", "1.1"), INCOMPLETE, 400),
    ("missing-lti-version", _drop(CLAIM + "version"), INCOMPLETE, 400),
    ("not-an-lti-jwt", _not_lti, INCOMPLETE, 400),
    ("missing-aud", _drop("aud", "azp"), INCOMPLETE, 400),
    ("missing-iss", _drop("iss"), INCOMPLETE, 400),
    ("missing-sub", _drop("sub"), INCOMPLETE, 400),
    ("missing-deployment-id", _drop(CLAIM + "deployment_id"), INCOMPLETE, 400),
    ("missing-roles", _drop(CLAIM + "roles"), INCOMPLETE, 400),
    ("missing-message-type", _drop(CLAIM + "message_type"), INCOMPLETE, 400),
    ("unknown-message-type", _set(CLAIM + "message_type", "LtiStartProctoring"), INCOMPLETE, 400),
    ("missing-resource-link", _drop(CLAIM + "resource_link"), INCOMPLETE, 400),
    ("resource-link-without-id", _set(CLAIM + "resource_link", {"title": "x"}), INCOMPLETE, 400),
    ("target-on-another-host", _other_host, INCOMPLETE, 400),
    ("expired", _times(-120, -3700), VERIFY, 400),
    ("issued-in-the-future", _times(3600, 600), VERIFY, 400),
    ("issued-long-ago", _times(3600, -3 * 3600), VERIFY, 400),
    ("missing-exp", _drop("exp"), VERIFY, 400),
    ("missing-iat", _drop("iat"), VERIFY, 400),
    ("missing-nonce", _drop("nonce"), VERIFY, 400),
    ("nonce-never-issued", _set("nonce", "made-up-nonce"), "This launch was already used", 400),
    ("wrong-audience", _set("aud", ["someone-else"]), NOT_REGISTERED, 403),
    ("extra-audience-without-azp", _several_audiences, VERIFY, 400),
    ("unknown-deployment", _set(CLAIM + "deployment_id", "99:nope"), "installation", 403),
    ("unknown-issuer", _set("iss", "https://evil.example"), NOT_REGISTERED, 403),
    ("unknown-client-id", _set("aud", "not-our-client"), NOT_REGISTERED, 403),
]


@pytest.mark.parametrize(
    ("edit", "title", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("kind", ["canvas", "moodle"])
def test_a_bad_launch_is_refused_and_creates_nothing(
    kind, edit, title, status, lms_platform, alpha_school, lti_client, course, request
):
    lms = request.getfixturevalue(kind)
    tool = lti_client(lms)
    before = _counts()
    response = tool.launch(teacher(kind), course, edit=lambda claims: edit(lms, claims))
    _assert_refused(tool, response, title, status)
    assert _counts() == before


def test_a_replayed_launch_is_refused(canvas, lti_client, course):
    tool = lti_client(canvas)
    auth = tool.start(teacher())
    token = canvas.id_token(user=teacher(), course=course, nonce=auth["nonce"])
    assert tool.post_launch(token, auth["state"]).status_code == 302
    tool.client.post("/accounts/logout/")
    before = _counts()
    response = tool.post_launch(token, auth["state"])
    _assert_refused(tool, response, "This launch was already used")
    assert _counts() == before


def test_a_launch_with_another_browsers_state_is_refused(canvas, lti_client, course, client_for):
    tool = lti_client(canvas)
    auth = tool.start(student())
    token = canvas.id_token(user=student(), course=course, nonce=auth["nonce"])
    # Posted from a browser that never started this login (no state cookie): login CSRF.
    other = lti_client(canvas)
    before = _counts()
    response = other.post_launch(token, auth["state"])
    _assert_refused(other, response, "did not keep DreamSeed")
    assert _counts() == before


def test_a_launch_with_a_wrong_state_is_refused(canvas, lti_client, course):
    tool = lti_client(canvas)
    auth = tool.start(student())
    token = canvas.id_token(user=student(), course=course, nonce=auth["nonce"])
    tool.client.cookies[f"lti1p3-{auth['state']}"] = "state-forged"
    response = tool.post_launch(token, auth["state"])
    _assert_refused(tool, response, "does not match its sign-in")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"state": "x"},
        {"id_token": "not-a-jwt", "state": "x"},
        {"id_token": "a.b.c", "state": "x"},
    ],
    ids=["nothing", "no-id-token", "garbage", "undecodable"],
)
def test_a_launch_post_without_a_usable_token_is_refused(canvas, lti_client, data):
    tool = lti_client(canvas)
    before = _counts()
    response = tool.client.post("/lti/launch/", data)
    assert response.status_code == 400
    assert b"The launch message cannot be read" in response.content
    assert _counts() == before


def test_a_launch_needs_a_post(canvas, client_for):
    # A GET is explained (test_in_the_frame); other methods are refused.
    assert client_for(host="alpha.localhost").delete("/lti/launch/").status_code == 405


@pytest.mark.parametrize(
    ("params", "title"),
    [
        ({"iss": None}, "sign-in request is incomplete"),
        ({"login_hint": None}, "sign-in request is incomplete"),
        ({"iss": "https://evil.example"}, NOT_REGISTERED),
        ({"client_id": "not-our-client"}, NOT_REGISTERED),
        ({"lti_deployment_id": "99:nope"}, "installation is not registered"),
        ({"target_link_uri": "https://phishing.example/x"}, INCOMPLETE),
    ],
    ids=["no-issuer", "no-login-hint", "unknown-issuer", "unknown-client", "unknown-deployment",
         "target-elsewhere"],
)  # fmt: skip
def test_a_bad_login_initiation_is_refused(canvas, lti_client, params, title):
    tool = lti_client(canvas)
    response = tool.login(teacher(), **params)
    assert response.status_code in (400, 403)
    assert title in response.content.decode()
    assert not any(name.startswith("lti1p3-") for name in response.cookies)
