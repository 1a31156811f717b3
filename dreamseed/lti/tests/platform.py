"""A simulated LMS for the LTI tests: a real HTTP server on 127.0.0.1 (in a thread of the test
process) playing Canvas and Moodle, each with its own RSA keys and endpoints.

What it serves, per LMS (under /canvas/... or /moodle/..., with each product's URL shapes):
- its JWKS (the tool fetches it to verify id_tokens);
- the OIDC authorization endpoint: checks client_id and redirect_uri, then answers with an
  auto-submitting form POSTing the id_token and state to the tool (the browser tests use it);
- a course page with the tool in an iframe, and the login initiation form inside it;
- the token endpoint: client_credentials with a JWT assertion signed by the tool, checked against
  the tool's JWKS, granting the requested scopes the LMS allows;
- Assignment and Grade Services line items and scores (scores are recorded; the LMS can be told
  to answer 503 a number of times), Names and Role Provisioning members (paginated), and the
  deep-linking return endpoint (records the signed response). Moodle's return page, like the real
  contentitem_return.php, only finishes inside the frame that opened the tool: it calls the
  course page's processContentItemReturnData(), which saves the activity; in any other window
  (the tool's own new window) it fails with Moodle's TypeError and nothing is saved.

Tests that drive the tool with Django's test client build id_tokens directly with `claims()`
and `sign()`: shaped like Canvas's or Moodle's, each claim can be changed or removed.
"""

import html
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/"
SCOPE_LINEITEM = AGS + "scope/lineitem"
SCOPE_LINEITEM_READONLY = AGS + "scope/lineitem.readonly"
SCOPE_RESULT = AGS + "scope/result.readonly"
SCOPE_SCORE = AGS + "scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS]

CANVAS_TEACHER = [
    LIS + "institution/person#Instructor",
    LIS + "membership#Instructor",
    LIS + "system/person#User",
]
CANVAS_STUDENT = [
    LIS + "institution/person#Student",
    LIS + "membership#Learner",
    LIS + "system/person#User",
]
CANVAS_ADMIN = [LIS + "institution/person#Administrator", *CANVAS_TEACHER]
MOODLE_TEACHER = [LIS + "membership#Instructor"]
MOODLE_STUDENT = [LIS + "membership#Learner"]
MOODLE_ADMIN = [LIS + "institution/person#Administrator", LIS + "membership#Instructor"]


