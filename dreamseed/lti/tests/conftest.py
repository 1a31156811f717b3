"""LTI test support: the simulated LMS, a school's registration of it, and a client that walks
the OIDC login and posts id_tokens the way the LMS's auto-submitting form would."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from dreamseed.lti.keys import tool_jwks
from dreamseed.lti.models import LtiContext, LtiDeployment, LtiPlatform, Vendor
from dreamseed.lti.tests.platform import (
    CANVAS_STUDENT,
    CANVAS_TEACHER,
    MOODLE_STUDENT,
    MOODLE_TEACHER,
    LmsCourse,
    LmsUser,
    TestPlatform,
)
from dreamseed.testing import in_schema


@pytest.fixture
def lms_platform():
    platform = TestPlatform().start()
    yield platform
    platform.stop()


def register(lms, school, *, tool_base: str, frame_origin: str | None = None) -> LtiPlatform:
    """Register `lms` at `school` (in its schema) and tell the LMS about the tool."""
    with in_schema(school.schema_name):
        connection.set_tenant(school)
        platform = LtiPlatform.objects.create(
            name=f"Springfield {lms.kind.title()}",
            vendor=Vendor.CANVAS if lms.kind == "canvas" else Vendor.MOODLE,
            issuer=lms.issuer,
            client_id=lms.client_id,
            auth_login_url=lms.auth_login_url,
            auth_token_url=lms.token_url,
            key_set_url=lms.jwks_url,
            frame_origins=frame_origin or lms.platform.base_url,
        )
        LtiDeployment.objects.create(platform=platform, deployment_id=lms.deployment_id)
        lms.tool_jwks = tool_jwks()
    lms.tool_login_url = f"{tool_base}/lti/login/"
    lms.tool_launch_url = f"{tool_base}/lti/launch/"
    return platform


class LtiClient:
    """Django's test client in the role of the browser between the LMS and DreamSeed."""

    def __init__(self, client, lms, host: str = "alpha.localhost", *, secure: bool = False):
        self.client = client
        self.lms = lms
        self.host = host
        self.secure = secure  # as if behind HTTPS: request.is_secure() is true

    def login(self, user: LmsUser, *, new_window: bool = True, headers=None, **extra):
        params = {
            "iss": self.lms.issuer,
            "login_hint": user.sub,
            "target_link_uri": self.lms.tool_launch_url,
            "lti_message_hint": "hint",
            "client_id": self.lms.client_id,
            "lti_deployment_id": self.lms.deployment_id,
        }
        if new_window:
            params["lti1p3_new_window"] = "1"
        params.update(extra)
        params = {key: value for key, value in params.items() if value is not None}
        return self.client.post("/lti/login/", params, secure=self.secure, headers=headers)

    def start(self, user: LmsUser) -> dict:
        """Login initiation; returns the authorization request's parameters (state, nonce…)."""
        response = self.login(user)
        assert response.status_code == 302, response.content.decode()[:2000]
        location = response["Location"]
        assert location.startswith(self.lms.auth_login_url), location
        return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}

    def launch(self, user: LmsUser, course: LmsCourse | None = None, *, edit=None, **claims):
        """A whole launch: login initiation, then the id_token post. `edit(claims)` may change
        the claims before they are signed; `sign=False` leaves signing to `edit`."""
        auth = self.start(user)
        body = self.lms.claims(user=user, course=course, nonce=auth["nonce"], **claims)
        token = None
        if edit is not None:
            token = edit(body)
        if token is None:
            token = self.lms.sign(body)
        return self.post_launch(token, auth["state"])

    def post_launch(self, token: str, state: str):
        data = {"id_token": token, "state": state}
        return self.client.post("/lti/launch/", data, secure=self.secure)

    def follow(self, response):
        """Follow a successful launch to the page it lands on (through /lti/continue/)."""
        assert response.status_code == 302, response.content.decode()[:3000]
        continued = self.client.get(response["Location"], secure=self.secure)
        assert continued.status_code == 302, continued.content.decode()[:3000]
        return continued["Location"]


