"""Every URL of a school, found from the URL resolver (new routes are covered automatically),
requested with another school's object ids and by every kind of visitor.

What must hold for each route:
- nobody ever gets a 500;
- a visitor of school B (anonymous, student, teacher, admin) never sees school A's data, whatever
  ids they put in the URL;
- anonymous visitors get nothing but sign-in, public endpoints, or a redirect to sign in;
- students get 403/404/405 (or a redirect) on staff pages.
"""

import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from dreamseed.assessments.services import session_answer, session_start
from dreamseed.assessments.tests.factories import (
    make_assessment,
    make_assignment,
    make_bank,
    make_class,
)
from dreamseed.testing import in_schema, school_client

# Text that appears only in school A's data.
ALPHA_MARKERS = ["Alpha School", "teacher@alpha.example", "Tomas", "Isolation secret class"]

# Routes anyone may open without signing in (a prefix of the route's path).
ANONYMOUS_OK = (
    "accounts/login/",
    "accounts/password/reset/",
    "accounts/welcome/",
    "accounts/invitation/",
    "accounts/logout/",
    "i18n/",
    "api/schema/",
    "api/docs/",
    "api/token/",
    "lti/",
    "static/",
)
STAFF_PREFIXES = (
    "accounts/staff/",
    "tests/",
    "classes/",
    "items/",
    "reports/",
    "billing/",
    "lti/platforms",
    "privacy/",
)
STUDENT_OK_PREFIXES = (
    "tests/mine",
    "tests/take",
    "tests/session",
    "classes/join",
    "classes/mine",
    "reports/",
)


@dataclass(frozen=True)
class Route:
    path: str  # regex-ish pattern text, for messages
    name: str
    build: callable  # ids -> url


def _routes(resolver=None, prefix="") -> list[Route]:
    resolver = resolver or get_resolver("dreamseed.urls")
    routes = []
    for entry in resolver.url_patterns:
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _routes(entry, text)
        elif isinstance(entry, URLPattern):
            routes.append(Route(text, entry.name or "", _builder(text)))
    return routes


_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>(?P<regex>[^)]*)\)")


def _builder(text: str):
    def build(value):
        def substitute(match):
            conv, regex = match.group("conv"), match.group("regex")
            if regex is not None:
                words = regex.split("|")
                if len(words) > 1 and all(word.isalpha() for word in words):
                    return words[0]  # an alternation of literal words, e.g. pause|resume
                if match.group("rname") == "format":
                    return "json"
                return str(value)
            if conv in (None, "str", "slug", "path"):
                return "x"
            if conv == "uuid":
                return "00000000-0000-0000-0000-000000000000"
            return str(value)

        url = _PARAM.sub(substitute, text)
        for token in ("^", "$", "\\"):
            url = url.replace(token, "")
        url = url.replace("/?", "/").replace("\\.", ".")
        return "/" + url

    return build


@pytest.fixture
def alpha_data(personas, db):
    """A class, an item bank, a test, and a finished sitting in school A."""
    alpha = personas["alpha_admin"]
    with in_schema(alpha.schema_name):
        connection.set_tenant(alpha.school)
        teacher = personas["alpha_teacher"].user
        student = personas["alpha_student"].user
        items = make_bank(n=12, seed=3)
        school_class = make_class(
            teacher=teacher, students=[student], name="Isolation secret class"
        )
        assessment = make_assessment(
            author=teacher, name="Isolation secret test", max_items=3, min_items=3
        )
        assignment = make_assignment(assessment=assessment, school_class=school_class)
        session = session_start(assignment=assignment, student=student)
        while not session.is_finished:
            session = session_answer(
                session_id=session.pk, student=student, item_id=session.pending_item_id,
                choice="B", response_time_ms=1000,
            ).session  # fmt: skip
        ids = sorted({items[0].pk, items[0].current_version_id, school_class.pk, assessment.pk,
                      assignment.pk, session.pk, teacher.pk, student.pk, 1, 2})  # fmt: skip
    connection.set_schema_to_public()
    return ids


def _has_params(route: Route) -> bool:
    return "<" in route.path or "(?P<" in route.path


def _urls(route: Route, ids):
    return [route.build(value) for value in (ids if _has_params(route) else [0])]


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def test_the_resolver_finds_the_routes_this_suite_relies_on():
    names = {route.name for route in _routes()}
    assert {"dashboard", "login", "staff_list", "take", "results", "session"} <= names


@pytest.mark.parametrize("visitor", ["beta_admin", "beta_teacher", "beta_student", None])
def test_school_b_never_sees_school_a_data_by_any_url(client_for, personas, alpha_data, visitor):
    client = client_for(personas[visitor]) if visitor else school_client("beta.localhost")
    for route in _routes():
        for url in _urls(route, alpha_data):
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert response.status_code != 500, (visitor, method, url)
                body = _body(response)
                leaked = [marker for marker in ALPHA_MARKERS if marker in body]
                assert not leaked, (visitor, method, url, leaked)


def test_anonymous_visitors_get_only_public_pages(client_for, personas, alpha_data):
    client = school_client("alpha.localhost")
    for route in _routes():
        for url in _urls(route, alpha_data):
            response = client.get(url)
            assert response.status_code != 500, url
            public = url.lstrip("/").startswith(ANONYMOUS_OK)
            if response.status_code == 200 and not public:
                pytest.fail(f"anonymous GET {url} answered 200")
            if not public:
                assert response.status_code in (302, 401, 403, 404, 405), (
                    url,
                    response.status_code,
                )
                if response.status_code == 302:
                    assert "/accounts/login/" in response["Location"], url


def test_students_are_kept_out_of_staff_pages(client_for, personas, alpha_data):
    client = client_for(personas["alpha_student"])
    for route in _routes():
        path = route.path.lstrip("^")
        if not path.startswith(STAFF_PREFIXES) or path.startswith(STUDENT_OK_PREFIXES):
            continue
        for url in _urls(route, alpha_data):
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert response.status_code in (302, 403, 404, 405), (
                    method,
                    url,
                    response.status_code,
                )