@dataclass
class LmsUser:
    sub: str
    roles: list[str]
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    email: str | None = None

    def personal(self) -> dict:
        data = {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "name": self.name,
            "email": self.email,
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass
class LmsCourse:
    id: str
    title: str = "Algebra 7 (Period 2)"
    label: str = "ALG7-2"


@dataclass
class SigningKey:
    kid: str
    private_pem: str
    public_jwk: dict

    @classmethod
    def new(cls, kid: str | None = None) -> "SigningKey":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kid = kid or uuid.uuid4().hex
        public = json.loads(JWK.from_pem(public_pem).export_public())
        public.update({"kid": kid, "alg": "RS256", "use": "sig"})
        return cls(kid=kid, private_pem=private_pem, public_jwk=public)


@dataclass
class Launch:
    """What the LMS will put in the id_token when its authorization endpoint is reached."""

    user: LmsUser
    course: LmsCourse | None
    options: dict = field(default_factory=dict)


class Lms:
    """One simulated LMS. Canvas: a fixed issuer (https://canvas.instructure.com) and a long
    numeric client id; Moodle: the site address as issuer, services under /mod/lti/."""

    def __init__(self, platform: "TestPlatform", kind: str):
        self.platform = platform
        self.kind = kind
        self.base = f"{platform.base_url}/{kind}"
        if kind == "canvas":
            self.issuer = "https://canvas.instructure.com"
            self.client_id = "10000000000042"
            self.deployment_id = "42:4dde05e8ca1973bcca9bffc13e1548820eee93a3"
            self.auth_login_url = self.base + "/api/lti/authorize_redirect"
            self.token_url = self.base + "/login/oauth2/token"
            self.jwks_url = self.base + "/api/lti/security/jwks"
        else:
            self.issuer = self.base
            self.client_id = "aB3dE5fG7hI9jK1"
            self.deployment_id = "1"
            self.auth_login_url = self.base + "/mod/lti/auth.php"
            self.token_url = self.base + "/mod/lti/token.php"
            self.jwks_url = self.base + "/mod/lti/certs.php"
        self.keys = [SigningKey.new()]
        self.scopes_allowed = set(ALL_SCOPES)
        self.tool_jwks: dict | None = None  # the tool's public keys, for client assertions
        self.tool_login_url = ""
        self.tool_launch_url = ""
        self.launches: dict[str, Launch] = {}
        self.scores: list[dict] = []  # {"url", "content_type", "payload"}
        self.score_failures: list[int] = []  # statuses to answer the next score posts with
        self.lineitems: dict[str, dict] = {}
        self.members: dict[str, list[dict]] = {}
        self.members_page_size = 2
        self.token_requests: list[dict] = []
        self.deep_link_responses: list[dict] = []  # every verified response posted to us
        self.saved_activities: list[dict] = []  # what the course page actually saved (Moodle)
        # LTI Dynamic Registration: tokens the LMS handed out (single use), requests received.
        self.registration_tokens: set[str] = set()
        self.registrations: list[dict] = []
        # LTI Client Side postMessages platform storage, as Canvas offers it (off: the LMS
        # names no storage target and answers no lti.capabilities). `storage_lies`: the
        # storage frame answers lti.get_data with another value than the one stored.
        self.platform_storage = kind == "canvas"
        self.storage_lies = False
        self.lock = threading.Lock()

    # --- URLs in this LMS's shape ---

    @property
    def openid_configuration_url(self) -> str:
        if self.kind == "canvas":
            return f"{self.base}/api/lti/security/openid-configuration"
        return f"{self.base}/mod/lti/openid-configuration.php"

    @property
    def registration_endpoint(self) -> str:
        if self.kind == "canvas":
            return f"{self.base}/api/lti/registrations"
        return f"{self.base}/mod/lti/openid-registration.php"

    def start_registration(self) -> str:
        """An admin pasted the tool's registration URL: the token the LMS sends with it."""
        token = secrets.token_urlsafe(24)
        self.registration_tokens.add(token)
        return token

    def openid_configuration(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.auth_login_url,
            "token_endpoint": self.token_url,
            "jwks_uri": self.jwks_url,
            "registration_endpoint": self.registration_endpoint,
            "scopes_supported": ["openid", *ALL_SCOPES],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "aud", "sub", "name", "given_name", "family_name", "email"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": self.kind,
                "version": "cloud" if self.kind == "canvas" else "4.3",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest"},
                    {"type": "LtiDeepLinkingRequest"},
                ],
                "variables": [],
            },
        }

    def lineitems_url(self, course_id: str) -> str:
        if self.kind == "canvas":
            return f"{self.base}/api/lti/courses/{course_id}/line_items"
        return f"{self.base}/mod/lti/services.php/{course_id}/lineitems?type_id=1"

    def lineitem_url(self, course_id: str, item_id: str) -> str:
        if self.kind == "canvas":
            return f"{self.base}/api/lti/courses/{course_id}/line_items/{item_id}"
        return (
            f"{self.base}/mod/lti/services.php/{course_id}/lineitems/{item_id}/lineitem?type_id=1"
        )

    def memberships_url(self, course_id: str) -> str:
        if self.kind == "canvas":
            return f"{self.base}/api/lti/courses/{course_id}/names_and_roles"
        return f"{self.base}/mod/lti/services.php/CourseSection/{course_id}/bindings/1/memberships"

    def deep_link_return_url(self, course_id: str) -> str:
        if self.kind == "canvas":
            return f"{self.base}/courses/{course_id}/deep_linking_response"
        return f"{self.base}/mod/lti/contentitem_return.php?course={course_id}&id=1"

    # --- id_tokens ---

    def claims(
        self,
        *,
        user: LmsUser,
        course: LmsCourse | None = None,
        nonce: str | None = None,
        message_type: str = "LtiResourceLinkRequest",
        resource_link_id: str = "rl-0001",
        resource_title: str = "Fractions check-in",
        custom: dict | None = None,
        target_link_uri: str | None = None,
        ags: bool = True,
        ags_scopes: list[str] | None = None,
        lineitem_id: str | None = "7",
        nrps: bool = True,
        deployment_id: str | None = None,
        now: float | None = None,
    ) -> dict:
        now = time.time() if now is None else now
        claims: dict = {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": user.sub,
            "exp": int(now) + (3600 if self.kind == "canvas" else 60),
            "iat": int(now),
            "nonce": nonce or secrets.token_hex(16),
            CLAIM + "message_type": message_type,
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": deployment_id or self.deployment_id,
            CLAIM + "target_link_uri": target_link_uri or self.tool_launch_url,
            CLAIM + "roles": list(user.roles),
            CLAIM + "custom": dict(custom or {}),
            **user.personal(),
        }
        if message_type == "LtiResourceLinkRequest":
            claims[CLAIM + "resource_link"] = {
                "id": resource_link_id,
                "title": resource_title,
                "description": "",
            }
        if course is not None:
            kind = [LIS + "course#CourseOffering"] if self.kind == "canvas" else ["CourseSection"]
            claims[CLAIM + "context"] = {
                "id": course.id,
                "label": course.label,
                "title": course.title,
                "type": kind,
            }
            if ags:
                endpoint = {
                    "scope": list(ALL_SCOPES[:4] if ags_scopes is None else ags_scopes),
                    "lineitems": self.lineitems_url(course.id),
                }
                if lineitem_id and message_type == "LtiResourceLinkRequest":
                    endpoint["lineitem"] = self.lineitem_url(course.id, lineitem_id)
                    self.lineitems.setdefault(
                        endpoint["lineitem"],
                        {"id": endpoint["lineitem"], "label": resource_title, "scoreMaximum": 100,
                         "resourceLinkId": resource_link_id},
                    )  # fmt: skip
                claims[AGS + "claim/endpoint"] = endpoint
            if nrps:
                claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
                    "context_memberships_url": self.memberships_url(course.id),
                    "service_versions": ["2.0"] if self.kind == "canvas" else ["1.0", "2.0"],
                }
        if message_type == "LtiDeepLinkingRequest":
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": self.deep_link_return_url(course.id if course else "0"),
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_media_types": "application/vnd.ims.lti.v1.ltilink",
                "accept_multiple": False,
                "auto_create": True,
                "data": "opaque-" + secrets.token_hex(4),
            }
        if self.kind == "canvas":
            claims.update(
                {
                    "locale": "en",
                    "picture": "https://canvas.instructure.com/images/messages/avatar-50.png",
                    "https://www.instructure.com/placement": "assignment_selection"
                    if message_type == "LtiDeepLinkingRequest"
                    else "link_selection",
                    CLAIM + "lti11_legacy_user_id": uuid.uuid4().hex,
                    CLAIM + "lti1p1": {"user_id": uuid.uuid4().hex},
                    CLAIM + "tool_platform": {
                        "guid": "OKXOKnw5wZK4uR38N3rDFgMM8aVsLjVe2OeTjyNs:canvas-lms",
                        "name": "Springfield Public Schools",
                        "version": "cloud",
                        "product_family_code": "canvas",
                        "validation_context": None,
                        "errors": {"errors": {}},
                    },
                    CLAIM + "launch_presentation": {
                        "document_target": "iframe",
                        "return_url": f"{self.base}/courses/1/external_content/success/"
                        "external_tool_redirect",
                        "locale": "en",
                        "height": 400,
                        "width": 800,
                    },
                    "errors": {"errors": {}},
                }
            )
            if CLAIM + "context" in claims:
                claims[CLAIM + "lis"] = {
                    "person_sourcedid": None,
                    "course_offering_sourcedid": None,
                    "validation_context": None,
                    "errors": {"errors": {}},
                }
        else:
            claims.update(
                {
                    CLAIM + "ext": {"user_username": f"user{user.sub}", "lms": "moodle-2"},
                    CLAIM + "tool_platform": {
                        "product_family_code": "moodle",
                        "version": "2024100700",
                        "guid": "moodle.springfield.example",
                        "name": "Springfield Moodle",
                        "description": "Springfield Moodle",
                    },
                    CLAIM + "launch_presentation": {
                        "locale": "en",
                        "document_target": "iframe",
                        "return_url": f"{self.base}/mod/lti/return.php?course=2&launch_container=3",
                    },
                    CLAIM + "lis": {"person_sourcedid": "", "course_section_sourcedid": ""},
                }
            )
        return claims

    def sign(self, claims: dict, *, key: SigningKey | None = None, headers=None) -> str:
        key = key or self.keys[0]
        header = {"kid": key.kid, "typ": "JWT"}
        header.update(headers or {})
        header = {name: value for name, value in header.items() if value is not None}
        return jwt.encode(claims, key.private_pem, algorithm="RS256", headers=header)

    def id_token(self, **kwargs) -> str:
        return self.sign(self.claims(**kwargs))

    # --- Browser launches ---

    def prepare_launch(self, user: LmsUser, course: LmsCourse | None = None, **options) -> str:
        """Remember what to launch; returns the lti_message_hint naming it."""
        hint = secrets.token_hex(8)
        self.launches[hint] = Launch(user=user, course=course, options=options)
        return hint

    def course_page_url(self, hint: str) -> str:
        return f"{self.base}/course?hint={hint}"

    # --- Services, as the handler calls them ---

    def check_assertion(self, assertion: str) -> str | None:
        """None if the tool's client assertion is good, else what is wrong."""
        if not self.tool_jwks:
            return "the LMS does not know the tool's keys"
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            key = next(k for k in self.tool_jwks["keys"] if k.get("kid") == kid)
            public = JWK.from_json(json.dumps(key)).export_to_pem()
            body = jwt.decode(
                assertion, public, algorithms=["RS256"], audience=self.token_url,
                options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
            )  # fmt: skip
        except (StopIteration, jwt.InvalidTokenError, ValueError) as error:
            return f"bad client assertion: {error}"
        if body["iss"] != self.client_id or body["sub"] != self.client_id:
            return "client assertion is not from our client"
        return None

    def verify_tool_jwt(self, token: str) -> dict:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next(k for k in (self.tool_jwks or {"keys": []})["keys"] if k.get("kid") == kid)
        public = JWK.from_json(json.dumps(key)).export_to_pem()
        return jwt.decode(token, public, algorithms=["RS256"], audience=self.issuer)


