"""Read-only mode, view by view: an expired or canceled school can be read but not changed,
except signing in and out, passwords, language, billing, reports and finishing a test."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dreamseed.schools.licensing_middleware import ALLOWED_PREFIXES, write_allowed_when_read_only
from dreamseed.schools.models import LicenceStatus, School

pytestmark = pytest.mark.django_db

MIDDLEWARE = "dreamseed.schools.licensing_middleware.LicenceReadOnlyMiddleware"


@pytest.fixture(autouse=True)
def read_only_middleware(settings):
    """The middleware where it belongs: right after AuthenticationMiddleware."""
    if MIDDLEWARE not in settings.MIDDLEWARE:
        middleware = list(settings.MIDDLEWARE)
        at = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
        settings.MIDDLEWARE = [*middleware[:at], MIDDLEWARE, *middleware[at:]]


def _set_licence(persona, **fields) -> None:
    School.objects.filter(schema_name=persona.schema_name).update(**fields)


@pytest.fixture
def expired_alpha(alpha_admin):
    _set_licence(
        alpha_admin,
        licence_status=LicenceStatus.TRIALING,
        licence_expires_at=timezone.now() - timedelta(hours=1),
    )


# Writes that must be refused: (persona, url name, args).
REFUSED = [
    ("alpha_teacher", "classes:create", []),
    ("alpha_teacher", "classes:edit", [1]),
    ("alpha_teacher", "classes:student_add", [1]),
    ("alpha_teacher", "classes:enroll", [1]),
    ("alpha_teacher", "classes:import", [1]),
    ("alpha_teacher", "classes:join_code", [1]),
    ("alpha_teacher", "itembank:create", []),
    ("alpha_teacher", "itembank:import", []),
    ("alpha_teacher", "assessments:create", []),
    ("alpha_teacher", "assessments:edit", [1]),
    ("alpha_student", "classes:join", []),
    ("alpha_student", "assessments:start", [1]),
    ("alpha_admin", "accounts:staff_list", []),
    ("alpha_admin", "accounts:staff_set_active", [1]),
    ("alpha_admin", "classes:student_password", [1]),
]


@pytest.mark.parametrize("persona,name,args", REFUSED)
def test_writes_are_refused_with_the_reason(
    expired_alpha, client_for, request, persona, name, args
):
    response = client_for(request.getfixturevalue(persona)).post(reverse(name, args=args), {})

    assert response.status_code == 403
    page = response.content.decode()
    assert "This school is read-only" in page
    assert "Results and reports stay available" in page


def test_the_admin_is_shown_the_way_to_renew(expired_alpha, client_for, alpha_admin):
    page = client_for(alpha_admin).post(reverse("classes:create"), {}).content.decode()
    assert 'href="/billing/"' in page


def test_a_teacher_is_told_who_can_renew(expired_alpha, client_for, alpha_teacher):
    page = client_for(alpha_teacher).post(reverse("classes:create"), {}).content.decode()
    assert "Your school administrator can renew the licence." in page
    assert 'href="/billing/"' not in page


@pytest.mark.parametrize(
    "persona,path",
    [("alpha_student", "/api/sessions/"), ("alpha_teacher", "/api/classes/"),
     ("alpha_teacher", "/api/students/")],
)  # fmt: skip
def test_api_writes_are_refused_with_json(expired_alpha, client_for, request, persona, path):
    response = client_for(request.getfixturevalue(persona)).post(
        path, {}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "licence_read_only"


@pytest.mark.parametrize(
    "persona,name",
    [("alpha_admin", "dashboard"), ("alpha_teacher", "classes:list"),
     ("alpha_teacher", "itembank:list"), ("alpha_teacher", "assessments:list"),
     ("alpha_student", "assessments:mine"), ("alpha_student", "classes:mine"),
     ("alpha_admin", "billing:overview"), ("alpha_admin", "accounts:staff_list")],
)  # fmt: skip
def test_everything_stays_readable(expired_alpha, client_for, request, persona, name):
    response = client_for(request.getfixturevalue(persona)).get(reverse(name))
    assert response.status_code == 200


def test_signing_out_still_works(expired_alpha, client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(reverse("accounts:logout"))
    assert response.status_code == 302


def test_signing_in_still_works(expired_alpha, client_for, alpha_teacher):
    client = client_for(host=alpha_teacher.host)
    response = client.post(
        reverse("accounts:login"),
        {"username": alpha_teacher.username, "password": alpha_teacher.password},
    )
    assert response.status_code == 302


def test_changing_language_and_password_still_work(expired_alpha, client_for, alpha_teacher):
    client = client_for(alpha_teacher)
    assert client.post("/i18n/setlang/", {"language": "es", "next": "/"}).status_code == 302
    response = client.post(reverse("accounts:password_change"), {})
    assert response.status_code == 200  # the form, with its errors: not refused


def test_renewing_still_works(expired_alpha, client_for, alpha_admin, settings):
    settings.STRIPE_SECRET_KEY = settings.STRIPE_PRICE_ID = ""
    response = client_for(alpha_admin).post(reverse("billing:checkout"), {"seats": "10"})
    assert response.status_code == 302  # to the billing page, which explains


def test_reports_can_still_be_requested(expired_alpha, client_for, alpha_teacher):
    response = client_for(alpha_teacher).post("/reports/class/1/request/", {})
    assert response.status_code != 403


def test_a_test_in_progress_can_be_finished(expired_alpha, client_for, alpha_student):
    # Answering reaches the view (which 404s for a session that does not exist); starting does not.
    assert client_for(alpha_student).post("/tests/session/999999/", {}).status_code == 404
    answer = client_for(alpha_student).post(
        "/api/sessions/999999/answer/", {}, content_type="application/json"
    )
    assert answer.status_code == 404


def test_a_canceled_school_is_read_only_too(client_for, alpha_teacher):
    _set_licence(alpha_teacher, licence_status=LicenceStatus.CANCELED)
    assert client_for(alpha_teacher).post(reverse("classes:create"), {}).status_code == 403


def test_past_due_within_the_grace_period_keeps_working(client_for, alpha_teacher):
    _set_licence(
        alpha_teacher,
        licence_status=LicenceStatus.PAST_DUE,
        licence_expires_at=timezone.now() + timedelta(days=3),
    )
    response = client_for(alpha_teacher).post(reverse("classes:create"), {})
    assert response.status_code != 403


def test_past_due_after_the_grace_period_is_read_only(client_for, alpha_teacher):
    _set_licence(
        alpha_teacher,
        licence_status=LicenceStatus.PAST_DUE,
        licence_expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert client_for(alpha_teacher).post(reverse("classes:create"), {}).status_code == 403


def test_another_schools_expiry_changes_nothing_here(client_for, alpha_admin, beta_teacher):
    _set_licence(alpha_admin, licence_status=LicenceStatus.CANCELED)
    response = client_for(beta_teacher).post(reverse("classes:create"), {})
    assert response.status_code != 403


def test_the_public_site_is_never_read_only(public_client):
    response = public_client.post("/find/", {"subdomain": "nowhere"})
    assert response.status_code == 400  # the form's answer, not a refusal


@pytest.mark.parametrize(
    "name,args",
    [("accounts:login", []), ("accounts:logout", []), ("accounts:password_change", []),
     ("accounts:password_reset", []), ("accounts:handoff", ["x"]),
     ("accounts:invitation_accept", ["x", "y"]), ("api:token", []), ("billing:checkout", []),
     ("billing:portal", [])],
)  # fmt: skip
def test_the_allowed_prefixes_match_the_real_urls(name, args):
    assert write_allowed_when_read_only(reverse(name, args=args))


def test_nothing_else_is_allowed_by_accident():
    assert "/" not in ALLOWED_PREFIXES
    assert not write_allowed_when_read_only("/tests/take/1/")
    assert not write_allowed_when_read_only("/api/sessions/")
    assert not write_allowed_when_read_only("/tests/session/1/result/")
