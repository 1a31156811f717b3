"""The QR code on a sign-in slip signs the student in without typing (dreamseed/accounts/
badges.py): only at its own school, only until new slips are printed, throttled."""

import re

import pytest

from dreamseed.accounts import badges
from dreamseed.accounts.models import User
from dreamseed.testing import in_schema, school_client


def _print_slips(client_for, teacher, school_class, student):
    return client_for(teacher).post(
        f"/classes/{school_class.pk}/slips/", {"students": [student.user_id], "generate": "1"}
    )


def _badge_path(slips_page) -> str:
    """The address in the page's (only) QR code, as the view made it."""
    ((_credential, qr, url),) = slips_page.context["slips"]
    assert qr.startswith("<svg") and 'class="segno"' in qr and qr in slips_page.text
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture(autouse=True)
def _no_earlier_failures(personas):
    """Other suites (the URL fuzzing) send made-up codes from the test client's address too."""
    from django.core.cache import cache

    for schema_name in ("alpha", "beta"):
        with in_schema(schema_name):
            cache.delete(badges._throttle_key("127.0.0.1"))


@pytest.fixture
def slip(client_for, alpha_teacher, alpha_student, math_class):
    """What a teacher's printout holds for sam: the page, the token's path."""
    page = _print_slips(client_for, alpha_teacher, math_class, alpha_student)
    assert page.status_code == 200
    return page


def test_each_slip_carries_a_qr_code_of_its_own_sign_in_address(slip, alpha_student):
    assert "<svg" in slip.text and 'class="segno"' in slip.text
    assert "<title>QR code that signs Sam Student in</title>" in slip.text
    path = _badge_path(slip)
    assert path.startswith("/accounts/badge/")
    with in_schema(alpha_student.schema_name):
        assert badges.badge_student(token=path.split("/")[3]).pk == alpha_student.user_id


def test_scanning_the_code_and_pressing_the_button_signs_the_student_in(slip, alpha_student):
    client = school_client(alpha_student.host)
    confirm = client.get(_badge_path(slip))
    assert confirm.status_code == 200 and "I am Sam: sign me in" in confirm.text
    assert client.get("/").status_code == 302  # a GET (a link preview) signs nobody in
    response = client.post(_badge_path(slip))
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert int(client.session["_auth_user_id"]) == alpha_student.user_id


def test_the_code_does_nothing_at_another_school(slip, beta_student):
    client = school_client(beta_student.host)
    response = client.post(_badge_path(slip))
    assert response.status_code == 404 and "does not work" in response.text
    assert "_auth_user_id" not in client.session


def test_printing_new_slips_revokes_the_old_code(
    slip, client_for, alpha_teacher, alpha_student, math_class
):
    _print_slips(client_for, alpha_teacher, math_class, alpha_student)
    response = school_client(alpha_student.host).post(_badge_path(slip))
    assert response.status_code == 404 and "old slip" in response.text


def test_a_deactivated_student_cannot_use_the_code(slip, alpha_student):
    with in_schema(alpha_student.schema_name):
        User.objects.filter(pk=alpha_student.user_id).update(is_active=False)
    assert school_client(alpha_student.host).post(_badge_path(slip)).status_code == 404


def test_a_code_for_a_teacher_is_refused(alpha_teacher):
    with in_schema(alpha_teacher.schema_name):
        token = badges.badge_token(student=User.objects.get(pk=alpha_teacher.user_id))
    client = school_client(alpha_teacher.host)
    assert client.post(f"/accounts/badge/{token}/").status_code == 404


def test_guessing_codes_is_throttled_even_for_a_good_one_afterwards(slip, alpha_student):
    client = school_client(alpha_student.host)
    address = {"REMOTE_ADDR": "10.20.30.40"}  # one of its own: no other test's failures
    for attempt in range(badges.THROTTLE_FAILURES):
        assert client.post(f"/accounts/badge/made-up-{attempt}/", **address).status_code == 404
    blocked = client.post(_badge_path(slip), **address)
    assert blocked.status_code == 429 and blocked["Retry-After"]
    assert "_auth_user_id" not in client.session
    # Another device (address) is not blocked.
    assert client.post(_badge_path(slip), REMOTE_ADDR="10.20.30.41").status_code == 302


def test_only_the_classes_teacher_prints_slips(
    client_for, alpha_teacher2, alpha_student, math_class
):
    response = client_for(alpha_teacher2).post(
        f"/classes/{math_class.pk}/slips/", {"students": [alpha_student.user_id], "generate": "1"}
    )
    assert response.status_code == 404
    student = client_for(alpha_student).post(
        f"/classes/{math_class.pk}/slips/", {"students": [alpha_student.user_id], "generate": "1"}
    )
    assert student.status_code in (302, 403, 404)