class TestPlatform:
    """The HTTP server holding both LMSs."""

    __test__ = False  # not a pytest class

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.platform = self
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.tokens: dict[str, tuple[Lms, set[str]]] = {}
        self.canvas = Lms(self, "canvas")
        self.moodle = Lms(self, "moodle")
        self.requests: list[tuple[str, str]] = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def lms(self, kind: str) -> Lms:
        return self.canvas if kind == "canvas" else self.moodle

    def start(self) -> "TestPlatform":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _auto_post(action: str, fields: dict, title: str) -> bytes:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in fields.items()
    )
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
        f'<form id="f" method="post" action="{html.escape(action)}">{inputs}'
        f'<button type="submit">Continue</button></form>'
        f'<script>document.getElementById("f").submit()</script></body></html>'
    ).encode()


# The course page's part of Moodle's deep-linking return: the activity form is filled (and, here,
# saved) by this function of the page that holds the tool's frame.
_PROCESS_CONTENT_ITEM = """<script>
window.processContentItemReturnData = function (items) {
  var added = document.getElementById("added");
  added.textContent = "Activity added: " + items.map(function (i) { return i.title; }).join(", ");
  added.hidden = false;
  var saved = location.pathname.replace(/\\/course$/, "/activity_saved");
  fetch(saved, {method: "POST", body: JSON.stringify({items: items})});
};
</script>"""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _capabilities_script(tool_origin: str) -> str:
    """The LMS page answers lti.capabilities: storage lives in the post_message_forwarding
    frame."""
    return (
        "<script>window.addEventListener('message', function (event) {"
        " var data = event.data;"
        " if (!data || data.subject !== 'lti.capabilities') return;"
        f" if (event.origin !== {json.dumps(tool_origin)}) return;"
        " event.source.postMessage({subject: 'lti.capabilities.response',"
        " message_id: data.message_id, supported_messages: ["
        " {subject: 'lti.capabilities'},"
        " {subject: 'lti.put_data', frame: 'post_message_forwarding'},"
        " {subject: 'lti.get_data', frame: 'post_message_forwarding'}]}, event.origin);"
        "});</script>"
    )


