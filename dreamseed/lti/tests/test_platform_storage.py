"""The OIDC state kept in the LMS's storage (1EdTech LTI Client Side postMessages) instead of a
cookie: what the login page gets, the launch page that reads the state back, and the second post
that only a page of DreamSeed's own origin can make, once, with the nonce issued for that state.
(The browser side, against a Canvas-shaped LMS: test_browser_platform_storage.py.)"""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from dreamseed.lti.models import LtiIdentity
from dreamseed.lti.tests.conftest import student, teacher

FRAME = {"Sec-Fetch-Dest": "iframe"}
OUR_ORIGIN = {"Origin": "http://alpha.localhost"}


def _attr(html: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, name
    return unescape(match.group(1))


class StorageLaunch:
    """A login in the LMS's frame with `lti_storage_target`, as the test client."""

    def __init__(self, tool, user, course):
        self.tool, self.user, self.course = tool, user, course
        response = tool.login(
            user, new_window=False, headers=FRAME, lti_storage_target="post_message_forwarding"
        )
        assert response.status_code == 200, response.content.decode()[:2000]
        self.login_page = response
        html = response.content.decode()
        self.state = _attr(html, "data-storage-state")
        self.nonce = _attr(html, "data-storage-nonce")
        self.auth_url = _attr(html, "data-storage-url")
        self.origin = _attr(html, "data-storage-origin")
        self.target = _attr(html, "data-storage-target")

    def token(self, **claims):
        return self.tool.lms.id_token(
            user=self.user, course=self.course, nonce=self.nonce, **claims
        )

    def post(self, token, *, checked: bool, headers=None, state=None):
        data = {"id_token": token, "state": state or self.state}
        data["lti_storage_target"] = self.target
        if checked:
            data["lti_storage_checked"] = "1"
        return self.tool.client.post("/lti/launch/", data, headers=headers)


@pytest.fixture
def storage_launch(canvas, lti_client, course):
    tool = lti_client(canvas)
    return lambda user=None: StorageLaunch(tool, user or student(), course)


def test_the_login_page_carries_the_state_for_the_lms_storage(storage_launch, canvas):
    launch = storage_launch()
    assert launch.origin == canvas.platform.base_url  # the OIDC authorization URL's origin
    assert launch.target == "post_message_forwarding"
    query = parse_qs(urlsplit(launch.auth_url).query)
    assert launch.auth_url.startswith(canvas.auth_login_url)
    assert query["state"] == [launch.state] and query["nonce"] == [launch.nonce]
    # No state cookie: the frame would drop it anyway.
    assert not [name for name in launch.login_page.cookies if name.startswith("lti1p3-")]
    assert "js/lti-platform-storage.js" in launch.login_page.content.decode()


def test_a_login_without_a_storage_target_offers_no_storage(canvas, lti_client, course):
    tool = lti_client(canvas)
    for target in (None, '"><script>', "x" * 101):
        response = tool.login(student(), new_window=False, headers=FRAME, lti_storage_target=target)
        assert response.status_code == 200
        assert "data-storage-state" not in response.content.decode()


def test_the_launch_reads_the_state_back_then_finishes_once(storage_launch):
    launch = storage_launch()
    token = launch.token()
    page = launch.post(token, checked=False)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="lti-storage-check"' in html
    assert _attr(html, "data-state") == launch.state
    assert _attr(html, "data-nonce") == launch.nonce
    assert _attr(html, "data-origin") == launch.origin
    assert not LtiIdentity.objects.exists()  # nothing before the check
    # An LMS that leaves the target out of the launch: the login's one is used.
    without = launch.tool.client.post("/lti/launch/", {"id_token": token, "state": launch.state})
    assert _attr(without.content.decode(), "data-target") == "post_message_forwarding"

    done = launch.post(token, checked=True, headers=OUR_ORIGIN)
    assert done.status_code == 302, done.content.decode()[:2000]
    assert done["Location"].startswith("/lti/continue/")
    assert LtiIdentity.objects.filter(sub="s-200").exists()
    # The frame keeps no ordinary third-party cookie: the session's go out Partitioned (CHIPS).
    header = done.cookies[settings.SESSION_COOKIE_NAME].OutputString()
    assert "Partitioned" in header and "SameSite=None" in header and "Secure" in header

    again = launch.post(token, checked=True, headers=OUR_ORIGIN)
    assert again.status_code == 400
    assert b"The launch does not match its sign-in" in again.content


@pytest.mark.parametrize(
    "headers", [None, {"Origin": "https://attacker.example"}, {"Origin": "null"}]
)
def test_a_storage_checked_post_from_another_origin_is_refused(storage_launch, headers):
    # An attacker's page can post a form to the launch URL, but not with our Origin.
    launch = storage_launch()
    response = launch.post(launch.token(), checked=True, headers=headers)
    assert response.status_code == 400
    assert b"The launch does not match its sign-in" in response.content
    assert not LtiIdentity.objects.exists()
    # The state is still good for the real page's post.
    assert launch.post(launch.token(), checked=True, headers=OUR_ORIGIN).status_code == 302


def test_a_state_not_issued_for_storage_is_refused(storage_launch, lti_client, canvas):
    launch = storage_launch()
    cookie_state = lti_client(canvas).start(student())["state"]  # an ordinary cookie login
    response = launch.post(launch.token(), checked=True, headers=OUR_ORIGIN, state=cookie_state)
    assert response.status_code == 400
    assert not LtiIdentity.objects.exists()


def test_an_id_token_with_another_nonce_is_refused(storage_launch, canvas):
    launch = storage_launch()
    other = canvas.id_token(user=launch.user, course=launch.course, nonce="f" * 64)
    response = launch.post(other, checked=True, headers=OUR_ORIGIN)
    assert response.status_code == 400
    assert b"The launch does not match its sign-in" in response.content
    assert not LtiIdentity.objects.exists()


def test_a_state_from_another_school_is_unknown_here(storage_launch, client_for, personas):
    launch = storage_launch()
    beta = client_for(host=personas["beta_admin"].host)
    data = {
        "id_token": launch.token(),
        "state": launch.state,
        "lti_storage_target": launch.target,
        "lti_storage_checked": "1",
    }
    origin = {"Origin": f"http://{personas['beta_admin'].host}"}
    response = beta.post("/lti/launch/", data, headers=origin)
    assert response.status_code == 400
    assert not LtiIdentity.objects.exists()


def test_over_https_the_picker_opens_after_a_storage_launch(canvas, lti_client, course):
    # No pylti1p3 session-id cookie in this frame: the picker reads the launch without it.
    tool = lti_client(canvas, secure=True)
    launch = StorageLaunch(tool, teacher(), course)
    token = launch.token(message_type="LtiDeepLinkingRequest")
    data = {
        "id_token": token,
        "state": launch.state,
        "lti_storage_target": launch.target,
        "lti_storage_checked": "1",
    }
    done = tool.client.post(
        "/lti/launch/", data, secure=True, headers={"Origin": "https://alpha.localhost"}
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    picker = tool.follow(done)
    assert picker.startswith("/lti/deep-link/")
    page = tool.client.get(picker, secure=True)
    assert page.status_code == 200, page.content.decode()[:2000]
    assert "Add a DreamSeed test" in page.content.decode()
