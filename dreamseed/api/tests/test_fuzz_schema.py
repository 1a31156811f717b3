"""Property-based tests of the whole REST API, generated from the OpenAPI schema it serves.

Schemathesis reads /api/schema/ (as a school's teacher sees it) and, for every operation, sends
requests built from the schema (random ids, strings, numbers, bodies) to the Django app in this
process, inside the test's database transaction. Whatever the input, the answer must be a
documented status code with the documented content type and body shape: a validation error
(400), a refusal (403) or a not-found (404) -- never a 5xx or an exception.

Half of the generated ids are swapped for real ones (a class, a student, an item, a session of
the test's world), so the fuzzing reaches past "not found" into the services.
"""

import os
import sys

import pytest
import schemathesis
from django.core.signals import got_request_exception
from django.test.client import ClientHandler
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dreamseed.assessments.tests.conftest import world  # noqa: F401
from dreamseed.testing import in_schema

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# More examples (and a random seed) for a longer hunt: FUZZ_EXAMPLES=500 pytest ...
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 0)) or None
FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=EXAMPLES is None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class DjangoApp:
    """A WSGI app serving requests as django.test.Client does: in this thread and this test's
    transaction (no connection closing between requests), without CSRF enforcement, and with
    a view's exception raised here instead of being turned into a 500 page.

    `cookie` is sent with every request (werkzeug's test client would only send cookies from
    its own jar, matched to the host)."""

    def __init__(self, cookie=""):
        self.handler = ClientHandler(enforce_csrf_checks=False)
        self.cookie = cookie

    def __call__(self, environ, start_response):
        if self.cookie:
            environ["HTTP_COOKIE"] = self.cookie
        errors = []

        def store(**kwargs):
            errors.append(sys.exc_info()[1])

        got_request_exception.connect(store, dispatch_uid="fuzz-schema")
        try:
            response = self.handler(environ)
        finally:
            got_request_exception.disconnect(dispatch_uid="fuzz-schema")
        if errors:
            raise errors[0]
        headers = list(response.items())
        headers += [("Set-Cookie", cookie.OutputString()) for cookie in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        if response.streaming:
            return response.streaming_content
        return [response.content]


@pytest.fixture
def api_schema(api_for, alpha_teacher):
    """The schema as the app serves it to a teacher of alpha."""
    response = api_for(alpha_teacher).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(response.json())


@pytest.fixture
def fuzz_world(world, alpha_teacher, alpha_student):  # noqa: F811
    """Real ids to aim at, and the credentials of the callers."""
    from dreamseed.assessments.services import session_start

    with in_schema(alpha_teacher.schema_name):
        session = session_start(assignment=world.assignment, student=world.students[0])
        token = Token.objects.get_or_create(user=alpha_teacher.user)[0].key
    return {
        "class": world.school_class.pk,
        "student": world.students[0].pk,
        "other_student": world.students[1].pk,
        "item": world.items[0].pk,
        "session": session.pk,
        "assignment": world.assignment.pk,
        "teacher_token": token,
    }


@pytest.fixture
def student_session(api_for, alpha_student):
    """The session cookie of alpha_student, signed in."""
    return api_for(alpha_student).cookies["sessionid"].value


def _aim(case, ids):
    """Swap even generated ids for real ones (ids of that kind, by path and field name)."""
    path = case.path
    kind_of_id = (
        "item" if path.startswith("/api/items/") else
        "session" if path.startswith("/api/sessions/") else
        "student" if path.startswith("/api/students/") else
        "class"
    )  # fmt: skip
    for name, value in list((case.path_parameters or {}).items()):
        if isinstance(value, int) and value % 2 == 0:
            # The one enrollment the fuzzing may delete is sara's; sam stays for the rest.
            real = ids["other_student"] if name == "student_id" else ids[kind_of_id]
            case.path_parameters[name] = real
    body = case.body
    if isinstance(body, dict):
        for name, kind in (("class_id", "class"), ("assignment", "assignment"), ("item", "item")):
            if isinstance(body.get(name), int) and body[name] % 2 == 0:
                body[name] = ids[kind]
        for name, kind in (("student_ids", "student"), ("teacher_ids", "teacher")):
            values = body.get(name)
            if isinstance(values, list) and values and isinstance(values[0], int) and kind in ids:
                values[0] = ids[kind] if values[0] % 2 == 0 else values[0]
    query = case.query if isinstance(case.query, dict) else {}
    if isinstance(query.get("class_id"), int) and query["class_id"] % 2 == 0:
        query["class_id"] = ids["class"]


def _fuzz(api_schema, send, *, max_examples, include=lambda operation: True):
    """Run `send(case)` on generated cases of every included operation; report every operation
    that failed (each with its smallest failing case), not only the first."""
    failures, tried = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if not include(operation):
            continue
        tried += 1

        @given(case=operation.as_strategy())
        @settings(FUZZ_SETTINGS, max_examples=EXAMPLES or max_examples)
        def run(case):
            send(case)

        try:
            run()
        except (Exception, BaseExceptionGroup) as error:
            failures.append(f"{operation.label}: {type(error).__name__}: {error}")
    assert tried, "no operation matched"
    assert not failures, "\n\n".join(failures)


def _sender(host, ids, cookie="", **kwargs):
    def send(case):
        _aim(case, ids)
        case.call_and_validate(
            base_url=f"http://{host}", app=DjangoApp(cookie), checks=CHECKS, **kwargs
        )

    return send


def test_api_as_a_teacher_with_a_token(api_schema, fuzz_world, alpha_teacher):
    ids = fuzz_world | {"teacher": alpha_teacher.user_id}
    token = {"Authorization": f"Token {fuzz_world['teacher_token']}"}
    _fuzz(api_schema, _sender(alpha_teacher.host, ids, headers=token), max_examples=25)


def test_api_as_a_student(api_schema, fuzz_world, alpha_student, student_session):
    """Students read their classes and use the sessions API; staff endpoints refuse them."""
    _fuzz(
        api_schema,
        _sender(alpha_student.host, fuzz_world, cookie=f"sessionid={student_session}"),
        max_examples=15,
        include=lambda operation: (
            operation.method.upper() == "GET" or operation.path.startswith("/api/sessions/")
        ),
    )


def test_api_anonymous(api_schema, fuzz_world, alpha_teacher):
    _fuzz(api_schema, _sender(alpha_teacher.host, fuzz_world), max_examples=8)


# --- Hostile JSON: nested a thousand levels deep, and larger than the body limit -----------------

DEEP_JSON = "[" * 1000 + "]" * 1000  # 2 KB
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def _json_operations(raw_schema):
    """(method, path) of every operation that takes a JSON body, real ids filled in."""
    for path, item in raw_schema["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                yield method, path, operation


def _filled(path, ids):
    return (
        path.replace("{class_id}", str(ids["class"]))
        .replace("{student_id}", str(ids["student"]))
        .replace("{id}", str(ids["item"] if path.startswith("/api/items/") else ids["class"]))
    )


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_OBJECT], ids=["deep-array", "deep-object"])
def test_every_json_operation_refuses_deeply_nested_json(api_for, alpha_teacher, fuzz_world, body):
    """A body nested 1000 levels deep is a documented 400 with a message, for every operation
    of the schema, signed in or not (never Python's RecursionError, a 500)."""
    raw = api_for(alpha_teacher).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = list(_json_operations(raw))
    assert len(operations) >= 8
    for client in (api_for(alpha_teacher, token=True), api_for(host=alpha_teacher.host)):
        for method, path, operation in operations:
            response = client.generic(
                method.upper(), _filled(path, fuzz_world), body, content_type="application/json"
            )
            label = f"{method.upper()} {path}"
            if response.status_code in (401, 403):
                continue  # refused before the body was read: the anonymous client
            assert response.status_code == 400, (label, response.status_code)
            assert "400" in operation["responses"], label
            assert "nested more than" in response.json()["detail"], label


def test_every_json_operation_answers_413_to_an_oversized_body(
    api_for, alpha_teacher, fuzz_world, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    body = '{"name": "' + "x" * 60_000 + '"}'
    raw = api_for(alpha_teacher).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    client = api_for(alpha_teacher, token=True)
    refused = 0
    for method, path, operation in _json_operations(raw):
        response = client.generic(
            method.upper(), _filled(path, fuzz_world), body, content_type="application/json"
        )
        label = f"{method.upper()} {path}"
        assert "413" in operation["responses"], label
        if response.status_code == 403:
            continue  # a student's operation: refused before the body was read
        assert response.status_code == 413, (label, response.status_code)
        assert "larger than" in response.json()["detail"], label
        refused += 1
    assert refused >= 6