def _forwarding_page(lms: "Lms") -> bytes:
    """Canvas's post_message_forwarding frame: keeps each tool origin's data apart, answers only
    the registered tool's origin, and replies to that origin alone."""
    tool_origin = json.dumps(_origin(lms.tool_login_url))
    lie = "true" if lms.storage_lies else "false"
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>forwarding</title></head><body>'
        "<script>var store = {}; var lie = " + lie + ";"
        "window.addEventListener('message', function (event) {"
        " var data = event.data;"
        " if (!data || typeof data !== 'object') return;"
        " if (event.origin !== " + tool_origin + ") {"
        "  event.source && event.source.postMessage({subject: data.subject + '.response',"
        "   message_id: data.message_id, error: {code: 'bad_origin'}}, event.origin);"
        "  return; }"
        " var mine = store[event.origin] = store[event.origin] || {};"
        " if (data.subject === 'lti.put_data') {"
        "  mine[data.key] = data.value;"
        "  event.source.postMessage({subject: 'lti.put_data.response', message_id: data.message_id,"
        "   key: data.key, value: data.value}, event.origin);"
        " } else if (data.subject === 'lti.get_data') {"
        "  var value = data.key in mine ? mine[data.key] : null;"
        "  if (lie && value !== null) value = value + '-forged';"
        "  event.source.postMessage({subject: 'lti.get_data.response', message_id: data.message_id,"
        "   key: data.key, value: value}, event.origin);"
        " }"
        "});</script></body></html>"
    ).encode()