@pytest.fixture
def alpha_school(personas, db):
    school = personas["alpha_admin"].school
    with in_schema(school.schema_name):
        connection.set_tenant(school)
        yield school


@pytest.fixture
def canvas(lms_platform, alpha_school):
    lms = lms_platform.canvas
    lms.registration = register(lms, alpha_school, tool_base="http://alpha.localhost")
    connection.set_tenant(alpha_school)
    return lms


@pytest.fixture
def moodle(lms_platform, alpha_school):
    lms = lms_platform.moodle
    lms.registration = register(lms, alpha_school, tool_base="http://alpha.localhost")
    connection.set_tenant(alpha_school)
    return lms


@pytest.fixture
def lti_client(client_for):
    def make(lms, host="alpha.localhost", *, secure=False):
        return LtiClient(client_for(host=host), lms, host, secure=secure)

    return make


@pytest.fixture
def course():
    return LmsCourse(id="course-501")


def teacher(kind="canvas", sub="t-100", **personal) -> LmsUser:
    personal.setdefault("given_name", "Grace")
    personal.setdefault("family_name", "Hopper")
    personal.setdefault("email", "grace@springfield.example")
    roles = CANVAS_TEACHER if kind == "canvas" else MOODLE_TEACHER
    return LmsUser(sub=sub, roles=list(roles), **personal)


def student(kind="canvas", sub="s-200", **personal) -> LmsUser:
    personal.setdefault("given_name", "Ada")
    personal.setdefault("family_name", "Lovelace")
    personal.setdefault("email", "ada@springfield.example")
    roles = CANVAS_STUDENT if kind == "canvas" else MOODLE_STUDENT
    return LmsUser(sub=sub, roles=list(roles), **personal)


class CommittedCourse:
    """For tests another process or thread must see (a worker, the live server): alpha registers
    `lms`, has a class linked to an LMS course and a test assigned to it, all committed. Call
    `cleanup()` afterwards: it removes all of it, and everyone the launches created."""

    def __init__(self, personas, lms, *, tool_base: str, course_id: str = "course-501"):
        from dreamseed.assessments.tests.factories import (
            make_assessment,
            make_assignment,
            make_bank,
            make_class,
        )

        alpha = personas["alpha_admin"]
        self.schema = alpha.schema_name
        self.lms = lms
        self.course = LmsCourse(id=course_id)
        self.registration = register(lms, alpha.school, tool_base=tool_base)
        with in_schema(self.schema):
            connection.set_tenant(alpha.school)
            teacher_user = personas["alpha_teacher"].user
            self.items = make_bank(n=30, seed=321)
            self.school_class = make_class(teacher=teacher_user, students=[], name="LMS class")
            self.assessment = make_assessment(
                author=teacher_user, name="Linked quiz", min_items=3, max_items=3
            )
            self.assignment = make_assignment(
                assessment=self.assessment, school_class=self.school_class
            )
            LtiContext.objects.create(
                platform=self.registration, context_id=course_id, school_class=self.school_class
            )

    @property
    def custom(self) -> dict:
        return {"dreamseed_assignment": str(self.assignment.pk)}

    def cleanup(self) -> None:
        from dreamseed.accounts.models import User
        from dreamseed.assessments.models import ExamSession
        from dreamseed.itembank.models import Item
        from dreamseed.lti.models import LtiIdentity, LtiToolKey

        with in_schema(self.schema):
            user_ids = list(
                LtiIdentity.objects.filter(platform=self.registration).values_list(
                    "user_id", flat=True
                )
            )
            ExamSession.objects.filter(assignment__school_class=self.school_class).delete()
            self.registration.delete()
            User.objects.filter(pk__in=user_ids).delete()
            self.assignment.delete()
            self.assessment.delete()
            self.school_class.delete()
            Item.objects.filter(pk__in=[item.pk for item in self.items]).update(
                current_version=None
            )
            for item in self.items:
                item.versions.all().delete()
                item.delete()
            LtiToolKey.objects.all().delete()