def _moodle_return_page(items: list) -> bytes:
    """contentitem_return.php: hands the items to the page that opened the tool's frame."""
    data = json.dumps(items).replace("<", "\\u003c")
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Content item return</title>'
        "</head><body>"
        "<p id='status'>Adding…</p><script>"
        f"var items = {data};"
        "try { window.parent.processContentItemReturnData(items);"
        " if (window.parent === window) { throw new TypeError('no parent'); } }"
        " catch (error) { document.getElementById('status').textContent ="
        " 'TypeError: window.processContentItemReturnData is not a function'; }"
        "</script></body></html>"
    ).encode()


REGISTRATION_FIELDS = (
    "application_type",
    "response_types",
    "grant_types",
    "initiate_login_uri",
    "redirect_uris",
    "jwks_uri",
    "token_endpoint_auth_method",
    "domain",
    "target_link_uri",
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    @property
    def platform(self) -> TestPlatform:
        return self.server.platform

    def _send(self, status: int, body: bytes = b"", content_type="text/html", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data, content_type="application/json", headers=None):
        self._send(status, json.dumps(data).encode(), content_type, headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self._body().decode()).items()}

    def _route(self, method: str):
        parts = urlsplit(self.path)
        self.platform.requests.append((method, self.path))
        match = re.match(r"^/(canvas|moodle)(/.*)$", parts.path)
        if not match:
            return self._send(404, b"no such LMS")
        lms = self.platform.lms(match.group(1))
        path = match.group(2)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        url = f"{lms.platform.base_url}{self.path}"
        if path in ("/api/lti/security/jwks", "/mod/lti/certs.php"):
            return self._json(200, {"keys": [key.public_jwk for key in lms.keys]})
        if path in ("/api/lti/authorize_redirect", "/mod/lti/auth.php"):
            params = query if method == "GET" else self._form()
            return self._authorize(lms, params)
        if path == "/course":
            frame = f"{lms.base}/initiate?hint={query.get('hint', '')}"
            storage = ""
            if lms.platform_storage:
                # Canvas: a hidden frame on the OIDC origin keeps the tools' data; the course
                # page itself answers lti.capabilities.
                storage = (
                    f'<iframe name="post_message_forwarding" title="" hidden '
                    f'src="{lms.base}/post_message_forwarding"></iframe>'
                    + _capabilities_script(_origin(lms.tool_login_url))
                )
            body = (
                f"<!doctype html><html><head><title>{lms.kind} course</title></head><body>"
                f'<h1>Course page</h1><h2 id="added" hidden></h2>{storage}'
                f'<iframe id="tool" title="DreamSeed" src="{frame}" '
                f'width="1000" height="700"></iframe>{_PROCESS_CONTENT_ITEM}</body></html>'
            )
            return self._send(200, body.encode())
        if path == "/post_message_forwarding" and lms.platform_storage:
            return self._send(200, _forwarding_page(lms))
        if path == "/activity_saved" and method == "POST":
            lms.saved_activities.append(json.loads(self._body() or b"{}"))
            return self._json(200, {"saved": True})
        if path == "/initiate":
            return self._initiate(lms, query.get("hint", ""))
        if path in ("/api/lti/security/openid-configuration", "/mod/lti/openid-configuration.php"):
            if self._registration_token(lms, consume=False) is None:
                return self._json(401, {"error": "invalid registration token"})
            return self._json(200, lms.openid_configuration())
        if path in ("/api/lti/registrations", "/mod/lti/openid-registration.php"):
            return self._register(lms, method)
        if path in ("/login/oauth2/token", "/mod/lti/token.php") and method == "POST":
            return self._token(lms, self._form())
        if re.search(r"/(line_items|lineitems)$", path):
            return self._lineitems(lms, method, url)
        if re.search(r"/(line_items/[^/]+|lineitems/[^/]+/lineitem)/scores$", path):
            return self._score(lms, url)
        if re.search(r"/(line_items/[^/]+|lineitems/[^/]+/lineitem)$", path):
            return self._lineitem(lms, url)
        if re.search(r"/(names_and_roles|memberships)$", path.lower()):
            return self._members(lms, path, query, url)
        if re.search(r"(deep_linking_response|contentitem_return\.php)$", path):
            return self._deep_link_return(lms)
        return self._send(404, b"not found")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    # --- OIDC ---

    def _initiate(self, lms: Lms, hint: str):
        launch = lms.launches.get(hint)
        if launch is None:
            return self._send(404, b"no such launch")
        fields = {
            "iss": lms.issuer,
            "login_hint": launch.user.sub,
            "target_link_uri": lms.tool_launch_url,
            "lti_message_hint": hint,
            "client_id": lms.client_id,
            "lti_deployment_id": lms.deployment_id,
        }
        if lms.kind == "canvas":
            fields["canvas_region"] = "not_configured"
            fields["lti_storage_target"] = (
                "post_message_forwarding" if lms.platform_storage else "_parent"
            )
        return self._send(200, _auto_post(lms.tool_login_url, fields, "Launching"))

    def _authorize(self, lms: Lms, params: dict):
        problems = []
        if params.get("client_id") != lms.client_id:
            problems.append("unknown client_id")
        if params.get("redirect_uri") != lms.tool_launch_url:
            problems.append("redirect_uri not registered")
        for name, wanted in (
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
            ("prompt", "none"),
        ):
            if params.get(name) != wanted:
                problems.append(f"{name} must be {wanted}")
        launch = lms.launches.get(params.get("lti_message_hint", ""))
        if launch is None or params.get("login_hint") != launch.user.sub:
            problems.append("no launch for these hints")
        if not params.get("nonce") or not params.get("state"):
            problems.append("state and nonce are required")
        if problems:
            return self._send(400, ("; ".join(problems)).encode(), "text/plain")
        token = lms.id_token(
            user=launch.user, course=launch.course, nonce=params["nonce"], **launch.options
        )
        fields = {"id_token": token, "state": params["state"]}
        if lms.platform_storage:
            fields["lti_storage_target"] = "post_message_forwarding"
        return self._send(200, _auto_post(params["redirect_uri"], fields, "Signing in"))

    # --- LTI Dynamic Registration ---

    def _registration_token(self, lms: Lms, *, consume: bool) -> str | None:
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        with lms.lock:
            if token not in lms.registration_tokens:
                return None
            if consume:
                lms.registration_tokens.discard(token)
        return token

    def _register(self, lms: Lms, method: str):
        if method != "POST":
            return self._json(405, {"error": "POST only"})
        body = self._body()
        if self._registration_token(lms, consume=True) is None:
            return self._json(401, {"error": "invalid registration token"})
        if self.headers.get("Content-Type") != "application/json":
            return self._json(415, {"error": "application/json required"})
        try:
            request = json.loads(body)
        except ValueError:
            return self._json(400, {"error": "invalid_client_metadata"})
        tool = request.get("https://purl.imsglobal.org/spec/lti-tool-configuration") or {}
        problems = [
            name
            for name in REGISTRATION_FIELDS
            if not self._registration_field_ok(request, tool, name)
        ]
        if problems:
            return self._json(
                400,
                {"error": "invalid_client_metadata", "error_description": ", ".join(problems)},
            )
        lms.registrations.append(request)
        lms.tool_login_url = request["initiate_login_uri"]
        lms.tool_launch_url = request["redirect_uris"][0]
        answer = {
            **request,
            "client_id": lms.client_id,
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                **tool,
                "deployment_id": lms.deployment_id,
            },
        }
        return self._json(200, answer)

    @staticmethod
    def _registration_field_ok(request: dict, tool: dict, name: str) -> bool:
        checks = {
            "application_type": lambda: request.get("application_type") == "web",
            "response_types": lambda: request.get("response_types") == ["id_token"],
            "grant_types": lambda: (
                set(request.get("grant_types") or []) >= {"implicit", "client_credentials"}
            ),
            "initiate_login_uri": lambda: bool(request.get("initiate_login_uri")),
            "redirect_uris": lambda: bool(request.get("redirect_uris")),
            "jwks_uri": lambda: bool(request.get("jwks_uri")),
            "token_endpoint_auth_method": lambda: (
                request.get("token_endpoint_auth_method") == "private_key_jwt"
            ),
            "domain": lambda: bool(tool.get("domain")),
            "target_link_uri": lambda: bool(tool.get("target_link_uri")),
        }
        return checks[name]()

    # --- OAuth2 client credentials ---

    def _token(self, lms: Lms, form: dict):
        lms.token_requests.append(form)
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return self._json(400, {"error": "unsupported_grant_type"})
        problem = lms.check_assertion(form.get("client_assertion", ""))
        if problem:
            return self._json(401, {"error": "invalid_client", "error_description": problem})
        requested = set((form.get("scope") or "").split())
        granted = requested & lms.scopes_allowed
        if not granted:
            return self._json(400, {"error": "invalid_scope"})
        token = secrets.token_urlsafe(24)
        self.platform.tokens[token] = (lms, granted)
        return self._json(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": " ".join(sorted(granted)),
            },
        )

    def _scopes(self, lms: Lms) -> set[str]:
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        owner, scopes = self.platform.tokens.get(token, (None, set()))
        return scopes if owner is lms else set()

    # --- Assignment and Grade Services ---

    def _lineitems(self, lms: Lms, method: str, url: str):
        scopes = self._scopes(lms)
        container = url.split("?")[0]
        if method == "POST":
            if SCOPE_LINEITEM not in scopes:
                return self._json(403, {"error": "lineitem scope required"})
            item = json.loads(self._body() or b"{}")
            with lms.lock:
                number = len(lms.lineitems) + 100
            if lms.kind == "canvas":
                item["id"] = f"{container}/{number}"
            else:
                item["id"] = container.replace("/lineitems", f"/lineitems/{number}/lineitem")
                item["id"] += "?type_id=1"
            lms.lineitems[item["id"]] = item
            return self._json(201, item, "application/vnd.ims.lis.v2.lineitem+json")
        if not scopes & {SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY}:
            return self._json(403, {"error": "lineitem scope required"})
        items = [item for item in lms.lineitems.values() if item["id"].startswith(container)]
        return self._json(200, items, "application/vnd.ims.lis.v2.lineitemcontainer+json")

    def _lineitem(self, lms: Lms, url: str):
        if not self._scopes(lms) & {SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY}:
            return self._json(403, {"error": "lineitem scope required"})
        item = lms.lineitems.get(url)
        if item is None:
            return self._json(404, {"error": "no such line item"})
        return self._json(200, item, "application/vnd.ims.lis.v2.lineitem+json")

    def _score(self, lms: Lms, url: str):
        body = self._body()
        if SCOPE_SCORE not in self._scopes(lms):
            return self._json(401, {"error": "score scope required"})
        with lms.lock:
            failure = lms.score_failures.pop(0) if lms.score_failures else None
        if failure:
            return self._json(failure, {"error": "try again later"})
        if self.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
            return self._json(415, {"error": "score media type required"})
        payload = json.loads(body or b"{}")
        lms.scores.append(
            {"url": url, "content_type": self.headers.get("Content-Type"), "payload": payload}
        )
        return self._json(200, {"resultUrl": url.replace("/scores", "/results/1")})

    # --- Names and Role Provisioning ---

    def _members(self, lms: Lms, path: str, query: dict, url: str):
        if SCOPE_NRPS not in self._scopes(lms):
            return self._json(401, {"error": "membership scope required"})
        course_id = path.split("/")[4] if lms.kind == "canvas" else path.split("/")[5]
        members = lms.members.get(course_id, [])
        page = int(query.get("page", "1"))
        size = lms.members_page_size
        chunk = members[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(members):
            base = url.split("?")[0]
            next_query = {key: value for key, value in query.items() if key != "page"}
            next_query["page"] = str(page + 1)
            headers["Link"] = f'<{base}?{urlencode(next_query)}>; rel="next"'
        data = {"id": url, "context": {"id": course_id, "title": "Course"}, "members": chunk}
        return self._json(
            200, data, "application/vnd.ims.lti-nrps.v2.membershipcontainer+json", headers
        )

    # --- Deep linking ---

    def _deep_link_return(self, lms: Lms):
        form = self._form()
        try:
            claims = lms.verify_tool_jwt(form.get("JWT", ""))
        except Exception as error:  # what the LMS would show: the response was not accepted
            return self._send(400, f"bad deep linking response: {error}".encode(), "text/plain")
        lms.deep_link_responses.append(claims)
        if lms.kind != "moodle":
            return self._send(200, b"<!doctype html><title>Added</title><h1>Activity added</h1>")
        items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items") or []
        return self._send(200, _moodle_return_page(items))
